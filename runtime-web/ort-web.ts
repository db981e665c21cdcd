// The one file that imports onnxruntime-web: the browser device table, WebGPU adapter checks, where the wasm files live, session creation and serialized runs.
import * as ort from 'onnxruntime-web';
import { assetsUrl } from './assets.js';
import { chooseDevice, defineDevices, DeviceUnavailableError, serialized, type ModelOutput, type TensorDescription } from 'onnx-denoiser-common';

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

/** Finds a WebGPU adapter or says why there is none. */
async function findAdapter(): Promise<GpuAdapterLike> {
  const gpu = (globalThis.navigator as (Navigator & { gpu?: GpuLike }) | undefined)?.gpu;
  if (!gpu) {
    const secure = (globalThis as { isSecureContext?: boolean }).isSecureContext;
    throw new DeviceUnavailableError(
      secure === false ? 'navigator.gpu is missing: WebGPU needs a secure context (https or localhost)' : 'navigator.gpu is missing: this browser has no WebGPU (or it is turned off)',
    );
  }
  let adapter: GpuAdapterLike | null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (error) {
    throw new DeviceUnavailableError(`navigator.gpu.requestAdapter() failed: ${(error as Error).message ?? String(error)}`);
  }
  if (!adapter) throw new DeviceUnavailableError('navigator.gpu.requestAdapter() gave no adapter (no usable GPU, or WebGPU is blocked for it)');
  return adapter;
}

/**
 * Errors that mean the model (not the device) is at fault. On wasm, any error of session creation itself ("Can't
 * create a session") is the model's: the runtime did start.
 */
function isModelError(message: string, device: string): boolean {
  if (device === 'wasm' && message.includes("Can't create a session")) return true;
  return /protobuf|Load model|INVALID_GRAPH|INVALID_PROTOBUF|NO_MODEL|model_load|ModelProto|opset|Type Error|ShapeInferenceError|NOT_IMPLEMENTED|No Op registered|Could not find an implementation/i.test(message);
}

/** First meaningful line of an onnxruntime error. */
function firstLine(error: unknown): string {
  const message = (error as Error)?.message ?? String(error);
  return (message.split('\n').find((l) => l.trim()) ?? message).slice(0, 300);
}

/** A model loaded on a browser device, with runs queued one after another. */
export interface WebSession {
  /** `webgpu` or `wasm`. */
  device: string;
  /** The WebGPU adapter's name when the device is WebGPU. */
  adapter: string | undefined;
  /** `auto`'s skipped devices with reasons. */
  skipped: string[];
  inputs: TensorDescription[];
  outputs: TensorDescription[];
  /** Runs the model on one float32 NCHW tensor; calls are queued so one session never runs two at once. Check the output with checkModelOutput. */
  run(inputName: string, outputName: string, input: Float32Array, dims: readonly number[]): Promise<ModelOutput>;
  release(): Promise<void>;
}

/** Thrown when onnxruntime-web cannot load a model on a device that itself works. */
export class SessionModelError extends Error {
  override name = 'SessionModelError';
}

async function create(model: Uint8Array, device: string): Promise<{ session: ort.InferenceSession; adapter: string | undefined }> {
  configure();
  const adapter = device === 'webgpu' ? adapterName(await findAdapter()) : undefined;
  if (device === 'wasm' && typeof WebAssembly === 'undefined') throw new DeviceUnavailableError('this browser has no WebAssembly');
  try {
    const session = await ort.InferenceSession.create(model, {
      executionProviders: [...WEB_DEVICES.table[device]!.executionProviders],
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
    });
    return { session, adapter };
  } catch (error) {
    const line = firstLine(error);
    if (isModelError(line, device)) throw new SessionModelError(line);
    if (device === 'webgpu') throw new DeviceUnavailableError(`the WebGPU provider failed to start on ${adapter}: ${line}`);
    // onnxruntime-web could not start at all (its wasm files missing or blocked): no other device would do better.
    throw new Error(`onnxruntime-web failed to start (${line}); its wasm files are expected at ${JSON.stringify(ort.env.wasm.wasmPaths)}`);
  }
}

/**
 * Creates an onnxruntime-web session for `model` on `device` (`auto`: WebGPU when an adapter exists and the provider
 * starts, else wasm, recording why WebGPU was skipped).
 * @throws ValidationError for an unknown device name or a named device that is unavailable; SessionModelError for
 * a model onnxruntime-web cannot load.
 */
export async function openSession(model: Uint8Array, device: string, argument = 'device'): Promise<WebSession> {
  const choice = await chooseDevice(device, WEB_DEVICES, (name) => create(model, name), argument);
  const { session, adapter } = choice.value;
  const describe = (m: ort.InferenceSession.ValueMetadata): TensorDescription => ({ name: m.name, isTensor: m.isTensor, ...(m.isTensor ? { type: m.type, shape: m.shape } : {}) });
  return {
    device: choice.device,
    adapter,
    skipped: choice.skipped,
    inputs: session.inputMetadata.map(describe),
    outputs: session.outputMetadata.map(describe),
    run: (inputName: string, outputName: string, input: Float32Array, dims: readonly number[]) =>
      pageQueue(async () => {
        const result = await session.run({ [inputName]: new ort.Tensor('float32', input, dims) });
        const output = result[outputName]!;
        return { data: output.data, dims: output.dims };
      }) as ReturnType<WebSession['run']>,
    release: () => session.release(),
  };
}
