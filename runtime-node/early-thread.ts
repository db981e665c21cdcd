// The model's thread for a `denoise` run over many small files, started before the command line is parsed: which runs may be such, and the thread itself.
import { existsSync, type Stats, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { disableOrtTelemetry } from './ort-telemetry.js';

/**
 * Runs of at least this many files, every one small, open the model on a thread of its own (WorkerDenoiser): the
 * main thread reads, decodes, encodes and writes files while the model runs beside it.
 */
export const WORKER_MIN_FILES = 16;

/** The thread's script: compiled JavaScript beside this module. */
const WORKER_FILE = new URL('./denoise-worker.js', import.meta.url);

/** A thread {@link startThreadEarly} started and no run has taken yet. */
let earlyThread: Worker | undefined;

/** Whether a path is written as a folder (ends with a separator). */
export const isFolderPath = (p: string): boolean => p.endsWith('/') || p.endsWith(path.sep);

/** A file's stat, or undefined when it cannot be had (missing, no permission). */
export function statQuietly(file: string): Stats | undefined {
  try {
    return statSync(file, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

/** Whether inputs may make a run of {@link WORKER_MIN_FILES} or more files: that many names, or a folder among them. */
export function mayBeManyFiles(inputs: readonly string[]): boolean {
  return inputs.length >= WORKER_MIN_FILES || inputs.some((p) => isFolderPath(p) || statQuietly(p)?.isDirectory() === true);
}

/**
 * The inputs of a command line as far as they can be told without parsing it: arguments that follow no option
 * (or a `--`). A name after a boolean flag is missed (`--force dir`), an option's value is never taken for an input.
 */
export function plainInputs(argv: readonly string[]): string[] {
  const split = argv.indexOf('--');
  const head = split < 0 ? argv : argv.slice(0, split);
  const named = head.filter((arg, i) => !arg.startsWith('-') && (i === 0 || !head[i - 1]!.startsWith('-') || head[i - 1]!.includes('=')));
  return split < 0 ? named : [...named, ...argv.slice(split + 1)];
}

/**
 * The Node options a thread is started with: the process's own, less those for a main script given as a string
 * (`--input-type`, `-e`/`--eval`/`-p`/`--print` and their code), which a thread started from a file refuses
 * (ERR_INPUT_TYPE_NOT_ALLOWED): `node --input-type=module -e "import('denoise')"` runs the CLI so.
 */
export function threadExecArgv(execArgv: readonly string[] = process.execArgv): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    if (arg.startsWith('--input-type')) continue;
    if (arg === '-e' || arg === '--eval' || arg === '-p' || arg === '--print') {
      i++;
      continue;
    }
    if (/^(--eval|--print)=/.test(arg)) continue;
    kept.push(arg);
  }
  return kept;
}

/** A new thread running the script, with {@link threadExecArgv}, and onnxruntime's telemetry off as on this thread. */
function newThread(): Worker {
  // The thread's process.env is a copy its onnxruntime does not read: the setting goes in on this thread.
  disableOrtTelemetry();
  return new Worker(WORKER_FILE, { execArgv: threadExecArgv() });
}

/** Whether the thread's script is there (it is in the built package; tests that run the TypeScript sources have none). */
export function inferenceThreadAvailable(): boolean {
  return existsSync(fileURLToPath(WORKER_FILE));
}

/**
 * A thread that loads the library (onnxruntime with it) and waits for WorkerDenoiser.open's options: the one
 * {@link startThreadEarly} started, or a new one. A thread not wanted after all is ended with `terminate()`.
 */
export function takeInferenceThread(): Worker {
  const worker = earlyThread ?? newThread();
  earlyThread = undefined;
  worker.ref();
  return worker;
}

/**
 * Starts the thread {@link takeInferenceThread} will return, when the script is there: `denoise` calls it before
 * it loads its argument parser (yargs takes 100 ms or more), so that the thread loads onnxruntime meanwhile. Until
 * taken it does not keep the process alive.
 */
export function startThreadEarly(): void {
  if (earlyThread || !inferenceThreadAvailable()) return;
  const thread = newThread();
  // A thread that fails before it is taken is dropped (a run then starts its own, and says why that one fails).
  thread.once('error', () => {
    if (earlyThread === thread) earlyThread = undefined;
  });
  thread.unref();
  earlyThread = thread;
}
