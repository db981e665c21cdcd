// `tools summary [spec]`: the Keras-style table of a spec, for a given input size.
import type { CommandModule } from 'yargs';
import { formatSummary } from '../model/summary.js';
import { loadSpec } from '../layers/spec.js';
import { parseSize } from './cli-helpers.js';
import { shippedModelFile } from '../io/package-files.js';

/** Default spec path: the tutorial network shipped in the package's models/ folder. */
export const DEFAULT_SPEC = shippedModelFile('noise-reducer.json');

interface SummaryArgs {
  spec: string;
  size: string;
}

/** The `summary` command. */
export const summaryCommand: CommandModule<object, SummaryArgs> = {
  command: 'summary [spec]',
  describe: 'Print a Keras-style table of a layer spec: layers, output shapes for an input size, parameters',
  builder: (y) =>
    y
      .positional('spec', { type: 'string', default: DEFAULT_SPEC, describe: 'layer spec (JSON)' })
      .option('size', { type: 'string', default: '28x28', describe: 'input HEIGHTxWIDTH (or N for square) used for the output shapes' }) as never,
  handler: async (args) => {
    const [height, width] = parseSize(args.size, '--size');
    const spec = await loadSpec(args.spec);
    process.stdout.write(formatSummary(spec, height, width, args.spec));
  },
};
