// The one place that loads TF.js backends: a frozen table from backend name to a loader that initialises it.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { checkInteger, checkOneOf, invalid } from 'onnx-denoiser-common';
import { defaultCpuThreads } from 'onnx-denoiser-node/internal';
import { registerWasmTrainingKernels } from './wasm-kernels.js';

/** Initialises one TF.js backend, makes it the active one and describes what runs. */
type BackendLoader = (options: BackendOptions) => Promise<string>;

/** How a backend runs, where it has a choice. */
export interface BackendOptions {
  /**
   * `wasm` only: XNNPACK threads, 1 to {@link MAX_WASM_THREADS}. Default {@link wasmThreads}. The first
   * initialisation in a process decides (the wasm module is process-wide).
   */
  threads?: number;
}

/** Most threads the wasm backend runs: its build starts a pool of 8 pthread workers. */
export const MAX_WASM_THREADS = 8;

const require = createRequire(import.meta.url);

/** Folder holding tfjs-backend-wasm's .wasm binaries, with a trailing separator as setWasmPaths expects. */
function wasmBinaryFolder(): string {
  // The package's node entry point lives in dist/, next to the three .wasm binaries.
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep;
}

/** The wasm build's Emscripten module: the few members used here. */
interface WasmModule {
  cwrap(name: string, returns: string | null, args: string[]): (...args: number[]) => unknown;
  tfjs?: Record<string, (...args: number[]) => unknown>;
}

/** Emscripten's module factory, with the settings this file passes. */
type WasmFactory = (settings: {
  locateFile(file: string): string;
  mainScriptUrlOrBlob: string;
  instantiateWasm(imports: WebAssembly.Imports, receive: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void): object;
}) => Promise<WasmModule>;

/**
 * XNNPACK threads the wasm backend runs when not told: the physical cores this process may use (two hardware
 * threads of one core gain nothing on its GEMMs), at most {@link MAX_WASM_THREADS}; 1 where they cannot be counted.
 */
export function wasmThreads(): number {
  return Math.min(MAX_WASM_THREADS, defaultCpuThreads() ?? 1);
}

/**
 * tfjs-backend-wasm's threaded SIMD build, started in Node. The package starts that build only in browsers (its
 * thread flag is false under Node, and it hands Emscripten its pthread worker as a Blob URL, which Node's workers
 * cannot load), so this starts it as Emscripten documents: the worker script from a file, and `instantiateWasm`
 * to instantiate the binary. The build sizes its thread pool as half the logical cores it is told of (it takes two
 * hardware threads per core), so it is told twice `threads`.
 */
async function threadedWasmModule(threads: number): Promise<WasmModule> {
  const out = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), '..', 'wasm-out');
  const factory = require(path.join(out, 'tfjs-backend-wasm-threaded-simd.js')) as WasmFactory;
  const { wasmWorkerContents } = require(path.join(out, 'tfjs-backend-wasm-threaded-simd.worker.js')) as { wasmWorkerContents: string };
  const folder = mkdtempSync(path.join(os.tmpdir(), 'onnx-denoiser-wasm-'));
  const workerFile = path.join(folder, 'worker.js');
  // The package keeps the script as a template string whose "\n" escapes became newlines; the script needs them back.
  writeFileSync(workerFile, wasmWorkerContents.replace(/\n/g, '\\n'));
  // Emscripten has no error path out of instantiateWasm: a failed instantiation rejects this instead of hanging.
  let fail!: (error: unknown) => void;
  const failed = new Promise<never>((_, reject) => {
    fail = reject;
  });
  try {
    return await Promise.race([failed, factory({
      locateFile: (file) => (file.endsWith('.worker.js') ? workerFile : path.join(out, file)),
      mainScriptUrlOrBlob: path.join(out, 'tfjs-backend-wasm-threaded-simd.js'),
      instantiateWasm(imports, receive) {
        const env = { ...(imports.env as Record<string, unknown>), emscripten_num_logical_cores: () => 2 * threads };
        WebAssembly.instantiate(readFileSync(path.join(out, 'tfjs-backend-wasm-threaded-simd.wasm')), { ...imports, env })
          .then(({ instance, module }) => receive(instance, module), fail);
        return {};
      },
    })]);
  } finally {
    // The module is ready only once its pool of workers has loaded the script.
    rmSync(folder, { recursive: true, force: true });
  }
}

let wasmPathsSet = false;
/** Whether this process has started the wasm backend: its build and thread count are then fixed. */
let wasmStarted = false;

async function loadWasm(options: BackendOptions): Promise<string> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  if (!wasmPathsSet) {
    // Before the backend's first initialisation (tf.findBackend would start one); setWasmPaths is process-wide.
    wasm.setWasmPaths(wasmBinaryFolder());
    wasmPathsSet = true;
  }
  const threads = options.threads ?? wasmThreads();
  // The threaded build is also a SIMD one.
  if (threads > 1 && !wasmStarted && (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true) {
    // The same backend class and kernels, on the threaded build (the name stays 'wasm': kernels register by name).
    const stock = tf.findBackendFactory('wasm')!;
    tf.removeBackend('wasm');
    tf.registerBackend('wasm', async () => {
      let module: WasmModule;
      try {
        module = await threadedWasmModule(threads);
      } catch {
        // Where Node cannot start the threaded build (no worker threads, no shared memory), the stock one runs.
        return stock();
      }
      module.tfjs = {
        init: module.cwrap('init', null, []),
        initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
        getThreadsCount: module.cwrap('get_threads_count', 'number', []),
        registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
        disposeData: module.cwrap('dispose_data', null, ['number']),
        dispose: module.cwrap('dispose', null, []),
      };
      wasm.setThreadsCount(threads);
      const backend = new wasm.BackendWasm(module as never);
      // XNNPACK's pool threads wait for work forever; they must not keep the process alive once its work is done.
      for (const worker of (module as unknown as { PThread: { runningWorkers: { unref(): void }[] } }).PThread.runningWorkers) worker.unref();
      return backend;
    }, 2);
  }
  wasmStarted = true;
  const kernels = registerWasmTrainingKernels();
  if (!(await tf.setBackend('wasm'))) throw new Error(`TF.js backend 'wasm' failed to initialise (binaries looked up in ${wasmBinaryFolder()})`);
  await tf.ready();
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
  const running = wasm.getThreadsCount();
  return `wasm (XNNPACK, ${simd ? 'SIMD' : 'no SIMD'}, ${running} thread${running === 1 ? '' : 's'}) + ${kernels.length} project kernels`;
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
export async function initBackend(name: string, options: BackendOptions = {}): Promise<BackendInfo> {
  checkOneOf(name, '--backend', BACKEND_NAMES);
  if (options.threads !== undefined) checkInteger(options.threads, '--threads', { min: 1, max: MAX_WASM_THREADS });
  if (name !== 'auto') {
    try {
      return { name, description: await LOADERS[name]!(options), skipped: [] };
    } catch (error) {
      // A named backend that cannot load is an error, never a silent fallback.
      throw invalid('a TF.js backend that loads', '--backend', name, { hint: (error as Error).message });
    }
  }
  const skipped: string[] = [];
  for (const candidate of AUTO_ORDER) {
    try {
      return { name: candidate, description: await LOADERS[candidate]!(options), skipped };
    } catch (error) {
      skipped.push(`${candidate}: ${(error as Error).message}`);
    }
  }
  throw new Error(`No TF.js backend could be loaded: ${skipped.join('; ')}`);
}
