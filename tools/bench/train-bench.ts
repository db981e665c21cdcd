// Training-speed bench of a spec (default the seed autoencoder) on every TF.js backend (ratio to stock cpu), with a wasm kernel profile and its PyTorch twin on the same CPU (tools/bench/torch-twin.py).
// Run: npm run bench:train [-- --spec models/noise-reducer.json --size 28 --steps 300 --cpu-steps 3 --webgpu-steps 3 --repeats 3 --batch 32 --backends wasm,cpu --threads 2 --peer-images 6400 --no-peer]
//      npx tsx tools/bench/train-bench.ts --workers 2   (data-parallel experiment: one wasm replica per thread)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { check } from 'onnx-denoiser-common';
import { buildModel } from '../model/build-tfjs.js';
import { parseSpec } from '../layers/spec.js';
import { packageRoot, toolsRoot } from '../io/package-files.js';
import { initBackend } from '../train/backends.js';
import { useSwiftShaderWithoutGpu } from 'onnx-denoiser-node/internal';

/** Every backend `tools train --backend` names, fastest expected first; unavailable ones are listed with why. */
const BENCH_BACKENDS = ['cuda', 'tensorflow', 'wasm', 'webgpu', 'cpu'];


function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  check(Number.isInteger(value) && value >= 0, 'a non-negative integer', `--${name}`, process.argv[at + 1]);
  return value;
}

/** Images per step: the seed's 32 unless --batch says otherwise (to see how a step scales, e.g. for data parallelism). */
const BATCH = option('batch', 32);

/** wasm only: XNNPACK threads (`--threads N`; default the backend's own: the physical cores). */
const THREADS = process.argv.includes('--threads') ? option('threads', 0) : undefined;

/** Square image side of the benched batches: 28 (Fashion-MNIST) unless --size says otherwise (e.g. 48 for photo patches). */
const SIZE = option('size', 28);

/** The network benched: `--spec FILE` (default the tutorial's models/noise-reducer.json), built by the project's builder. */
const SPEC = parseSpec(JSON.parse(readFileSync(specPath(), 'utf8')), specPath());

function specPath(): string {
  const at = process.argv.indexOf('--spec');
  return at < 0 ? join(packageRoot(), 'models', 'noise-reducer.json') : process.argv[at + 1]!;
}

/** The network on the active backend, compiled with the tutorial's Adam 1e-3 and MSE. */
function seedNetwork(): tfl.LayersModel {
  const model = buildModel(SPEC);
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'meanSquaredError' });
  return model;
}

interface Timing { best: number; median: number; msPerStep: number; leaked: number }

/** Trains `steps` batches `repeats` times after a warm-up; images/s of each repeat, best and median. */
async function timeTraining(model: tfl.LayersModel, xs: tf.Tensor | tf.Tensor[], ys: tf.Tensor, steps: number, repeats: number, warmup: number): Promise<Timing> {
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
async function profileStep(model: tfl.LayersModel, xs: tf.Tensor | tf.Tensor[], ys: tf.Tensor) {
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

/** Steps timed per backend: the CPU emulations are slow, so they get a few. */
function stepsFor(backend: string): number {
  if (backend === 'cpu') return option('cpu-steps', 3);
  if (backend === 'webgpu') return option('webgpu-steps', 3);
  return option('steps', 300);
}

/** Where WebGPU runs: on a machine with no GPU device node, Dawn is pointed at SwiftShader (a CPU Vulkan driver). */
function prepareWebgpu(): string {
  return useSwiftShaderWithoutGpu() ? ' on SwiftShader (CPU-emulated Vulkan: no GPU here)' : '';
}

interface BenchRow { backend: string; description: string; timing?: Timing; steps: number; reason?: string }

async function main(): Promise<void> {
  const repeats = option('repeats', 3);
  const only = process.argv.includes('--backends') ? process.argv[process.argv.indexOf('--backends') + 1]!.split(',') : BENCH_BACKENDS;
  console.log(`tools train bench: ${SPEC.name}, batch ${BATCH}, Adam 1e-3, MSE, random data; node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? 'unknown CPU'}`);
  console.log('wall clock on shared cores: noisy; best of the repeats is the least disturbed one\n');

  const rows: BenchRow[] = [];
  for (const backend of only) {
    const steps = stepsFor(backend);
    const where = backend === 'webgpu' ? prepareWebgpu() : '';
    let info;
    try {
      info = await initBackend(backend, THREADS !== undefined && backend === 'wasm' ? { threads: THREADS } : {});
    } catch (error) {
      rows.push({ backend, description: '', steps, reason: (error as Error).message.replace(/^Expected a TF.js backend that loads for --backend but received "\w+": /, '') });
      console.log(`${backend}: not available: ${rows.at(-1)!.reason}\n`);
      continue;
    }
    const model = seedNetwork();
    const image = tf.randomUniform([BATCH, SIZE, SIZE, SPEC.input.channels], 0, 1, 'float32', 1);
    // A spec with a noise map takes it as a second input: one level per image, as training feeds it.
    const xs = SPEC.input.noiseMap === undefined ? image : [image, tf.fill([BATCH, SIZE, SIZE, 1], 0.1)];
    const ys = tf.randomUniform([BATCH, SIZE, SIZE, SPEC.input.channels], 0, 1, 'float32', 2);
    const slow = backend === 'cpu' || backend === 'webgpu';
    const timing = await timeTraining(model, xs, ys, steps, slow ? 1 : repeats, slow ? 1 : 5);
    rows.push({ backend, description: info.description + where, timing, steps });
    console.log(`${info.description}${where}`);
    console.log(`  ${steps} steps x ${slow ? 1 : repeats}: best ${timing.best.toFixed(1)} images/s (${timing.msPerStep.toFixed(1)} ms/step), median ${timing.median.toFixed(1)}; tensors left over: ${timing.leaked}`);
    if (backend === 'wasm') {
      const { rows: kernels, calls, wall } = await profileStep(model, xs, ys);
      const total = kernels.reduce((a, r) => a + r.ms, 0);
      console.log(`\n  profile of one wasm step (profiled wall ${wall.toFixed(1)} ms, kernels ${total.toFixed(1)} ms, the rest is engine/tape/JS glue):`);
      console.log(`  ${'kernel'.padEnd(24)} ${'ms'.padStart(7)} ${'share'.padStart(6)} calls`);
      for (const r of kernels) {
        if (r.ms < 0.002 * total && r.calls < 5) continue;
        console.log(`  ${r.name.padEnd(24)} ${r.ms.toFixed(2).padStart(7)} ${((100 * r.ms) / total).toFixed(1).padStart(5)}% ${r.calls}`);
      }
      console.log('\n  slowest calls:');
      for (const c of calls.slice(0, 8)) console.log(`  ${c.ms.toFixed(2).padStart(6)} ms  ${c.name} ${c.shapes}`);
    }
    console.log('');
    tf.dispose([...(Array.isArray(xs) ? xs : [xs]), ys]);
    model.dispose();
  }

  const peer = process.argv.includes('--no-peer') ? undefined : torchPeer(option('peer-images', 6400), repeats);
  const cpu = rows.find((r) => r.backend === 'cpu')?.timing?.best;
  const wasm = rows.find((r) => r.backend === 'wasm')?.timing?.best;
  if (peer && 'rate' in peer) {
    console.log(`PyTorch twin: ${peer.what}: best ${peer.rate.toFixed(0)} images/s`);
    if (wasm) console.log(`RESULT ${JSON.stringify({ measure: `training ${SPEC.name} ${SIZE}x${SIZE}, batch ${BATCH}, wasm path (images/s)`, project: wasm, peer: peer.rate, peerName: 'PyTorch CPU, same network', kind: 'ratio', target: 1.2 })}`);
    console.log('');
  } else if (peer) console.log(`PyTorch twin: not run: ${peer.reason}\n`);
  console.log('| backend | what runs | images/s | vs stock cpu | full tutorial run (600,000 image-steps) |');
  console.log('| --- | --- | ---: | ---: | ---: |');
  for (const r of rows) {
    if (!r.timing) {
      console.log(`| ${r.backend} | not available: ${r.reason} | | | |`);
      continue;
    }
    const minutes = 600_000 / r.timing.best / 60;
    const ratio = cpu ? `${(r.timing.best / cpu).toFixed(r.timing.best / cpu >= 10 ? 0 : 1)}x` : 'n/a';
    console.log(`| ${r.backend} | ${r.description} | ${r.timing.best.toFixed(r.timing.best >= 100 ? 0 : 1)} | ${ratio} | ${minutes >= 120 ? `${(minutes / 60).toFixed(1)} h` : `${minutes.toFixed(1)} min`} |`);
  }
  if (peer && 'rate' in peer) {
    const ratio = cpu ? `${(peer.rate / cpu).toFixed(peer.rate / cpu >= 10 ? 0 : 1)}x` : 'n/a';
    console.log(`| peer | ${peer.what} | ${peer.rate.toFixed(peer.rate >= 100 ? 0 : 1)} | ${ratio} | ${(600_000 / peer.rate / 60).toFixed(1)} min |`);
  }
}

/**
 * The same network in PyTorch on the CPU (tools/bench/torch-twin.py builds it from the spec), with as many threads
 * as cores, on `images` random images per repeat; a reason instead when python3-torch is missing or it fails.
 */
function torchPeer(images: number, repeats: number): { rate: number; what: string } | { reason: string } {
  const python = '/usr/bin/python3';
  const script = join(toolsRoot(), 'bench', 'torch-twin.py');
  if (!existsSync(python)) return { reason: `${python} is missing` };
  const probe = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  if (probe.status !== 0) return { reason: 'python3-torch is not installed (apt-get install python3-torch)' };
  const threads = cpus().length;
  const run = spawnSync(python, [script, specPath(), '--size', String(SIZE), '--images', String(images), '--threads', String(threads), '--batch', String(BATCH), '--repeats', String(Math.max(1, repeats))], { encoding: 'utf8' });
  if (run.status !== 0) return { reason: `torch-twin.py failed: ${(run.stderr || run.stdout).trim().split('\n').at(-1)}` };
  const result = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { imagesPerSecond: number; torch: string };
  return { rate: result.imagesPerSecond, what: `PyTorch ${result.torch} CPU, ${threads} threads, the same ${SPEC.name} (tools/bench/torch-twin.py), Adam, MSE` };
}

/** What a replica thread is told at start. */
interface ReplicaSetup {
  weights: Float32Array[];
  batch: number;
  seed: number;
}

/**
 * A data-parallel replica: computes the gradient of its shard, posts it, waits for the average of all shards and
 * applies it with its own Adam (every replica applies the same update, so the replicas stay identical).
 */
async function replica(): Promise<void> {
  const setup = workerData as ReplicaSetup;
  const port = parentPort!;
  await initBackend('wasm', { threads: 1 });
  const model = seedNetwork();
  model.setWeights(model.getWeights().map((w, i) => tf.tensor(setup.weights[i]!, w.shape)));
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const optimizer = tf.train.adam(1e-3);
  const xs = tf.randomUniform([setup.batch, SIZE, SIZE, SPEC.input.channels], 0, 1, 'float32', setup.seed);
  const ys = tf.randomUniform([setup.batch, SIZE, SIZE, SPEC.input.channels], 0, 1, 'float32', setup.seed + 1);
  const gradients = () => {
    const { value, grads } = tf.variableGrads(() => tf.losses.meanSquaredError(ys, model.apply(xs) as tf.Tensor) as tf.Scalar, vars);
    const out = vars.map((v) => grads[v.name]!.dataSync() as Float32Array);
    tf.dispose([value, ...Object.values(grads)]);
    return out;
  };
  port.on('message', (msg: { average?: Float32Array[]; done?: boolean }) => {
    if (msg.done) {
      const sum = vars.reduce((a, v) => a + (v.dataSync() as Float32Array).reduce((b, x) => b + x, 0), 0);
      port.postMessage({ checksum: sum });
      return;
    }
    if (msg.average !== undefined) {
      tf.tidy(() => optimizer.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: tf.tensor(msg.average![i]!, v.shape) }))));
    }
    const grads = gradients();
    port.postMessage({ grads }, grads.map((g) => g.buffer as ArrayBuffer));
  });
  port.postMessage({ ready: true });
}

/** Runs `workers` replicas on shards of one batch of 32 and reports images/s; workers = 1 is the same loop unsplit. */
async function dataParallel(workers: number, steps: number): Promise<void> {
  await initBackend('wasm', { threads: 1 });
  const weights = seedNetwork().getWeights().map((w) => w.dataSync() as Float32Array);
  const shard = BATCH / workers;
  if (!Number.isInteger(shard)) throw new Error(`--batch ${BATCH} does not split into ${workers} equal shards`);
  // tsx's loader does not reach worker threads: each one registers it before importing this file.
  const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); })`;
  const threads = Array.from({ length: workers }, (_, i) => new Worker(boot, { eval: true, workerData: { weights, batch: shard, seed: 10 + 2 * i } satisfies ReplicaSetup }));
  // One listener per thread, handing each message to whoever waits for it.
  const waiting = threads.map(() => [] as Array<(m: Record<string, unknown>) => void>);
  threads.forEach((w, i) => {
    w.on('message', (m: Record<string, unknown>) => waiting[i]!.shift()!(m));
    w.on('error', (e) => {
      console.error(`replica ${i} failed: ${e.message}`);
      process.exit(1);
    });
  });
  const next = (w: Worker) => new Promise<Record<string, unknown>>((resolve) => waiting[threads.indexOf(w)]!.push(resolve));
  await Promise.all(threads.map(next));
  let pending = threads.map(next);
  threads.forEach((w) => w.postMessage({}));
  const warmup = 5;
  let start = 0;
  for (let step = 0; step < steps + warmup; step++) {
    if (step === warmup) start = performance.now();
    const parts = (await Promise.all(pending)).map((m) => m.grads as Float32Array[]);
    const average = parts[0]!.map((g, v) => {
      const out = new Float32Array(g.length);
      for (const p of parts) for (let i = 0; i < out.length; i++) out[i] += p[v]![i]!;
      for (let i = 0; i < out.length; i++) out[i] /= workers;
      return out;
    });
    pending = threads.map(next);
    threads.forEach((w) => w.postMessage({ average }));
  }
  await Promise.all(pending);
  const rate = (steps * BATCH * 1000) / (performance.now() - start);
  const checks = await Promise.all(threads.map((w) => { const p = next(w); w.postMessage({ done: true }); return p; }));
  await Promise.all(threads.map((w) => w.terminate()));
  const sums = checks.map((c) => c.checksum as number);
  console.log(`data-parallel wasm, ${workers} replica thread(s) x ${shard} images: ${rate.toFixed(0)} images/s (${((BATCH * 1000) / rate).toFixed(1)} ms per step of ${BATCH})`);
  console.log(`  replicas in step: ${sums.every((x) => x === sums[0]) ? 'yes' : 'NO'} (weight checksums ${sums.map((x) => x.toFixed(6)).join(', ')})`);
}

if (!isMainThread) {
  await replica();
} else if (process.argv.includes('--workers')) {
  await dataParallel(option('workers', 2), option('steps', 300));
} else {
  await main();
}
