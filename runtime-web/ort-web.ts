// The one file that imports onnxruntime-web: the browser device table, WebGPU adapter checks, where the wasm files live, and the backend the core Denoiser runs on (one run queue per page).
import * as ort from 'onnxruntime-web';
import { assetsUrl } from './assets.js';
import { type DenoiserBackend, defineDevices, type DeviceProbe, firstLine, type OpenedSession, openSession as openBackendSession, serialized } from 'onnx-denoiser-common';

/**
 * Browser devices: name -> execution providers. `auto` tries WebGPU (when `navigator.gpu` gives an adapter), then
 * the wasm CPU provider. Both run on the same onnxruntime-web build (the default import, whose WebGPU provider is
 * the JSEP one), so one wasm binary serves both.
 */
export const WEB_DEVICES = defineDevices(
  {
    webgpu: { executionProviders: ['webgpu'], description: 'WebGPU (onnxruntime-web WebGPU execution provider)' },
    wasm: { executionProviders: ['wasm'], description: 'CPU (onnxruntime-web WebAssembly execution provider, SIMD, threads when the page is cross-origin isolated)' },
  },
  ['webgpu', 'wasm'],
);

/** Folder of onnxruntime-web's wasm glue and binary, relative to the built bundle (the build copies them there). */
export const ORT_FILES_FOLDER = 'ort/';

let configured = false;

/**
 * onnxruntime-web's one wasm instance runs one session at a time: runs of two sessions that interleave (two models
 * on one page, e.g. a Denoiser and a <denoise-image>) fail with "Session mismatch" or "Session already started".
 * Every session on the page queues its runs here.
 */
const pageQueue = serialized((task: () => Promise<unknown>) => task());

/**
 * Points onnxruntime-web at the wasm files served next to this bundle (never a CDN), once, unless the host page
 * already set `ort.env.wasm.wasmPaths`: ort.env is the host's (the log level too; each session quiets its own
 * expected warnings, such as "some nodes were not assigned to the preferred execution providers").
 */
function configure(): void {
  if (configured) return;
  configured = true;
  if (ort.env.wasm.wasmPaths === undefined) ort.env.wasm.wasmPaths = new URL(ORT_FILES_FOLDER, assetsUrl()).href;
}

interface GpuAdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string };
}
interface GpuLike {
  requestAdapter(): Promise<GpuAdapterLike | null>;
}

/** One line naming a WebGPU adapter from its `info` (vendor, architecture, description), or "unnamed adapter". */
function adapterName(adapter: GpuAdapterLike): string {
  const info = adapter.info ?? {};
  const parts = [info.vendor, info.architecture, info.description || info.device].filter((p): p is string => typeof p === 'string' && p.length > 0);
  return parts.length ? parts.join(' ') : 'unnamed adapter';
}

/** Finds a WebGPU adapter, or says why there is none. */
async function probeWebGpu(): Promise<DeviceProbe> {
  const gpu = (globalThis.navigator as (Navigator & { gpu?: GpuLike }) | undefined)?.gpu;
  if (!gpu) {
    const secure = (globalThis as { isSecureContext?: boolean }).isSecureContext;
    return { missing: secure === false ? 'navigator.gpu is missing: WebGPU needs a secure context (https or localhost)' : 'navigator.gpu is missing: this browser has no WebGPU (or it is turned off)' };
  }
  let adapter: GpuAdapterLike | null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (error) {
    return { missing: `navigator.gpu.requestAdapter() failed: ${(error as Error).message ?? String(error)}` };
  }
  if (!adapter) return { missing: 'navigator.gpu.requestAdapter() gave no adapter (no usable GPU, or WebGPU is blocked for it)' };
  return { adapter: adapterName(adapter) };
}

/** onnxruntime-web for the core Denoiser: every session on the page queues its runs on one queue. */
export const WEB_BACKEND: DenoiserBackend = {
  runtime: 'onnxruntime-web',
  devices: WEB_DEVICES,
  probe(device) {
    if (device === 'webgpu') return probeWebGpu();
    return typeof WebAssembly === 'undefined' ? { missing: 'this browser has no WebAssembly' } : {};
  },
  createSession(bytes, options) {
    configure();
    return ort.InferenceSession.create(bytes, options);
  },
  tensor: (data, dims) => new ort.Tensor('float32', data, dims),
  // On wasm, an error of session creation itself is the model's: the runtime did start.
  modelAtFault: (device, message) => device === 'wasm' && message.includes("Can't create a session"),
  startFailure(device, message, probe) {
    if (device === 'webgpu') return `the WebGPU provider failed to start on ${probe.adapter}: ${firstLine(message)}`;
    // onnxruntime-web could not start at all: its wasm files missing or blocked.
    return `onnxruntime-web failed to start (${firstLine(message)}); its wasm files are expected at ${JSON.stringify(ort.env.wasm.wasmPaths)}`;
  },
  queue: (task) => pageQueue(task) as ReturnType<typeof task>,
};

/**
 * Creates an onnxruntime-web session for `model` on `device` (`auto`: WebGPU when an adapter exists and the provider
 * starts, else wasm, recording why WebGPU was skipped).
 * @throws ValidationError for an unknown device name or a named device that is unavailable; SessionModelError for
 * a model onnxruntime-web cannot load.
 */
export function openSession(model: Uint8Array, device: string, argument = 'device'): Promise<OpenedSession> {
  return openBackendSession(WEB_BACKEND, model, device, undefined, argument);
}
