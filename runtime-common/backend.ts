// What a runtime's one onnxruntime-importing file supplies (a backend), and the shared session opening on it: device resolution, error mapping, queued runs.
import { chooseDevice, type Devices, DeviceUnavailableError } from './devices.js';
import type { ModelOutput, TensorDescription } from './model-info.js';
import { serialized } from './serial.js';

/** The session options every backend gets from the core: the device's execution providers, full graph optimisation, a quiet session log. */
export interface BaseSessionOptions {
  executionProviders: readonly string[];
  graphOptimizationLevel: 'all';
  /** 3 (errors only) quiets expected warnings such as "some nodes were not assigned to the preferred execution providers"; ort.env stays the host's. */
  logSeverityLevel: 3;
}

/** The part of an onnxruntime `InferenceSession` the core uses (onnxruntime-node's and onnxruntime-web's both fit). */
export interface OrtSessionLike {
  readonly inputMetadata: readonly TensorDescription[];
  readonly outputMetadata: readonly TensorDescription[];
  /** `fetches`: output tensors to write into (pre-allocated), by name. */
  run(feeds: Record<string, unknown>, fetches?: Record<string, unknown>): Promise<Record<string, ModelOutput>>;
  release(): Promise<void>;
}

/** What a backend knows about a device before starting it. */
export interface DeviceProbe {
  /** Why the device cannot be used here; undefined: try it. */
  missing?: string;
  /** The GPU adapter's name, where the backend found one. */
  adapter?: string;
}

/**
 * One runtime's onnxruntime binding: its device table, checks known before a device starts, session creation and
 * the input tensor. `S` is what the runtime's callers may set per session (onnxruntime-node: CPU threads).
 */
export interface DenoiserBackend<S = undefined> {
  /** The onnxruntime package, for messages: "onnxruntime-node", "onnxruntime-web". */
  readonly runtime: string;
  readonly devices: Readonly<Devices>;
  /** Checks `device` before starting it; `auto`: whether `auto` is choosing (a backend may pass over a device auto should not take). */
  probe?(device: string, auto: boolean): DeviceProbe | Promise<DeviceProbe>;
  /** Creates an onnxruntime session for the model bytes. */
  createSession(bytes: Uint8Array, options: BaseSessionOptions, settings: S): Promise<OrtSessionLike>;
  /** The float32 NCHW input tensor of the runtime's `ort.Tensor`. */
  tensor(data: Float32Array, dims: readonly number[]): unknown;
  /** Whether a failed start on `device` is the model's fault, beyond the messages {@link isModelError} knows. */
  modelAtFault?(device: string, message: string): boolean;
  /** The reason to give for `device` when its session did not start and the model is not at fault; undefined: "<device> failed to start: <first line>". */
  startFailure?(device: string, message: string, probe: DeviceProbe): string | undefined;
  /**
   * Whether runs on `device` should write into an output tensor the core allocates (onnxruntime-node's CPU provider:
   * it then skips allocating its own output and copying it into a new JS buffer, about 10% of a 256-image batch).
   */
  preallocateOutput?(device: string): boolean;
  /** Queue shared by all of the backend's sessions (onnxruntime-web: one wasm instance per page); default: one queue per session. */
  queue?<R>(task: () => Promise<R>): Promise<R>;
  /**
   * Sessions for runs side by side on `device` (see {@link OpenedSession.parallel}), or undefined where runs go one at
   * a time. `fallback` runs on the session opened: for runs the pool cannot take (while it starts, once it failed).
   */
  parallelRuns?(bytes: Uint8Array, device: string, options: BaseSessionOptions, settings: S, fallback: ParallelRuns['run']): PooledRuns | undefined;
}

/** Model runs that may go side by side: up to `lanes` at once, each on a session of its own. */
export interface ParallelRuns {
  /** How many runs progress at once (2 or more). */
  readonly lanes: number;
  /**
   * Runs the model on float32 NCHW tensors, on a free lane (queued while none is). The output is an array of its own
   * (never a feed's: the caller reuses the feeds once the run has settled, while it still holds outputs). Check it
   * with checkModelOutput.
   */
  run(feeds: readonly NamedTensor[], outputName: string): Promise<ModelOutput>;
  /** Starts the lanes now, where they start on their first run otherwise: for a caller that knows tiles will come. */
  start?(): void;
}

/** {@link ParallelRuns} with the sessions behind them to release. */
export interface PooledRuns extends ParallelRuns {
  release(): Promise<void>;
}

/**
 * Outputs smaller than this (values) are left to the runtime: for a 28x28 image the given tensor costs onnxruntime-node
 * about 2 us more per run (its fetch checks) than allocating 3 KB saves; from a 256-image batch of them on it pays.
 */
export const PREALLOCATE_FROM = 65_536;

/** Input shapes remembered per session as keeping their size (a server fed many sizes starts over past this). */
const MAX_SHAPES = 256;

/** A model loaded on a device, with runs queued one after another. */
export interface OpenedSession {
  /** The device that opened. */
  device: string;
  /** The GPU adapter's name where the backend reports one. */
  adapter: string | undefined;
  /** Devices `auto` tried first, each with why it was skipped. */
  skipped: string[];
  inputs: TensorDescription[];
  outputs: TensorDescription[];
  /** Whether runs may write into a given output array (of {@link PREALLOCATE_FROM} values or more): callers need not make one otherwise. */
  takesOutput: boolean;
  /** Runs the model on float32 NCHW tensors (the image, and a noise map where the model takes one); calls are queued so one session never runs two at once. `output`: an array of the image's size to write the result into, where the backend can (the result's data is then that array). Check the output with checkModelOutput. */
  run(feeds: readonly NamedTensor[], outputName: string, output?: Float32Array): Promise<ModelOutput>;
  /**
   * Where the backend has them: sessions that run side by side (onnxruntime-node's CPU provider, a session per core
   * on a thread of its own), for the tiles of a large image and the parts of a large batch; undefined: one run at a time.
   */
  parallel?: ParallelRuns;
  release(): Promise<void>;
}

/** A float32 tensor fed to a model input by name. */
export interface NamedTensor {
  name: string;
  data: Float32Array;
  dims: readonly number[];
}

/** Thrown when onnxruntime cannot load a model on a device that itself works. */
export class SessionModelError extends Error {
  override name = 'SessionModelError';
}

/** Whether an onnxruntime message (node or web) says the model, not the device, is at fault. */
export function isModelError(message: string): boolean {
  return /protobuf|Load model|INVALID_GRAPH|INVALID_PROTOBUF|NO_MODEL|model_load|ModelProto|opset|Type Error|ShapeInferenceError|NOT_IMPLEMENTED|No Op registered|Could not find an implementation/i.test(message);
}

/** The first non-blank line of an error's message, at most 300 characters. */
export function firstLine(error: unknown): string {
  const message = (error as Error)?.message ?? String(error);
  return (message.split('\n').find((l) => l.trim()) ?? message).slice(0, 300);
}

type Queue = <R>(task: () => Promise<R>) => Promise<R>;

function plainDescription(m: TensorDescription): TensorDescription {
  return { name: m.name, isTensor: m.isTensor, ...(m.isTensor ? { type: m.type, shape: m.shape } : {}) };
}

/** The options every session on `device` gets. */
function sessionOptions(devices: Readonly<Devices>, device: string): BaseSessionOptions {
  return { executionProviders: devices.table[device]!.executionProviders, graphOptimizationLevel: 'all', logSeverityLevel: 3 };
}

async function start<S>(backend: DenoiserBackend<S>, bytes: Uint8Array, device: string, auto: boolean, settings: S): Promise<{ session: OrtSessionLike; adapter: string | undefined }> {
  const probe = (await backend.probe?.(device, auto)) ?? {};
  if (probe.missing) throw new DeviceUnavailableError(probe.missing);
  const options = sessionOptions(backend.devices, device);
  try {
    return { session: await backend.createSession(bytes, options, settings), adapter: probe.adapter };
  } catch (error) {
    const message = (error as Error)?.message ?? String(error);
    if (isModelError(message) || backend.modelAtFault?.(device, message)) throw new SessionModelError(firstLine(error));
    // Log lines start with "[E:onnxruntime:...] ": the reason is what follows.
    throw new DeviceUnavailableError(backend.startFailure?.(device, message, probe) ?? `${device} failed to start: ${firstLine(error).replace(/^.*?\] /, '')}`);
  }
}

/**
 * Opens `bytes` on `device` of the backend (`auto`: the devices of its auto order in turn, recording why each was
 * skipped).
 * @throws ValidationError for an unknown device name or a named device that is unavailable (`argument` names it);
 * DeviceUnavailableError listing every device's reason when `auto` finds none; SessionModelError for a model
 * onnxruntime cannot load.
 */
export async function openSession<S>(backend: DenoiserBackend<S>, bytes: Uint8Array, device: string, settings: S, argument = 'device'): Promise<OpenedSession> {
  const choice = await chooseDevice(device, backend.devices, (name) => start(backend, bytes, name, device === 'auto', settings), argument);
  const { session, adapter } = choice.value;
  const queue = backend.queue ? backend.queue.bind(backend) : (serialized((task: () => Promise<unknown>) => task()) as Queue);
  const preallocate = backend.preallocateOutput?.(choice.device) ?? false;
  // Input shapes (with the output's name) whose output came out the same shape: only those runs write into a given
  // buffer, so a model that changes the shape never fails with one (onnxruntime would also log the error).
  const sameShape = new Set<string>();
  const run: OpenedSession['run'] = (feeds, outputName, output) =>
    queue(async () => {
      const tensors: Record<string, unknown> = {};
      for (const feed of feeds) tensors[feed.name] = backend.tensor(feed.data, feed.dims);
      const image = feeds[0]!;
      const key = preallocate && output?.length === image.data.length && output.length >= PREALLOCATE_FROM ? `${outputName}:${image.dims.join('x')}` : undefined;
      if (key !== undefined && sameShape.has(key)) {
        await session.run(tensors, { [outputName]: backend.tensor(output!, image.dims) });
        return { data: output!, dims: image.dims };
      }
      const result = (await session.run(tensors))[outputName]!;
      if (key !== undefined && result.dims.length === image.dims.length && result.dims.every((d, i) => d === image.dims[i])) {
        if (sameShape.size >= MAX_SHAPES) sameShape.clear();
        sameShape.add(key);
      }
      return { data: result.data, dims: result.dims };
    });
  const options = sessionOptions(backend.devices, choice.device);
  const parallel = backend.parallelRuns?.(bytes, choice.device, options, settings, (feeds, outputName) => run(feeds, outputName));
  return {
    device: choice.device,
    adapter,
    skipped: choice.skipped,
    takesOutput: preallocate,
    inputs: session.inputMetadata.map(plainDescription),
    outputs: session.outputMetadata.map(plainDescription),
    run,
    ...(parallel ? { parallel: { lanes: parallel.lanes, run: (feeds, outputName) => parallel.run(feeds, outputName), start: () => parallel.start?.() } } : {}),
    release: async () => {
      await parallel?.release();
      await session.release();
    },
  };
}
