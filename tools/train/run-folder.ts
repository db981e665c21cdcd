// A training run folder, the one definition: where runs go, runs/latest, the files a run holds, and which epoch its weights and checkpoint hold; no TF.js.
import { lstat, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { described, invalid } from 'onnx-denoiser-common';
import { readSafetensors } from '../model/safetensors.js';

/** Where training puts its runs (relative to the folder it runs in). */
export const RUNS_DIR = 'runs';

/**
 * `runs/latest`: a text file holding the latest run folder's path (relative to the folder training ran in, or
 * absolute), as training writes it: a plain file works on every OS and in every archive, where symlinks do not.
 * A symlink to the folder is accepted too.
 */
export const LATEST_FILE = path.join(RUNS_DIR, 'latest');

/** The files of a run folder, by role: training writes them, resume, export, eval and parity read them. */
export const RUN_FILES = Object.freeze({
  spec: 'spec.json',
  weights: 'weights.safetensors',
  checkpoint: 'checkpoint.safetensors',
  config: 'config.json',
  history: 'history.json',
  lossCurve: 'loss.png',
  samples: 'samples.png',
  card: 'card.md',
});

/** The path of file `role` in run folder `dir`. */
export function runFile(dir: string, role: keyof typeof RUN_FILES): string {
  return path.join(dir, RUN_FILES[role]);
}

const exists = (file: string) => stat(file).then(() => true, () => false);

/** How {@link latestRunDir} names what asked for the latest run, in its error. */
export interface LatestRunUsage {
  /** The flag or argument the error names (default `run`). */
  argument?: string;
  /** What else the caller may do instead, after `run "tools train" first, or ` (default `name a run folder`). */
  otherwise?: string;
}

/**
 * The run folder `latest` (default runs/latest) names: a text file with the path (relative to the folder training ran
 * in, normally the parent of runs/, or absolute), or a symlink or folder, returned as it is.
 * @throws ValidationError saying how to make a run when there is no such file or it is empty.
 */
export async function latestRunDir(latest: string = LATEST_FILE, usage: LatestRunUsage = {}): Promise<string> {
  const details = { hint: `run "tools train" first, or ${usage.otherwise ?? 'name a run folder'}`, argument: usage.argument ?? 'run' };
  let info;
  try {
    info = await lstat(latest);
  } catch {
    throw invalid('the path of a training run', latest, described('none'), details);
  }
  if (info.isSymbolicLink() || info.isDirectory()) return latest;
  const text = (await readFile(latest, 'utf8')).trim();
  if (!text) throw invalid('the path of a training run', latest, described('an empty file'), details);
  if (path.isAbsolute(text) || (await exists(text))) return text;
  const besideRuns = path.join(path.dirname(path.dirname(latest)), text);
  return (await exists(besideRuns)) ? besideRuns : text;
}

/**
 * The epoch a run's weights.safetensors holds (its `epochs` metadata): 0 when the run has no weights yet, undefined
 * when the file does not say (runs made before it did). Training writes the weights last after each epoch, so the
 * weights holding the checkpoint's epoch means the history, card and pictures hold it too.
 */
export async function weightsEpoch(dir: string): Promise<number | undefined> {
  const file = runFile(dir, 'weights');
  if (!(await exists(file))) return 0;
  const { metadata } = await readSafetensors(file);
  const epochs = Number(metadata.epochs);
  return metadata.epochs !== undefined && Number.isInteger(epochs) ? epochs : undefined;
}

/** The finished epochs a run's checkpoint.safetensors holds (`epochsDone`), or undefined when it has none. */
export async function checkpointEpoch(dir: string): Promise<number | undefined> {
  const file = runFile(dir, 'checkpoint');
  if (!(await exists(file))) return undefined;
  const { metadata } = await readSafetensors(file);
  const epochs = Number(metadata.epochsDone);
  return metadata.epochsDone !== undefined && Number.isInteger(epochs) ? epochs : undefined;
}
