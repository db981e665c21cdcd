// `npm run parity`: the parity matrix over the shipped models, printed as a table; exit 1 when any runnable path is out of tolerance.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseSafetensors } from '../model/safetensors.js';
import { loadSpec } from '../layers/spec.js';
import { runFile } from '../train/run-folder.js';
import { packageRoot } from '../io/package-files.js';
import { parityTable, runParityMatrix, type ParityModel } from './matrix.js';
import { SHIPPED_MODELS } from 'onnx-denoiser-common';

/** The shipped models (runtime-common/shipped-models.ts) with their training run folders: `models/<name>.onnx` + `models/<name>-training/`. */
export async function shippedParityModels(): Promise<ParityModel[]> {
  const models = path.join(packageRoot(), 'models');
  const out: ParityModel[] = [];
  for (const [name, { file }] of Object.entries(SHIPPED_MODELS)) {
    const run = path.join(models, `${name}-training`);
    const onnx = path.join(models, file);
    const weights = runFile(run, 'weights');
    if (!existsSync(weights) || !existsSync(onnx)) continue;
    const spec = await loadSpec(runFile(run, 'spec'));
    const { tensors } = parseSafetensors(readFileSync(weights), weights);
    out.push({ name, spec, weights: tensors, onnx: readFileSync(onnx) });
  }
  return out;
}

const isMain = process.argv[1] !== undefined && path.resolve(process.argv[1]).replace(/\.[jt]s$/, '') === path.resolve(new URL(import.meta.url).pathname).replace(/\.[jt]s$/, '');
if (isMain) {
  const models = await shippedParityModels();
  const results = await runParityMatrix(models, { onLine: (t) => process.stderr.write(`${t}\n`) });
  process.stdout.write(`${parityTable(results)}\n`);
  const failed = results.filter((r) => r.status === 'failed');
  process.stderr.write(failed.length ? `parity: ${failed.length} path(s) out of tolerance\n` : `parity: every runnable path within tolerance (${results.filter((r) => r.status === 'ok').length} ok, ${results.filter((r) => r.status === 'unavailable').length} not runnable here)\n`);
  process.exitCode = failed.length ? 1 : 0;
}
