// Training-speed bench of the seed autoencoder: wasm (with the project's kernels) against stock cpu, plus a kernel profile.
// Run: npx tsx tools/bench/train-kernels-bench.ts [--steps 300] [--cpu-steps 3] [--repeats 3] [--no-cpu]
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../train/backends.js';

const BATCH = 32;

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} expects a non-negative integer, got ${process.argv[at + 1]}`);
  return value;
}

/** The seed network: 28x28x1 -> conv 16 s2 -> conv 8 s2 -> convT 8 s2 -> convT 16 s2 -> conv 1 sigmoid (3,217 weights). */
function seedNetwork(): tfl.Sequential {
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [28, 28, 1], filters: 16, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
      tfl.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
      tfl.layers.conv2dTranspose({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
      tfl.layers.conv2dTranspose({ filters: 16, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
      tfl.layers.conv2d({ filters: 1, kernelSize: 3, strides: 1, padding: 'same', activation: 'sigmoid' }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'meanSquaredError' });
  return model;
}

interface Timing { best: number; median: number; msPerStep: number; leaked: number }

/** Trains `steps` batches `repeats` times after a warm-up; images/s of each repeat, best and median. */
async function timeTraining(model: tfl.Sequential, xs: tf.Tensor, ys: tf.Tensor, steps: number, repeats: number, warmup: number): Promise<Timing> {
  for (let i = 0; i < warmup; i++) await model.trainOnBatch(xs, ys);
  const tensorsBefore = tf.memory().numTensors;
  const rates: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const start = performance.now();
    for (let i = 0; i < steps; i++) await model.trainOnBatch(xs, ys);
    rates.push((steps * BATCH * 1000) / (performance.now() - start));
  }
  const leaked = tf.memory().numTensors - tensorsBefore;
  rates.sort((a, b) => a - b);
  const best = rates[rates.length - 1]!;
  return { best, median: rates[Math.floor(rates.length / 2)]!, msPerStep: (BATCH * 1000) / best, leaked };
}

interface KernelRow { name: string; ms: number; calls: number }

/** Profiles one training step; returns per-kernel totals, the slowest single calls and the step's wall time. */
async function profileStep(model: tfl.Sequential, xs: tf.Tensor, ys: tf.Tensor) {
  // The profiler would otherwise read every kernel output back to check for NaNs.
  tf.env().set('CHECK_COMPUTATION_FOR_ERRORS', false);
  const start = performance.now();
  const profile = await tf.profile(async () => {
    await model.trainOnBatch(xs, ys);
  });
  const wall = performance.now() - start;
  const rows = new Map<string, KernelRow>();
  const calls: Array<{ name: string; shapes: string; ms: number }> = [];
  for (const k of profile.kernels) {
    const ms = k.kernelTimeMs as number;
    // Scopes such as fusedConv2d__op wrap kernels that are listed too: count them once, under the kernel.
    if (k.name.endsWith('__op')) continue;
    const row = rows.get(k.name) ?? { name: k.name, ms: 0, calls: 0 };
    row.ms += ms;
    row.calls++;
    rows.set(k.name, row);
    calls.push({ name: k.name, shapes: JSON.stringify(k.inputShapes), ms });
  }
  return { rows: [...rows.values()].sort((a, b) => b.ms - a.ms), calls: calls.sort((a, b) => b.ms - a.ms), wall };
}

async function main(): Promise<void> {
  const steps = option('steps', 300);
  const cpuSteps = option('cpu-steps', 3);
  const repeats = option('repeats', 3);
  const runCpu = !process.argv.includes('--no-cpu');
  console.log(`seed autoencoder, batch ${BATCH}, Adam 1e-3, MSE, random data; node ${process.version}`);
  console.log('timings are wall clock on shared cores: noisy; best of the repeats is the least disturbed one');

  const results: Record<string, Timing> = {};
  for (const backend of runCpu ? ['wasm', 'cpu'] : ['wasm']) {
    const info = await initBackend(backend);
    const model = seedNetwork();
    const xs = tf.randomUniform([BATCH, 28, 28, 1], 0, 1, 'float32', 1);
    const ys = tf.randomUniform([BATCH, 28, 28, 1], 0, 1, 'float32', 2);
    const n = backend === 'cpu' ? cpuSteps : steps;
    const timing = await timeTraining(model, xs, ys, n, backend === 'cpu' ? 1 : repeats, backend === 'cpu' ? 1 : 5);
    results[backend] = timing;
    console.log(`\n${info.description}`);
    console.log(`  ${n} steps x ${backend === 'cpu' ? 1 : repeats}: best ${timing.best.toFixed(0)} images/s (${timing.msPerStep.toFixed(1)} ms/step), median ${timing.median.toFixed(0)}; tensors left over after the timed steps: ${timing.leaked}`);
    if (backend === 'wasm') {
      const { rows, calls, wall } = await profileStep(model, xs, ys);
      const total = rows.reduce((a, r) => a + r.ms, 0);
      console.log(`\n  profile of one wasm step (profiled wall ${wall.toFixed(1)} ms, kernels ${total.toFixed(1)} ms, the rest is engine/tape/JS glue):`);
      console.log(`  ${'kernel'.padEnd(24)} ${'ms'.padStart(7)} ${'share'.padStart(6)} calls`);
      for (const r of rows) {
        if (r.ms < 0.02 * total / 10 && r.calls < 5) continue;
        console.log(`  ${r.name.padEnd(24)} ${r.ms.toFixed(2).padStart(7)} ${((100 * r.ms) / total).toFixed(1).padStart(5)}% ${r.calls}`);
      }
      console.log('\n  slowest calls:');
      for (const c of calls.slice(0, 12)) console.log(`  ${c.ms.toFixed(2).padStart(6)} ms  ${c.name} ${c.shapes}`);
    }
    tf.dispose([xs, ys]);
    model.dispose();
  }
  if (results.cpu !== undefined && results.wasm !== undefined) {
    console.log(`\nwasm / cpu: ${(results.wasm.best / results.cpu.best).toFixed(0)}x (best ${results.wasm.best.toFixed(0)} vs ${results.cpu.best.toFixed(1)} images/s)`);
  }
}

await main();
