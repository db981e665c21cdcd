// Which epoch a run folder's weights and checkpoint hold (their safetensors metadata), for --resume and export-onnx; no TF.js.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readSafetensors } from '../model/safetensors.js';

const exists = (file: string) => stat(file).then(() => true, () => false);

/**
 * The epoch a run's weights.safetensors holds (its `epochs` metadata): 0 when the run has no weights yet, undefined
 * when the file does not say (runs made before it did). Training writes the weights last after each epoch, so the
 * weights holding the checkpoint's epoch means the history, card and pictures hold it too.
 */
export async function weightsEpoch(dir: string): Promise<number | undefined> {
  const file = join(dir, 'weights.safetensors');
  if (!(await exists(file))) return 0;
  const { metadata } = await readSafetensors(file);
  const epochs = Number(metadata.epochs);
  return metadata.epochs !== undefined && Number.isInteger(epochs) ? epochs : undefined;
}

/** The finished epochs a run's checkpoint.safetensors holds (`epochsDone`), or undefined when it has none. */
export async function checkpointEpoch(dir: string): Promise<number | undefined> {
  const file = join(dir, 'checkpoint.safetensors');
  if (!(await exists(file))) return undefined;
  const { metadata } = await readSafetensors(file);
  const epochs = Number(metadata.epochsDone);
  return metadata.epochsDone !== undefined && Number.isInteger(epochs) ? epochs : undefined;
}
