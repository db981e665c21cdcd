#!/usr/bin/env node
// `denoise`: the Node runtime's command line. Inference lands with the runtime-node issue; until then it says so.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';

const argv = hideBin(process.argv);
await yargs(argv)
  .scriptName('denoise')
  .usage('$0 IN... -o OUT\n\nDenoise images with an exported ONNX model (onnxruntime-node).')
  .version(false)
  .help()
  .alias('h', 'help')
  .parseAsync();

process.stderr.write('error: the Node runtime is not implemented yet: export a model with "tools export-onnx" and see the README for the status of "denoise".\n');
process.exitCode = 1;
