// `tools inspect model.onnx`: inputs, outputs, opset and IR, producer, metadata, nodes and parameters of an ONNX file.
import { readFile } from 'node:fs/promises';
import type { CommandModule } from 'yargs';
import { ValidationError } from 'onnx-denoiser-common';
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
      const code = (error as NodeJS.ErrnoException).code;
      throw new ValidationError(`Cannot read model file ${args.model}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : (error as Error).message}`, 'model');
    }
    const report = inspectOnnx(bytes, args.model);
    process.stdout.write(args.json ? `${JSON.stringify(report, null, 2)}\n` : formatInspect(report));
    // Thrown after the report is printed: the CLI turns it into "error: ..." and exit 1.
    if (report.structure.length > 0) throw new ValidationError(`Expected a well-formed graph for ${args.model} but received one with ${report.structure.length} problem(s) (listed above)`, 'model');
    if (report.hashMatches === false) throw new ValidationError(`Expected a content hash matching the spec and weights for ${args.model} but received ${report.metadata!.contentHash}, which does not match (changed after export)`, 'model');
    const stated = report.metadata?.receptiveField;
    const field = report.specField;
    if (stated && field && (stated.low !== field.low || stated.high !== field.high)) {
      throw new ValidationError(`Expected metadata "receptive_field" ${field.low},${field.high} (what the spec works out) for ${args.model} but received ${stated.low},${stated.high}: the runtimes would tile it with the wrong overlap`, 'model');
    }
  },
};
