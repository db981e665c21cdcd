// The one place that loads TF.js backends: a frozen table from backend name to a loader that initialises it.
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { checkOneOf, invalid } from 'onnx-denoiser-common';
import { registerWasmTrainingKernels } from './wasm-kernels.js';

/** Initialises one TF.js backend, makes it the active one and describes what runs. */
type BackendLoader = () => Promise<string>;

const require = createRequire(import.meta.url);

/** Folder holding tfjs-backend-wasm's .wasm binaries, with a trailing separator as setWasmPaths expects. */
function wasmBinaryFolder(): string {
  // The package's node entry point lives in dist/, next to the three .wasm binaries.
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep;
}

let wasmPathsSet = false;

async function loadWasm(): Promise<string> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  if (!wasmPathsSet) {
    // Before the backend's first initialisation (tf.findBackend would start one); setWasmPaths is process-wide.
    wasm.setWasmPaths(wasmBinaryFolder());
    wasmPathsSet = true;
  }
  const kernels = registerWasmTrainingKernels();
  if (!(await tf.setBackend('wasm'))) throw new Error(`TF.js backend 'wasm' failed to initialise (binaries looked up in ${wasmBinaryFolder()})`);
  await tf.ready();
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
  const threads = wasm.getThreadsCount();
  return `wasm (XNNPACK, ${simd ? 'SIMD' : 'no SIMD'}, ${threads} thread${threads === 1 ? '' : 's'}) + ${kernels.length} project kernels`;
}

async function loadCpu(): Promise<string> {
  await import('@tensorflow/tfjs-backend-cpu');
  if (!(await tf.setBackend('cpu'))) throw new Error("TF.js backend 'cpu' failed to initialise");
  await tf.ready();
  return 'cpu (pure JS, stock TF.js kernels)';
}


/** Loads @tensorflow/tfjs-node(-gpu) and returns a description; throws why it cannot. */
async function loadTensorflow(pkg: '@tensorflow/tfjs-node' | '@tensorflow/tfjs-node-gpu'): Promise<string> {
  try {
    await import(pkg);
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' || /Cannot find (module|package)/.test((error as Error).message);
    throw new Error(missing
      ? `${pkg} is not installed (an optional dependency: its install downloads libtensorflow, which fails offline)`
      : `${pkg} failed to load: ${(error as Error).message.split('\n')[0]}`);
  }
  if (!(await tf.setBackend('tensorflow'))) throw new Error(`${pkg} loaded but its 'tensorflow' backend failed to initialise`);
  await tf.ready();
  return pkg;
}

async function loadCuda(): Promise<string> {
  await loadTensorflow('@tensorflow/tfjs-node-gpu');
  // tfjs-node's backend records whether libtensorflow found a CUDA device; without one it runs on the CPU.
  const usingGpu = (tf.backend() as unknown as { isUsingGpuDevice?: boolean }).isUsingGpuDevice;
  if (usingGpu === false) throw new Error('@tensorflow/tfjs-node-gpu loaded but libtensorflow found no usable CUDA device (it needs CUDA 11.2 and cuDNN 8)');
  return 'tensorflow (libtensorflow on CUDA, @tensorflow/tfjs-node-gpu)';
}

async function loadTensorflowCpu(): Promise<string> {
  await loadTensorflow('@tensorflow/tfjs-node');
  return 'tensorflow (libtensorflow on the CPU, @tensorflow/tfjs-node)';
}

/** Binds a native object's methods so a Proxy can stand in for it (WebGPU methods check their receiver). */
function bound<T extends object>(target: T, overrides: Partial<T>): T {
  return new Proxy(target, {
    get(t, key) {
      if (key in overrides) return overrides[key as keyof T];
      const value = Reflect.get(t, key, t) as unknown;
      return typeof value === 'function' ? value.bind(t) : value;
    },
  });
}

/**
 * tfjs-backend-webgpu 4.22 asks for `requiredFeatures: [['bgra8unorm-storage']]` (an array inside the list), which
 * stricter WebGPU implementations reject; this GPU object flattens the list before the device is requested.
 */
function flatFeatureRequests(gpu: GPU): GPU {
  return bound(gpu, {
    requestAdapter: async (options?: GPURequestAdapterOptions) => {
      const adapter = await gpu.requestAdapter(options);
      if (!adapter) return adapter;
      return bound(adapter, {
        requestDevice: (descriptor?: GPUDeviceDescriptor) =>
          adapter.requestDevice(descriptor && { ...descriptor, requiredFeatures: descriptor.requiredFeatures && [...descriptor.requiredFeatures].flat() as GPUFeatureName[] }),
      });
    },
  });
}

async function loadWebgpu(): Promise<string> {
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const gpu = create([]);
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter: Dawn found no Vulkan driver (on a machine without a GPU, install Debian\'s chromium and libvulkan1 and set VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json)');
  // tfjs-backend-webgpu registers itself only if navigator.gpu exists when it is imported.
  Object.defineProperty(globalThis, 'navigator', { value: { ...(globalThis as { navigator?: object }).navigator, gpu: flatFeatureRequests(gpu) }, configurable: true, writable: true });
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('TF.js backend \'webgpu\' failed to initialise');
  await tf.ready();
  const info = adapter.info;
  return `webgpu (${info.vendor || 'unknown vendor'} ${info.device || info.description || ''}, ${info.architecture || ''} via Dawn)`.replace(/\s+/g, ' ');
}

/** Backend name -> loader, tried in this order by `auto` (after `cuda` and `tensorflow`, the fast CPU path). */
const LOADERS: Readonly<Record<string, BackendLoader>> = Object.freeze({
  cuda: loadCuda,
  tensorflow: loadTensorflowCpu,
  wasm: loadWasm,
  webgpu: loadWebgpu,
  cpu: loadCpu,
});

/** What `auto` tries, in order: CUDA, libtensorflow on the CPU, then the project's fast wasm path. */
export const AUTO_ORDER = Object.freeze(['cuda', 'tensorflow', 'wasm'] as const);

/** The backend names {@link initBackend} accepts. */
export const BACKEND_NAMES: readonly string[] = Object.freeze(['auto', ...Object.keys(LOADERS)]);

/** What {@link initBackend} set up (plain data: runs store it in their config). */
export interface BackendInfo {
  /** The TF.js backend now active, e.g. `wasm`. */
  name: string;
  /** One line on what runs, e.g. "wasm (XNNPACK, SIMD, 1 thread) + 2 project kernels". */
  description: string;
  /** Backends tried and passed over on the way (with why); empty unless a fallback chain is asked for. */
  skipped: string[];
}

/**
 * Initialises the named TF.js backend in Node and makes it the active one (idempotent).
 * `cuda` and `tensorflow` need the optional @tensorflow/tfjs-node-gpu / @tensorflow/tfjs-node; `wasm` finds its
 * .wasm binaries in node_modules, uses SIMD when the runtime has it and registers the project's training kernels
 * (tools/train/wasm-kernels.ts); `webgpu` runs through Dawn (the `webgpu` package) on any Vulkan driver; `cpu` is
 * the stock pure-JS backend. `auto` tries {@link AUTO_ORDER} and lists why each earlier one was skipped.
 * @throws for an unknown name (listing the valid ones), or a named backend that cannot load (saying why).
 */
export async function initBackend(name: string): Promise<BackendInfo> {
  checkOneOf(name, '--backend', BACKEND_NAMES);
  if (name !== 'auto') {
    try {
      return { name, description: await LOADERS[name]!(), skipped: [] };
    } catch (error) {
      // A named backend that cannot load is an error, never a silent fallback.
      throw invalid('a TF.js backend that loads', '--backend', name, { hint: (error as Error).message });
    }
  }
  const skipped: string[] = [];
  for (const candidate of AUTO_ORDER) {
    try {
      return { name: candidate, description: await LOADERS[candidate]!(), skipped };
    } catch (error) {
      skipped.push(`${candidate}: ${(error as Error).message}`);
    }
  }
  throw new Error(`No TF.js backend could be loaded: ${skipped.join('; ')}`);
}
