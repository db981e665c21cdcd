// Inference bench of the Node runtime: raw onnxruntime sessions next to the library and the `denoise` CLI on the same data, per device, with peak memory.
// Run: npm run bench:node [-- --devices cpu,webgpu] [--small 1000] [--size 4096] [--big-mp 50] [--seconds 1] [--rounds 3]
// Needs the build (npm run build): the compiled CLI and library, as users get them; npm run bench:node runs this file compiled (under tsx, whose loader the lanes' threads inherit, 256-image batches ran 1.0 times the raw session's rate against 1.12 under node). Uses models/noise-reducer.onnx, or the same network with random weights.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { Rng } from 'onnx-denoiser-common';
import { pathToFileURL } from 'node:url';
import type * as NodeInternal from 'onnx-denoiser-node/internal';
import { builtNodeInternal, denoiseBin, packageRoot } from '../io/package-files.js';
import { binEnvironment, pattern, writePng } from './bench-files.js';

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : process.argv[at + 1] ?? fallback;
}
const SMALL_FILES = Number(option('small', '1000'));
const SIZE = Number(option('size', '4096'));
const BIG_MP = Number(option('big-mp', '50'));
const SECONDS = Number(option('seconds', '1'));
const ROUNDS = Number(option('rounds', '3'));
const DEVICE_LIST = option('devices', '');

const root = packageRoot();
const cliPath = denoiseBin();
for (const file of [cliPath, builtNodeInternal()]) if (!existsSync(file)) throw new Error(`${path.relative(root, file)} is missing: run "npm run build" first`);
// The library as users get it, built (from the TypeScript sources it would run without its lanes).
const { Denoiser, defaultCpuThreads, defaultModelPath, NODE_DEVICES, rawOrt } = (await import(pathToFileURL(builtNodeInternal()).href)) as typeof NodeInternal;
const work = mkdtempSync(path.join(tmpdir(), 'node-bench-'));
const log = (text: string) => process.stdout.write(`${text}\n`);
const rssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);

async function modelFile(): Promise<{ file: string; what: string }> {
  // The tutorial network, as the README's figures (the default photo model is far heavier and has 3 channels).
  const shipped = defaultModelPath('noise-reducer');
  if (existsSync(shipped)) return { file: shipped, what: path.relative(root, shipped) };
  // No trained model yet: the same network with seeded random weights (the speed does not depend on the weights).
  const { noiseReducerLikeModel } = await import('../onnx/test-models.js');
  const file = path.join(work, 'noise-reducer-random.onnx');
  writeFileSync(file, noiseReducerLikeModel(1));
  return { file, what: 'noise-reducer architecture with random weights (models/noise-reducer.onnx not made yet)' };
}

/** Calls `step` until `seconds` have passed (after `warmup` calls); returns calls per second. */
async function rate(step: () => Promise<unknown>, seconds: number, warmup: number, minCalls = 1): Promise<number> {
  for (let i = 0; i < warmup; i++) await step();
  let calls = 0;
  const start = performance.now();
  while (calls < minCalls || performance.now() - start < seconds * 1000) {
    await step();
    calls++;
  }
  return calls / ((performance.now() - start) / 1000);
}

/** Runs the compiled CLI; resolves to wall seconds and the child's peak RSS (MB). */
function runCli(args: string[]): Promise<{ seconds: number; rss: number; code: number | null; stderr: string }> {
  // A wrapper prints the child's peak RSS on exit: resourceUsage is only readable from inside the process.
  const wrapper = `process.argv.splice(1, 0, ${JSON.stringify(cliPath)}); process.on('exit', () => process.stderr.write('\\nmaxrss ' + process.resourceUsage().maxRSS + '\\n')); await import(${JSON.stringify(cliPath)});`;
  return new Promise((resolve) => {
    const start = performance.now();
    const child = spawn(process.execPath, ['--input-type=module', '-e', wrapper, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: binEnvironment(cliPath) });
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (code) => {
      const seconds = (performance.now() - start) / 1000;
      const rss = Number(/maxrss (\d+)/.exec(stderr)?.[1] ?? 0) / 1024;
      resolve({ seconds, rss: Math.round(rss), code, stderr });
    });
  });
}

async function openRaw(bytes: Uint8Array, device: string) {
  // The library's thread count (one per physical core), so both sides run on the same threads.
  const threads = defaultCpuThreads();
  return rawOrt.InferenceSession.create(bytes, { executionProviders: [...NODE_DEVICES.table[device]!.executionProviders] as never, logSeverityLevel: 3, graphOptimizationLevel: 'all', ...(threads === undefined ? {} : { intraOpNumThreads: threads }) });
}

interface Row {
  what: string;
  raw?: number;
  library?: number;
  cli?: number;
  unit: string;
}

/** Prints the rows as a markdown table (tools bench keeps it as one). */
function table(device: string, rows: Row[]): void {
  const pct = (a?: number, b?: number) => (a && b ? `${((100 * a) / b).toFixed(0)}%` : '');
  const fmt = (v?: number) => (v === undefined ? '-' : v >= 100 ? v.toFixed(0) : v.toFixed(2));
  log(`| device | measure | raw session | library | library / raw | CLI | CLI / raw |`);
  log(`| --- | --- | ---: | ---: | ---: | ---: | ---: |`);
  for (const r of rows) log(`| ${device} | ${r.what} (${r.unit}) | ${fmt(r.raw)} | ${fmt(r.library)} | ${pct(r.library, r.raw)} | ${fmt(r.cli)} | ${pct(r.cli, r.raw)} |`);
}

async function main(): Promise<void> {
  const model = await modelFile();
  const bytes = readFileSync(model.file);
  log(`node-bench: model ${model.what}; ${SMALL_FILES} PNGs of 28x28, one ${SIZE}x${SIZE} image, a ${BIG_MP} MP image; work folder ${work}`);

  // Data: the same pixels for the raw session, the library and the CLI.
  const small = Array.from({ length: 256 }, (_, i) => pattern(28, 28, i + 1));
  const smallDir = path.join(work, 'small');
  mkdirSync(smallDir);
  for (let i = 0; i < SMALL_FILES; i++) await writePng(path.join(smallDir, `img-${String(i).padStart(4, '0')}.png`), small[i % 256]!, 28, 28);
  const large = pattern(SIZE, SIZE, 7);
  const largeFile = path.join(work, 'large.png');
  await writePng(largeFile, large, SIZE, SIZE);

  const devices = DEVICE_LIST ? DEVICE_LIST.split(',') : [...NODE_DEVICES.autoOrder];
  for (const device of devices) {
    let raw;
    try {
      // The library's device check first: it says why a device is missing without onnxruntime's error log.
      await (await Denoiser.create({ model: bytes, device: device as never })).dispose();
      raw = await openRaw(bytes, device);
    } catch (error) {
      log(`\n${device}: not available (${((error as Error).message ?? '').split('\n')[0]!.replace(/^Expected a device available on this machine for options.device but received "\w+": /, '').slice(0, 200)})`);
      continue;
    }
    log(`\n${device}: ${NODE_DEVICES.table[device]!.description}`);
    const inputName = raw.inputNames[0]!;
    const rows: Row[] = [];
    const toFloat = (data: Uint8Array, into: Float32Array, offset = 0) => {
      for (let i = 0; i < data.length; i++) into[offset + i] = data[i]! / 255;
    };

    // Raw session (float tensors prepared once, only run() timed) and library (pixels in, pixels out, default
    // tiling) on the same data, alternating for ROUNDS rounds; the best round of each counts (the machine is shared).
    const one = new Float32Array(784);
    toFloat(small[0]!, one);
    const batch = new Float32Array(256 * 784);
    small.forEach((d, i) => toFloat(d, batch, i * 784));
    const big = new Float32Array(SIZE * SIZE);
    toFloat(large, big);
    const denoiser = await Denoiser.create({ model: model.file, device: device as never });
    const smallImages = small.map((data) => ({ data, width: 28, height: 28, channels: 1 }));
    const largeImage = { data: large, width: SIZE, height: SIZE, channels: 1 };
    let k = 0;
    const best = { rawOne: 0, rawBatch: 0, rawBig: 0, libOne: 0, libBatch: 0, libBig: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      best.rawOne = Math.max(best.rawOne, await rate(() => raw.run({ [inputName]: new rawOrt.Tensor('float32', one, [1, 1, 28, 28]) }), SECONDS, 20));
      best.libOne = Math.max(best.libOne, await rate(() => denoiser.denoise(smallImages[k++ % 256]!), SECONDS, 20));
      best.rawBatch = Math.max(best.rawBatch, 256 * (await rate(() => raw.run({ [inputName]: new rawOrt.Tensor('float32', batch, [256, 1, 28, 28]) }), SECONDS, 2)));
      best.libBatch = Math.max(best.libBatch, 256 * (await rate(() => denoiser.denoiseBatch(smallImages), SECONDS, 2)));
    }
    for (let round = 0; round < ROUNDS; round++) {
      best.rawBig = Math.max(best.rawBig, ((SIZE * SIZE) / 1e6) * (await rate(() => raw.run({ [inputName]: new rawOrt.Tensor('float32', big, [1, 1, SIZE, SIZE]) }), 0, round === 0 ? 1 : 0, 1)));
      best.libBig = Math.max(best.libBig, ((SIZE * SIZE) / 1e6) * (await rate(() => denoiser.denoise(largeImage), 0, round === 0 ? 1 : 0, 1)));
    }
    await raw.release();
    await denoiser.dispose();
    const { rawOne, rawBatch, rawBig, libOne, libBatch, libBig } = best;

    // CLI: the compiled bin as a user runs it (process start, decode, denoise, encode, atomic write).
    const outSmall = path.join(work, `out-small-${device}`);
    const bestRun = async (args: string[]) => {
      let run = await runCli(args);
      for (let round = 1; round < ROUNDS && run.code === 0; round++) {
        const next = await runCli(args);
        if (next.seconds < run.seconds) run = next;
      }
      return run;
    };
    // Start-up: the CLI on one small file (process start, onnxruntime and the session, one file); a folder's rate is then counted after it.
    const cliOne = await bestRun([path.join(smallDir, 'img-0000.png'), '-o', path.join(work, `one-${device}.png`), '--model', model.file, '--device', device, '--force']);
    const cliSmall = await bestRun([smallDir, '-o', outSmall, '--model', model.file, '--device', device, '--force']);
    if (cliSmall.code !== 0) log(`  CLI on the small files failed: ${cliSmall.stderr.slice(-400)}`);
    const cliBig = await bestRun([largeFile, '-o', path.join(work, `out-large-${device}.png`), '--model', model.file, '--device', device, '--force']);
    if (cliBig.code !== 0) log(`  CLI on the large image failed: ${cliBig.stderr.slice(-400)}`);

    rows.push({ what: '28x28, batch 1', raw: rawOne, library: libOne, unit: 'img/s' });
    rows.push({ what: '28x28, batch 256', raw: rawBatch, library: libBatch, unit: 'img/s' });
    rows.push({ what: `${SMALL_FILES} PNG files`, raw: rawOne, cli: SMALL_FILES / cliSmall.seconds, unit: 'img/s' });
    rows.push({ what: `${SIZE}x${SIZE}`, raw: rawBig, library: libBig, cli: (SIZE * SIZE) / 1e6 / cliBig.seconds, unit: 'MP/s' });
    table(device, rows);
    const folderRate = (SMALL_FILES - 1) / Math.max(1e-3, cliSmall.seconds - cliOne.seconds);
    log(`  CLI wall: ${cliOne.seconds.toFixed(2)} s for one small file (start-up), ${cliSmall.seconds.toFixed(2)} s for ${SMALL_FILES} files (${folderRate.toFixed(0)} files/s after start-up; peak RSS ${cliSmall.rss} MB), ${cliBig.seconds.toFixed(2)} s for the ${SIZE}x${SIZE} PNG (peak RSS ${cliBig.rss} MB)`);
    const result = (r: Record<string, unknown>) => log(`RESULT ${JSON.stringify({ ...r, device })}`);
    result({ measure: '28x28, batch 1: library vs raw session (img/s)', project: libOne, peer: rawOne, peerName: 'raw onnxruntime session', kind: 'ratio', target: 0.95 });
    result({ measure: '28x28, batch 256: library vs raw session (img/s)', project: libBatch, peer: rawBatch, peerName: 'raw onnxruntime session', kind: 'ratio', target: 0.95 });
    result({ measure: `${SIZE}x${SIZE} PNG: CLI vs raw session (MP/s)`, project: (SIZE * SIZE) / 1e6 / cliBig.seconds, peer: rawBig, peerName: 'raw onnxruntime session', kind: 'ratio', target: 0.9 });
    result({ measure: `denoise <folder> of ${SMALL_FILES} 28x28 PNGs, after start-up (img/s)`, project: folderRate, kind: 'min', target: 3000 });
    result({ measure: 'CLI start-up: one small file from process start (s)', project: cliOne.seconds, kind: 'max', target: 0.5 });
    log(`  bench process peak RSS ${rssMb()} MB (includes the raw session's whole-image run)`);
    rmSync(outSmall, { recursive: true, force: true });
  }

  if (BIG_MP > 0) {
    const side = Math.round(Math.sqrt(BIG_MP * 1e6));
    const hugeFile = path.join(work, 'huge.png');
    await writePng(hugeFile, pattern(side, side, 3), side, side);
    const run = await runCli([hugeFile, '-o', path.join(work, 'huge-out.png'), '--model', model.file, '--device', 'cpu', '--force']);
    log(`\nCLI on a ${side}x${side} (${((side * side) / 1e6).toFixed(1)} MP) grey PNG on cpu: ${run.seconds.toFixed(1)} s, ${((side * side) / 1e6 / run.seconds).toFixed(2)} MP/s, peak RSS ${run.rss} MB${run.code === 0 ? '' : ` (failed: ${run.stderr.slice(-300)})`}`);
    if (run.code === 0) log(`RESULT ${JSON.stringify({ measure: `${((side * side) / 1e6).toFixed(0)} MP PNG through the CLI: peak RSS (MB)`, project: run.rss, kind: 'max', target: 1000, device: 'cpu' })}`);
  }
  rmSync(work, { recursive: true, force: true });
}

await main();
