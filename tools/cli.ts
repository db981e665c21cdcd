#!/usr/bin/env node
// `tools`: the training-side command line: summary, train, export-onnx, inspect, eval and bench.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ValidationError } from 'onnx-denoiser-common';
import { summaryCommand } from './commands/summary.js';
import { exportOnnxCommand } from './commands/export-onnx.js';
import { inspectCommand } from './commands/inspect.js';
import { trainCommand } from './commands/train.js';
import { evalCommand } from './commands/eval.js';
import { benchCommand } from './commands/bench.js';
import { photosCommand } from './commands/photos.js';
import { toolsVersion } from './io/package-files.js';
import { CommandExit } from './commands/cli-helpers.js';

/** A usage mistake (unknown command or flag, missing value): reported with exit 2 before the command runs. */
class UsageError extends Error {}

/** Runs the CLI on `argv` (without node and script); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
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
    .version(toolsVersion())
    .wrap(Math.min(110, process.stdout.columns || 100))
    // Throwing (not just reporting) is what stops yargs: a handler must never run after "Unknown argument".
    .fail((message, error) => {
      throw error ?? new UsageError(message);
    });
  try {
    await parser.parseAsync();
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`error: ${error.message}\nRun "tools --help" for usage.\n`);
      return 2;
    }
    if (error instanceof CommandExit) return error.code;
    if (error instanceof ValidationError) {
      process.stderr.write(`error: ${error.message}\n`);
      return 1;
    }
    process.stderr.write(`error: ${(error as Error).stack ?? String(error)}\n`);
    return 1;
  }
  return 0;
}

process.exitCode = await main(hideBin(process.argv));
