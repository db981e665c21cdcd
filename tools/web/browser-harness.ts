// Reusable browser harness: headless Debian chromium (WebGPU on SwiftShader) driven by playwright-core on the built dist/web, with tensors in and out and the onnxruntime-node CPU reference.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { Rng } from 'onnx-denoiser-common';
import { Denoiser as NodeDenoiser } from 'onnx-denoiser-node/internal';
import { WEB_FILES, webOutDir } from './build.js';
import { startStaticServer, type StaticServer } from './static-server.js';

/** Debian's chromium (never a downloaded browser); CHROMIUM_PATH overrides. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Flags that give headless chromium WebGPU on SwiftShader's CPU Vulkan driver (a real GPU's driver where there is one). */
export const CHROMIUM_ARGS = Object.freeze([
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
]);

/** Path of the page that loads the library and exposes it as `window.runtimeWeb`. */
export const HARNESS_PAGE = '/__harness/index.html';

/** Options for {@link openBrowserPage}. */
export interface OpenOptions {
  /** Folder served at "/" (default dist/web, which the test global setup builds). */
  root?: string;
  /** Page to open first (default {@link HARNESS_PAGE}); undefined opens none. */
  page?: string | null;
  /** false hides `navigator.gpu` from every page, as in a browser without WebGPU. */
  webgpu?: boolean;
  /** Viewport size (default 1000x760). */
  viewport?: { width: number; height: number };
}

/** A browser with one page on the local server, and what the page threw or logged as errors. */
export interface BrowserPage {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  server: StaticServer;
  /** Uncaught exceptions and unhandled rejections of the page (`pageerror`). */
  pageErrors: Error[];
  /** console.error lines of the page. */
  consoleErrors: string[];
  /** Full URL of a path on the server. */
  url(urlPath: string): string;
  /** Opens a path (default the harness page) in the page and waits until it has loaded. */
  open(urlPath?: string): Promise<void>;
  close(): Promise<void>;
}

const HARNESS_HTML = `<!doctype html><meta charset="utf-8"><title>runtime-web harness</title><link rel="icon" href="data:,">
<body><script type="module">
import * as runtimeWeb from '/${WEB_FILES.library}';
window.runtimeWeb = runtimeWeb;
window.harnessReady = true;
</script></body>`;

/**
 * Starts the local server (on 127.0.0.1) and chromium with a fresh profile, and opens the harness page.
 * @throws when chromium or the build is missing, saying how to get them.
 */
export async function openBrowserPage(options: OpenOptions = {}): Promise<BrowserPage> {
  const root = options.root ?? webOutDir();
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`No chromium at ${CHROMIUM_PATH}: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH`);
  if (!existsSync(path.join(root, WEB_FILES.library))) throw new Error(`${path.join(root, WEB_FILES.library)} is missing: run npm run build:web`);
  const server = await startStaticServer({ root });
  server.route(HARNESS_PAGE, { body: HARNESS_HTML });
  let browser: Browser;
  try {
    // launch() gives every browser a fresh temporary profile.
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS], headless: true });
  } catch (error) {
    await server.close();
    throw error;
  }
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 1000, height: 760 } });
  // tsx compiles helpers with keepNames, which wraps functions sent to page.evaluate in __name(...) calls.
  await context.addInitScript({ content: 'globalThis.__name = globalThis.__name || ((f) => f);' });
  if (options.webgpu === false) await context.addInitScript({ content: "Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });" });
  const page = await context.newPage();
  const pageErrors: Error[] = [];
  const consoleErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error));
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  const harness: BrowserPage = {
    browser,
    context,
    page,
    server,
    pageErrors,
    consoleErrors,
    url: (urlPath) => new URL(urlPath, server.url).href,
    async open(urlPath = HARNESS_PAGE) {
      await page.goto(harness.url(urlPath), { waitUntil: 'load' });
      if (urlPath === HARNESS_PAGE) await page.waitForFunction(() => (window as unknown as { harnessReady?: boolean }).harnessReady === true);
    },
    async close() {
      await browser.close();
      await server.close();
    },
  };
  if (options.page !== null) await harness.open(options.page ?? HARNESS_PAGE);
  return harness;
}

/** One model run in the browser. */
export interface BrowserRun {
  /** ONNX model bytes (served to the page by URL). */
  model: Uint8Array;
  /** NCHW float32 input. */
  input: Float32Array;
  dims: readonly [number, number, number, number];
  /** Default `auto`. */
  device?: 'auto' | 'webgpu' | 'wasm';
  /** Timed repetitions after the first run (default 0): the result then has `msPerRun`. */
  repeat?: number;
  /** The noise level of a model with a noise map (runTensor's `noiseLevel`); none for a blind model. */
  noiseLevel?: number;
}

/** What {@link runInBrowser} returns. */
export interface BrowserRunResult {
  output: Float32Array;
  device: string;
  adapter: string | undefined;
  skipped: string[];
  /** Milliseconds per run over the repetitions, when asked for. */
  msPerRun?: number;
}

let blobCounter = 0;

/** Serves bytes on the page's server under /__harness/ and returns the path. */
export function serveBytes(harness: BrowserPage, bytes: Uint8Array, name: string): string {
  const urlPath = `/__harness/blobs/${++blobCounter}-${name}`;
  harness.server.route(urlPath, { body: bytes, type: 'application/octet-stream' });
  return urlPath;
}

/**
 * Runs a model on a tensor in the page with the library (`Denoiser.create` + `runTensor`). Denoisers are kept per
 * model and device in the page, so repeated calls reuse the session. The harness page must be open.
 */
export async function runInBrowser(harness: BrowserPage, run: BrowserRun): Promise<BrowserRunResult> {
  const hash = createHash('sha256').update(run.model).digest('hex').slice(0, 16);
  const modelPath = `/__harness/models/${hash}.onnx`;
  harness.server.route(modelPath, { body: run.model, type: 'application/octet-stream' });
  const inputPath = serveBytes(harness, new Uint8Array(run.input.buffer, run.input.byteOffset, run.input.byteLength), 'input.f32');
  const result = await harness.page.evaluate(
    async ({ modelPath, inputPath, dims, device, repeat, noiseLevel }) => {
      type Web = typeof import('onnx-denoiser-web');
      const web = (window as unknown as { runtimeWeb: Web }).runtimeWeb;
      const cache = ((window as unknown as { harnessDenoisers?: Map<string, ReturnType<Web['Denoiser']['create']>> }).harnessDenoisers ??= new Map());
      const key = `${device} ${modelPath}`;
      let pending = cache.get(key);
      if (!pending) {
        pending = web.Denoiser.create({ model: modelPath, device });
        cache.set(key, pending);
        pending.catch(() => cache.delete(key));
      }
      const denoiser = await pending;
      const input = new Float32Array(await (await fetch(inputPath)).arrayBuffer());
      const output = await denoiser.runTensor(input, dims, noiseLevel ?? undefined);
      let msPerRun: number | undefined;
      if (repeat > 0) {
        const start = performance.now();
        for (let i = 0; i < repeat; i++) await denoiser.runTensor(input, dims, noiseLevel ?? undefined);
        msPerRun = (performance.now() - start) / repeat;
      }
      const bytes = new Uint8Array(output.buffer, output.byteOffset, output.byteLength);
      let text = '';
      for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return { output: btoa(text), device: denoiser.device, adapter: denoiser.adapter, skipped: [...denoiser.skipped], msPerRun };
    },
    { modelPath, inputPath, dims: [...run.dims] as [number, number, number, number], device: run.device ?? 'auto', repeat: run.repeat ?? 0, noiseLevel: run.noiseLevel ?? null },
  );
  harness.server.unroute(inputPath);
  const raw = Buffer.from(result.output, 'base64');
  const output = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  return { output, device: result.device, adapter: result.adapter ?? undefined, skipped: result.skipped, ...(result.msPerRun === undefined ? {} : { msPerRun: result.msPerRun }) };
}

/** The independent reference: the same model and tensor on onnxruntime-node's CPU provider. */
export async function runOnNodeCpu(model: Uint8Array, input: Float32Array, dims: readonly [number, number, number, number]): Promise<Float32Array> {
  const denoiser = await NodeDenoiser.create({ model, device: 'cpu' });
  try {
    return await denoiser.runTensor(input, dims);
  } finally {
    await denoiser.dispose();
  }
}

/** Largest absolute difference of two equally long arrays (Infinity when the lengths differ). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

/** A fixed, non-trivial test input in [0, 1]: smooth shapes plus a deterministic speckle. */
export function fixedInput(dims: readonly [number, number, number, number], seed = 1): Float32Array {
  const [n, c, h, w] = dims;
  const out = new Float32Array(n * c * h * w);
  const rng = new Rng(seed);
  for (let i = 0; i < out.length; i++) {
    const x = i % w;
    const y = Math.floor(i / w) % h;
    const base = 0.5 + 0.35 * Math.sin(x / 3.1 + seed) * Math.cos(y / 4.7);
    out[i] = Math.min(1, Math.max(0, base + (rng.nextFloat() - 0.5) * 0.3));
  }
  return out;
}
