#!/usr/bin/env node
// `tools`: the training-side command line: summary, train, export-onnx, inspect, eval and bench.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ValidationError } from '../runtime-common/validate.js';
import { summaryCommand } from './commands/summary.js';
import { exportOnnxCommand } from './commands/export-onnx.js';
import { inspectCommand } from './commands/inspect.js';
import { trainCommand } from './commands/train.js';
import { evalCommand } from './commands/eval.js';
import { benchCommand } from './commands/bench.js';
import { photosCommand } from './commands/photos.js';

/** Runs the CLI on `argv` (without node and script); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const parser = yargs(argv)
    .scriptName('tools')
    .usage('$0 <command> [options]')
    // A flag given twice takes its last value (as most CLIs do), unless it is declared an array (eval --model a --model b).
    .middleware((argv) => {
      const arrays = new Set((parser as unknown as { getOptions(): { array: string[] } }).getOptions().array);
      for (const [key, value] of Object.entries(argv)) if (Array.isArray(value) && key !== '_' && !arrays.has(key)) argv[key] = value.at(-1);
    }, true)
    .command(summaryCommand)
    .command(exportOnnxCommand)
    .command(inspectCommand)
    .command(trainCommand)
    .command(evalCommand)
    .command(benchCommand)
    .command(photosCommand)
    .demandCommand(1, 'Expected a command (see --help)')
    .strict()
    .help()
    .alias('h', 'help')
    .version(false)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((message, error) => {
      if (error) throw error;
      process.stderr.write(`error: ${message}\nRun "tools --help" for usage.\n`);
      code = 2;
    });
  try {
    await parser.parseAsync();
  } catch (error) {
    if (error instanceof ValidationError) {
      process.stderr.write(`error: ${error.message}\n`);
      return 1;
    }
    process.stderr.write(`error: ${(error as Error).stack ?? String(error)}\n`);
    return 1;
  }
  return code;
}

process.exitCode = await main(hideBin(process.argv));
