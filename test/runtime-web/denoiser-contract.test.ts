// The runtimes' shared Denoiser contract (test/runtime-common/denoiser-contract.ts) on onnxruntime-web's wasm device in headless chromium.
import { afterAll, beforeAll } from 'vitest';
import type { ModelInfo, PixelImage, TileSettings } from '../../runtime-common/index.js';
import { type BrowserPage, openBrowserPage, serveBytes } from '../../tools/web/browser-harness.js';
import { type ContractDenoiser, type ContractRuntime, denoiserContract } from '../runtime-common/denoiser-contract.js';

/** A typed array as it crosses into and out of the page: its class name and values (NaN and the infinities survive). */
interface Typed {
  typedArray: string;
  values: number[];
}

/** What the page returns: a value, or the error it threw. */
type Reply<T> = { value: T } | { error: { name: string; message: string } };

/** A call on the page's Denoiser: create one (`id` comes back), or one of its methods. */
type Call =
  | { op: 'create'; options: unknown }
  | { op: 'denoise'; id: number; image: unknown; options?: unknown }
  | { op: 'runTensor'; id: number; input: unknown; dims: unknown; noiseLevel?: unknown }
  | { op: 'dispose'; id: number };

const toPage = (value: unknown): unknown => (ArrayBuffer.isView(value) ? { typedArray: value.constructor.name, values: Array.from(value as unknown as ArrayLike<number>) } : value);
const fromPage = (value: Typed): Float32Array => new (globalThis as unknown as Record<string, new (values: number[]) => Float32Array>)[value.typedArray]!(value.values);

let harness: BrowserPage;
beforeAll(async () => {
  harness = await openBrowserPage();
});
afterAll(async () => {
  await harness?.close();
});

async function call<T>(request: Call): Promise<T> {
  const reply = (await harness.page.evaluate(async (request) => {
    type Web = typeof import('../../runtime-web/index.js');
    type PageDenoiser = Awaited<ReturnType<Web['Denoiser']['create']>>;
    const page = window as unknown as { runtimeWeb: Web; contractDenoisers?: PageDenoiser[] };
    const denoisers = (page.contractDenoisers ??= []);
    const isTyped = (v: unknown): v is Typed => typeof v === 'object' && v !== null && 'typedArray' in v;
    const typed = (v: unknown) => (isTyped(v) ? new (globalThis as unknown as Record<string, new (values: number[]) => unknown>)[v.typedArray]!(v.values) : v);
    const plain = (v: unknown) => (ArrayBuffer.isView(v) ? { typedArray: v.constructor.name, values: Array.from(v as unknown as ArrayLike<number>) } : v);
    try {
      if (request.op === 'create') {
        let options = request.options as Record<string, unknown>;
        // Model bytes come as a URL on the harness server, and reach Denoiser.create as a Uint8Array.
        if (typeof options === 'object' && options !== null && typeof options.modelUrl === 'string') {
          const { modelUrl, ...rest } = options;
          options = { ...rest, model: new Uint8Array(await (await fetch(modelUrl)).arrayBuffer()) };
        }
        const d = await page.runtimeWeb.Denoiser.create(options);
        denoisers.push(d);
        return { value: { id: denoisers.length - 1, device: d.device, model: d.model, tiles: d.tiles } };
      }
      const d = denoisers[request.id]!;
      if (request.op === 'denoise') {
        const image = request.image as Record<string, unknown>;
        const out: PixelImage = await d.denoisePixels({ ...image, data: typed(image.data) } as PixelImage, request.options as never);
        return { value: { ...out, data: plain(out.data) } };
      }
      if (request.op === 'runTensor') return { value: plain(await d.runTensor(typed(request.input) as Float32Array, request.dims as never, typed(request.noiseLevel) as never)) };
      await d.dispose();
      return { value: null };
    } catch (e) {
      return { error: { name: (e as Error).name, message: (e as Error).message } };
    }
  }, request)) as Reply<T>;
  if ('error' in reply) throw Object.assign(new Error(reply.error.message), { name: reply.error.name });
  return reply.value;
}

/** The page's Denoiser seen from here: every call goes through {@link call}. */
async function createInPage(options: unknown): Promise<ContractDenoiser> {
  let sent = options;
  if (typeof options === 'object' && options !== null && (options as { model?: unknown }).model instanceof Uint8Array) {
    const { model, ...rest } = options as { model: Uint8Array };
    sent = { ...rest, modelUrl: serveBytes(harness, model, 'model.onnx') };
  }
  const { id, device, model, tiles } = await call<{ id: number; device: string; model: ModelInfo; tiles: TileSettings }>({ op: 'create', options: sent });
  return {
    device,
    model,
    tiles,
    async denoise(image, options) {
      const out = await call<PixelImage & { data: Typed }>({ op: 'denoise', id, image: { ...image, data: toPage(image.data) }, options });
      return { ...out, data: fromPage(out.data) };
    },
    runTensor: async (input, dims, noiseLevel) => fromPage(await call<Typed>({ op: 'runTensor', id, input: toPage(input), dims, noiseLevel: toPage(noiseLevel) })),
    dispose: () => call<void>({ op: 'dispose', id }),
  };
}

const web: ContractRuntime = {
  runtime: 'onnxruntime-web',
  device: 'wasm',
  deviceNames: ['auto', 'webgpu', 'wasm'],
  optionKeys: ['model', 'device', 'tile', 'overlap', 'sigma', 'onProgress', 'signal'],
  create: createInPage,
};

denoiserContract('onnxruntime-web, wasm in chromium', () => web);
