// `tools inspect model.onnx`: inputs, outputs, opset and IR, producer, metadata, nodes and parameters of an ONNX file.
import { readFile } from 'node:fs/promises';
import type { CommandModule } from 'yargs';
import { cannot, described, fileErrorReason, invalid } from 'onnx-denoiser-common';
import { formatInspect, inspectOnnx } from '../onnx/inspect.js';

interface InspectArgs {
  model: string;
  json: boolean;
}

/** The `inspect` command. Exit 1 when the file cannot be read as ONNX, or its structure, content hash or receptive field is wrong. */
export const inspectCommand: CommandModule<object, InspectArgs> = {
  command: 'inspect <model>',
  describe: 'Describe an ONNX model: inputs, outputs, opset, producer, metadata, nodes and parameters',
  builder: (y) =>
    y
      .positional('model', { type: 'string', demandOption: true, describe: 'ONNX file' })
      .option('json', { type: 'boolean', default: false, describe: 'print the report as JSON' }) as never,
  handler: async (args) => {
    // yargs has already reported a missing argument as a usage error.
    if (typeof args.model !== 'string') return;
    let bytes: Uint8Array;
    try {
      bytes = await readFile(args.model);
    } catch (error) {
      throw cannot(`read model file ${args.model}`, fileErrorReason(error), 'model');
    }
    const report = inspectOnnx(bytes, args.model);
    process.stdout.write(args.json ? `${JSON.stringify(report, null, 2)}\n` : formatInspect(report));
    // Thrown after the report is printed: the CLI turns it into "error: ..." and exit 1.
    if (report.structure.length > 0) throw invalid('a well-formed graph', args.model, described(`one with ${report.structure.length} problem(s) (listed above)`), { argument: 'model' });
    if (report.hashMatches === false) throw invalid('a content hash matching the spec and weights', args.model, described(`${report.metadata!.contentHash}, which does not match (changed after export)`), { argument: 'model' });
    const stated = report.metadata?.receptiveField;
    const field = report.specField;
    if (stated && field && (stated.low !== field.low || stated.high !== field.high)) {
      throw invalid(`metadata "receptive_field" ${field.low},${field.high} (what the spec works out)`, args.model, described(`${stated.low},${stated.high}`), { hint: 'the runtimes would tile it with the wrong overlap', argument: 'model' });
    }
  },
};
