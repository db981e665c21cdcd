// `npm run bench:web`: in one headless chromium run, images/s (28x28, batch 1) and megapixels/s (a large grey image through the library's tiling) on WebGPU and wasm, next to onnxruntime-node CPU on the same inputs.
// Run: npm run bench:web [-- --size 1024] [--webgpu-size 1024] [--seconds 2] [--devices webgpu,wasm]
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { check, Rng } from 'onnx-denoiser-common';
import { Denoiser as NodeDenoiser } from 'onnx-denoiser-node/internal';
import { type BrowserPage, openBrowserPage, serveBytes } from './browser-harness.js';
import { buildWeb, projectRoot, webBuildStaleness } from './build.js';

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : (process.argv[at + 1] ?? fallback);
}
function positive(name: string, fallback: string): number {
  const value = Number(option(name, fallback));
  check(Number.isFinite(value) && value > 0, 'a positive number', `--${name}`, option(name, fallback));
  return value;
}
const SIZE = positive('size', '1024');
const WEBGPU_SIZE = positive('webgpu-size', String(SIZE));
const SECONDS = positive('seconds', '2');
const DEVICES = option('devices', 'webgpu,wasm').split(',').filter(Boolean);
const log = (text: string) => process.stdout.write(`${text}\n`);

/** The shipped model, or the same network with seeded random weights when it is not made yet (speed does not depend on weights). */
async function model(): Promise<{ bytes: Uint8Array; what: string }> {
  const root = projectRoot();
  const shipped = path.join(root, 'models', 'noise-reducer.onnx');
  if (existsSync(shipped)) return { bytes: new Uint8Array(readFileSync(shipped)), what: 'models/noise-reducer.onnx' };
  const { noiseReducerLikeModel } = await import('../onnx/test-models.js');
  return { bytes: noiseReducerLikeModel(1), what: 'noise-reducer architecture with random weights (models/noise-reducer.onnx not made yet)' };
}

/** A grey test picture: smooth shapes plus speckle, the same for every runtime. */
function picture(width: number, height: number): Uint8Array {
  const data = new Uint8Array(width * height);
  const rng = new Rng(12345);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const base = 128 + 90 * Math.sin(x / 9) * Math.cos(y / 11);
      data[y * width + x] = Math.max(0, Math.min(255, Math.round(base + (rng.nextFloat() - 0.5) * 102.4)));
    }
  }
  return data;
}

/** What one measurement runs: a raw tensor or grey pixels through the library. */
type Job = { kind: 'tensor'; dims: [number, number, number, number] } | { kind: 'pixels'; width: number; height: number };

/** Calls `step` `warmup` times, then until `seconds` have passed (at least once); returns calls per second. */
async function rate(step: () => Promise<unknown>, seconds: number, warmup: number): Promise<number> {
  for (let i = 0; i < warmup; i++) await step();
  let calls = 0;
  const start = performance.now();
  while (calls < 1 || performance.now() - start < seconds * 1000) {
    await step();
    calls++;
  }
  return calls / ((performance.now() - start) / 1000);
}

async function browserRate(harness: BrowserPage, modelPath: string, device: string, inputPath: string, job: Job, warmup: number): Promise<{ perSecond: number; device: string; adapter?: string }> {
  return harness.page.evaluate(
    async ({ modelPath, device, inputPath, job, seconds, warmup }) => {
      type Web = typeof import('onnx-denoiser-web');
      const { Denoiser } = (window as unknown as { runtimeWeb: Web }).runtimeWeb;
      const cache = ((window as unknown as { benchDenoisers?: Map<string, ReturnType<Web['Denoiser']['create']>> }).benchDenoisers ??= new Map());
      if (!cache.has(device)) cache.set(device, Denoiser.create({ model: modelPath, device: device as 'webgpu' | 'wasm' }));
      const denoiser = await cache.get(device)!;
      const bytes = await (await fetch(inputPath)).arrayBuffer();
      const step =
        job.kind === 'tensor'
          ? (() => {
              const input = new Float32Array(bytes);
              return () => denoiser.runTensor(input, job.dims);
            })()
          : (() => {
              const image = { data: new Uint8Array(bytes), width: job.width, height: job.height, channels: 1 };
              return () => denoiser.denoisePixels(image);
            })();
      for (let i = 0; i < warmup; i++) await step();
      let calls = 0;
      const start = performance.now();
      while (calls < 1 || performance.now() - start < seconds * 1000) {
        await step();
        calls++;
      }
      return { perSecond: calls / ((performance.now() - start) / 1000), device: denoiser.device, adapter: denoiser.adapter };
    },
    { modelPath, device, inputPath, job, seconds: SECONDS, warmup },
  );
}

function fmt(value: number | undefined): string {
  if (value === undefined) return '-';
  return value >= 100 ? value.toFixed(0) : value >= 1 ? value.toFixed(2) : value.toPrecision(3);
}

async function main(): Promise<void> {
  const { bytes, what } = await model();
  // Built only when stale (as the browser tests' setup does): a page of another run may be reading dist/web.
  if (webBuildStaleness()) await buildWeb();
  const small = picture(28, 28);
  const smallTensor = Float32Array.from(small, (v) => v / 255);
  log(`web-bench: model ${what}; 28x28 batch 1 as a raw tensor; ${SIZE}x${SIZE} grey (WebGPU: ${WEBGPU_SIZE}x${WEBGPU_SIZE}) through the library (512 px tiles); ${SECONDS} s per figure`);

  const rows: { what: string; unit: string; values: Record<string, number | undefined> }[] = [
    { what: '28x28, batch 1', unit: 'images/s', values: {} },
    { what: `${SIZE}x${SIZE} grey${WEBGPU_SIZE !== SIZE ? ` (webgpu ${WEBGPU_SIZE})` : ''}`, unit: 'MP/s', values: {} },
  ];
  const harness = await openBrowserPage();
  const adapters: string[] = [];
  try {
    const modelPath = serveBytes(harness, bytes, 'model.onnx');
    const smallPath = serveBytes(harness, new Uint8Array(smallTensor.buffer), 'small.f32');
    for (const device of DEVICES) {
      const side = device === 'webgpu' ? WEBGPU_SIZE : SIZE;
      const largePath = serveBytes(harness, picture(side, side), `large-${side}.u8`);
      try {
        const start = performance.now();
        const one = await browserRate(harness, modelPath, device, smallPath, { kind: 'tensor', dims: [1, 1, 28, 28] }, 5);
        rows[0]!.values[device] = one.perSecond;
        if (one.adapter) adapters.push(`${device}: ${one.adapter}`);
        log(`  ${device}: ${fmt(one.perSecond)} images/s (28x28); timing ${side}x${side}...`);
        const large = await browserRate(harness, modelPath, device, largePath, { kind: 'pixels', width: side, height: side }, 1);
        rows[1]!.values[device] = (large.perSecond * side * side) / 1e6;
        log(`  ${device}: ${fmt(rows[1]!.values[device])} MP/s (${side}x${side}); ${((performance.now() - start) / 1000).toFixed(0)} s in all`);
      } catch (error) {
        log(`  ${device}: not available (${((error as Error).message ?? String(error)).split('\n')[0]})`);
      }
    }
    if (harness.pageErrors.length) log(`  page errors: ${harness.pageErrors.map((e) => e.message).join('; ')}`);
  } finally {
    await harness.close();
  }

  const node = await NodeDenoiser.create({ model: bytes, device: 'cpu' });
  try {
    rows[0]!.values['node cpu'] = await rate(() => node.runTensor(smallTensor, [1, 1, 28, 28]), SECONDS, 5);
    const image = { data: picture(SIZE, SIZE), width: SIZE, height: SIZE, channels: 1 };
    rows[1]!.values['node cpu'] = ((await rate(() => node.denoise(image), SECONDS, 1)) * SIZE * SIZE) / 1e6;
  } finally {
    await node.dispose();
  }

  const columns = [...DEVICES, 'node cpu'];
  log('');
  log(`  ${'measure'.padEnd(28)} ${columns.map((c) => (c === 'node cpu' ? 'node CPU' : `web ${c}`).padStart(12)).join(' ')}`);
  for (const row of rows) log(`  ${`${row.what} (${row.unit})`.padEnd(28)} ${columns.map((c) => fmt(row.values[c]).padStart(12)).join(' ')}`);
  if (adapters.length) log(`  WebGPU adapter: ${adapters.join(', ')}${adapters.some((a) => /swiftshader/i.test(a)) ? ' (SwiftShader: a CPU emulation of a GPU, far slower than a real one)' : ''}`);
}

main().catch((error) => {
  process.stderr.write(`bench:web failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
