// The one file that imports onnxruntime-node: availability checks known before a device starts and the backend the core Denoiser runs on (the device table, node-devices.ts, is re-exported).
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { type DenoiserBackend, type OpenedSession, openSession as openBackendSession } from 'onnx-denoiser-common';
import { gpuDeviceNodes } from './gpu-nodes.js';
import { defaultCpuThreads } from './cpu-cores.js';
import { NODE_DEVICES } from './node-devices.js';
import { disableOrtTelemetry } from './ort-telemetry.js';
import { laneThreadAvailable, MAX_LANES, SessionPool } from './session-pool.js';

export { NODE_DEVICES };

const require = createRequire(import.meta.url);

// Before any session: onnxruntime reads it then (see disableOrtTelemetry).
disableOrtTelemetry();

/** Folder holding onnxruntime-node's native binaries (where its installer puts the CUDA provider). */
export function ortBinaryFolder(): string {
  const packageRoot = path.dirname(require.resolve('onnxruntime-node/package.json'));
  return path.join(packageRoot, 'bin', 'napi-v6', process.platform, process.arch);
}

const CUDA_LIBRARY = 'libonnxruntime_providers_cuda.so';

/** Why CUDA cannot be used before trying it, or undefined when its provider binaries are installed. */
function cudaMissing(): string | undefined {
  const folder = ortBinaryFolder();
  if (process.platform !== 'linux' && process.platform !== 'win32') return `onnxruntime-node has no CUDA provider for ${process.platform}`;
  const library = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : CUDA_LIBRARY;
  if (existsSync(path.join(folder, library))) return undefined;
  return `the CUDA provider is not installed (${library} is not in ${folder}; on a machine with CUDA 12, run ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install)`;
}

/**
 * Why `auto` should pass over WebGPU although it would start: the Vulkan drivers named in VK_ICD_FILENAMES /
 * VK_DRIVER_FILES are all CPU emulations (SwiftShader, lavapipe), far slower than the CPU provider (measured here:
 * about 0.03 MP/s against 11). Undefined when a real driver may be used. A named `webgpu` device still runs on them.
 */
function softwareVulkanOnly(): string | undefined {
  const list = process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES;
  if (!list) return undefined;
  const files = list.split(path.delimiter).filter(Boolean);
  if (files.length === 0 || !files.every((f) => /swiftshader|lvp_icd|lavapipe/i.test(f))) return undefined;
  return `the only Vulkan driver named (${files.join(', ')}) is a CPU emulation, far slower than the CPU provider; ask for --device webgpu to use it anyway`;
}

/**
 * On Linux, why no GPU can be behind a WebGPU adapter: no GPU device node exists (/dev/dri/renderD*, /dev/nvidia*,
 * /dev/dxg). Then `auto` skips WebGPU without starting Dawn, which is slow to fail and prints driver noise.
 * Undefined elsewhere, when a node exists, or when VK_ICD_FILENAMES / VK_DRIVER_FILES pick drivers explicitly.
 */
function noGpuDeviceNode(): string | undefined {
  if (process.platform !== 'linux' || process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES || gpuDeviceNodes().length > 0) return undefined;
  return 'no GPU here (no /dev/dri/renderD*, /dev/nvidia* or /dev/dxg device node); without a GPU, WebGPU can run on a CPU emulation: install Debian\'s chromium and libvulkan1, set VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json and ask for the webgpu device';
}

/**
 * Why Dawn cannot find a Vulkan driver, known without starting it (Dawn prints several lines of its own to stderr
 * before it fails): VK_ICD_FILENAMES / VK_DRIVER_FILES naming only files that do not exist, or no Vulkan loader
 * (libvulkan.so.1) on Linux. Undefined when neither is known to be missing.
 */
function vulkanMissing(): string | undefined {
  if (process.platform !== 'linux') return undefined;
  const variable = process.env.VK_ICD_FILENAMES ? 'VK_ICD_FILENAMES' : process.env.VK_DRIVER_FILES ? 'VK_DRIVER_FILES' : undefined;
  if (variable) {
    const files = process.env[variable]!.split(path.delimiter).filter(Boolean);
    if (files.length > 0 && !files.some((f) => existsSync(f))) return `no Vulkan driver: the file${files.length === 1 ? '' : 's'} ${variable} names (${files.join(', ')}) do${files.length === 1 ? 'es' : ''} not exist`;
  }
  if (!vulkanLoaderInstalled()) return 'the Vulkan loader libvulkan.so.1 is not installed (Debian: apt-get install libvulkan1), so Dawn cannot start';
  return undefined;
}

/** Whether libvulkan.so.1 can be found: in the linker cache or in LD_LIBRARY_PATH (true when that cannot be told). */
function vulkanLoaderInstalled(): boolean {
  const name = 'libvulkan.so.1';
  if ((process.env.LD_LIBRARY_PATH ?? '').split(path.delimiter).some((d) => d && existsSync(path.join(d, name)))) return true;
  let cache: Buffer;
  try {
    cache = readFileSync('/etc/ld.so.cache');
  } catch {
    return true;
  }
  return cache.includes(name);
}

/** The default intra-op thread count, counted once per process. */
let cpuThreads: { count: number | undefined } | undefined;

/** The threads a session setting asks for, or the default (one per physical core; undefined where not countable). */
function sessionThreads(threads: number | undefined): number | undefined {
  return threads ?? (cpuThreads ??= { count: defaultCpuThreads() }).count;
}

/** What a Node session may be opened with besides its device. */
export interface NodeSessionSettings {
  /** The CPU provider's intra-op threads; undefined: one per physical core ({@link defaultCpuThreads}). */
  threads?: number;
  /**
   * onnxruntime's memory pattern (default on): it records each input shape's allocations on the shape's first run
   * and plans them on later runs, which then cost less, but the second run of each shape costs more than without
   * it. A long-lived Denoiser runs the same shapes again and again: a 28x28 run took about 5% less time with it
   * (alternating with a session without it, 2026-12-08). The CLI runs each tile shape of a photo a few times and
   * turns it off: six alternating pairs of CLI runs gave medians of 2.33 s without it against 2.39 s with it for a
   * 4096x4096 PNG, 2.04 against 2.08 s for a 2400x1600 JPEG photo; a 560x560 photo tile's first runs took 209-268,
   * 169-218, then 94-102 ms with it, against 205-312, 156-160, then 92-98 without.
   */
  memoryPattern?: boolean;
  /**
   * Whether onnxruntime's idle intra-op threads spin, waiting for work (its default, on). Spinning answers the next
   * operator sooner: a 28x28 run was about 15% slower without it (alternating with a spinning session). But a spinning thread holds its core, and a thread
   * that works beside the model (the CLI's PNG compression on the thread pool) then slows every operator of a run:
   * a 4096x4096 image took 1.99 to 2.17 s with its PNG compressed alongside, against 1.41 to 1.69 s alone; without
   * spinning 1.42 to 1.57 s alongside. The CLI turns it off.
   */
  spinning?: boolean;
}

/** onnxruntime-node for the core Denoiser, with {@link NodeSessionSettings}. */
export const NODE_BACKEND: DenoiserBackend<NodeSessionSettings> = {
  runtime: 'onnxruntime-node',
  devices: NODE_DEVICES,
  probe(device, auto) {
    if (device === 'cuda') return { missing: cudaMissing() };
    // Known failures are reported without starting Dawn, which would print its own lines first.
    if (device === 'webgpu') return { missing: (auto ? softwareVulkanOnly() : undefined) ?? noGpuDeviceNode() ?? vulkanMissing() };
    return {};
  },
  createSession(bytes, options, { threads, memoryPattern = true, spinning = true }) {
    const executionProviders = [...options.executionProviders] as ort.InferenceSession.ExecutionProviderConfig[];
    const intraOpNumThreads = sessionThreads(threads);
    return ort.InferenceSession.create(bytes, {
      ...options,
      executionProviders,
      enableMemPattern: memoryPattern,
      ...(intraOpNumThreads === undefined ? {} : { intraOpNumThreads }),
      ...(spinning ? {} : { extra: { session: { intra_op: { allow_spinning: '0' } } } }),
    });
  },
  tensor: (data, dims) => new ort.Tensor('float32', data, dims),
  parallelRuns(bytes, device, options, settings, fallback) {
    const threads = sessionThreads(settings.threads);
    if (device !== 'cpu' || threads === undefined || threads < 2 || !laneThreadAvailable()) return undefined;
    const lanes = Math.min(threads, MAX_LANES);
    return new SessionPool(lanes, { bytes, options, settings: { ...settings, threads: Math.floor(threads / lanes) } }, fallback);
  },
  // Measured: 256 28x28 images 16.4 to 16.8 ms with the core's buffer against 17.9 to 19.0 ms without; GPU providers keep their own.
  preallocateOutput: (device) => device === 'cpu',
  // The CPU provider is always there: when it does not start, the model is at fault.
  modelAtFault: (device) => device === 'cpu',
  startFailure(device, message) {
    if (device !== 'webgpu' || !/adapter/i.test(message)) return undefined;
    return 'no WebGPU adapter (Dawn found no usable Vulkan driver; without a GPU, install Debian\'s chromium and libvulkan1 and set VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json)';
  },
};

/** Options for {@link openSession}. */
export interface SessionOptions {
  /** `auto` or a name in {@link NODE_DEVICES}. */
  device: string;
  /** Intra-op threads for the CPU provider; undefined: one per physical core ({@link defaultCpuThreads}). */
  threads?: number;
  /** How the caller names the device argument in messages (default "device"). */
  argument?: string;
}

/**
 * Creates an onnxruntime session for `model` on the requested device (`auto`: CUDA when its provider is installed
 * and starts, then WebGPU when a GPU device node and an adapter exist and the adapter is no CPU emulation, then
 * the CPU, recording why each was skipped).
 * @throws ValidationError for an unknown device name or a named device that is unavailable; SessionModelError
 * for a model onnxruntime cannot load.
 */
export function openSession(model: Uint8Array, options: SessionOptions): Promise<OpenedSession> {
  return openBackendSession(NODE_BACKEND, model, options.device, { threads: options.threads }, options.argument);
}

/** The raw onnxruntime API for the benchmark's baseline (nothing else should need it). */
export const rawOrt = { InferenceSession: ort.InferenceSession, Tensor: ort.Tensor };
