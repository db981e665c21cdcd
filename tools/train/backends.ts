// The one place that loads TF.js backends: a frozen table from backend name to a loader that initialises it.
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
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

/** Backend name -> loader. `auto`, `cuda`, `tensorflow` and `webgpu` are to come. */
const LOADERS: Readonly<Record<string, BackendLoader>> = Object.freeze({
  wasm: loadWasm,
  cpu: loadCpu,
});

/** The backend names {@link initBackend} accepts. */
export const BACKEND_NAMES: readonly string[] = Object.freeze(Object.keys(LOADERS));

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
 * `wasm` finds its .wasm binaries in node_modules, uses SIMD when the runtime has it and registers the
 * project's training kernels (tools/train/wasm-kernels.ts); `cpu` is the stock pure-JS backend.
 * @throws for an unknown name, listing the valid ones.
 */
export async function initBackend(name: string): Promise<BackendInfo> {
  const loader = Object.hasOwn(LOADERS, name) ? LOADERS[name] : undefined;
  if (loader === undefined) {
    throw new Error(`Unknown TF.js backend "${name}"; expected one of: ${BACKEND_NAMES.join(', ')}`);
  }
  return { name, description: await loader(), skipped: [] };
}
