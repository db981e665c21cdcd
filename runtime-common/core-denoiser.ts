// The Denoiser both runtimes share: option checks, model loading through the runtime's I/O, the session on its backend, the checked model runs, disposal.
import { type DenoiserBackend, type OpenedSession, openSession, SessionModelError } from './backend.js';
import { type BatchSettings, checkTileSettings, type DenoiseHooks, denoiseBatch, denoiseImage, type InferFunction, type TileSettings } from './denoise-core.js';
import { checkDeviceName, type Devices } from './devices.js';
import type { PixelArray, PixelImage } from './image-ops.js';
import { checkModelOutput, describeModel, type ModelInfo, readOnnxMetadata } from './model-info.js';
import { ModelFormatError } from './model-metadata.js';
import { DEFAULT_MODEL_NAME, isModelName } from './shipped-models.js';
import { check, checkKnownKeys, checkObject, described, invalid, invalidMessage } from './validate.js';

/** The tile options both runtimes' `Denoiser.create` take. */
export interface TileOptions {
  /** Tile side in pixels for large images (default 512, plus the overlap; 0 runs every image whole). */
  tile?: number;
  /** Overlap between tiles in pixels (default: twice the receptive-field radius plus 2, aligned; the radius of DEFAULT_RECEPTIVE_FIELD, 32, when the model states none). */
  overlap?: number;
}

/** What {@link checkDenoiserOptions} returns. */
export interface CheckedOptions {
  /** `auto` or a name in the device table. */
  device: string;
  tiles: TileSettings;
}

/**
 * Checks what both runtimes' options share: an object with only the keys `keys`, a device name of `devices`
 * (default `auto`; `deviceArgument` names it in messages) and the tile settings.
 * @throws ValidationError naming the first thing that is wrong.
 */
export function checkDenoiserOptions(options: unknown, keys: readonly string[], devices: Devices, deviceArgument = 'options.device'): CheckedOptions {
  const object = checkObject(options, 'options');
  checkKnownKeys(object, 'options', keys);
  const device = checkDeviceName(object.device ?? 'auto', devices, deviceArgument);
  const tiles = checkTileSettings({ tile: object.tile as number | undefined, overlap: object.overlap as number | undefined }, 'options');
  return { device, tiles };
}

/** A model's bytes and where they came from (a path, a URL, "model bytes"), for messages. */
export interface ModelBytes {
  bytes: Uint8Array;
  source: string;
}

/** A runtime's model I/O: where shipped models live, and how a location (a path, a URL) is read. */
export interface ModelReader {
  /** Where the shipped model `name` lives; throws the standard error naming `argument` for an unknown name. */
  shippedLocation(name: string, argument: string): string;
  /** Reads the model at `location`; `shipped`: it is a shipped model's. Throws a ValidationError naming `argument`. */
  read(location: string, shipped: boolean, argument: string): Promise<ModelBytes>;
}

/** Reads the `model` option: bytes as they are, a bare name as a shipped model (default the first), anything else as a location. */
export async function loadModel(model: string | URL | ArrayBuffer | Uint8Array | undefined, argument: string, reader: ModelReader): Promise<ModelBytes> {
  if (model instanceof Uint8Array) return { bytes: model, source: 'model bytes' };
  if (model instanceof ArrayBuffer) return { bytes: new Uint8Array(model), source: 'model bytes' };
  // A bare name ("residual-denoiser") is a shipped model; anything else is a path or URL.
  if (model === undefined || (typeof model === 'string' && isModelName(model))) return reader.read(reader.shippedLocation(model ?? DEFAULT_MODEL_NAME, argument), true, argument);
  return reader.read(String(model), false, argument);
}

/** A model opened on a backend: its session and what its tensors and metadata say. */
export interface OpenedModel {
  session: OpenedSession;
  model: ModelInfo;
}

/** Options for {@link openModel}. */
export interface OpenModelOptions<S> {
  /** `auto` or a name in the backend's device table. */
  device: string;
  /** How messages name the device argument. */
  deviceArgument: string;
  /** The backend's own session settings. */
  settings: S;
  /** Checked between the steps: once aborted, the call rejects with its reason. */
  signal?: AbortSignal;
}

/**
 * Reads a model's metadata, opens it on the backend and describes it.
 * @throws ModelFormatError for bytes that are not an ONNX denoiser or a graph onnxruntime rejects; ValidationError
 * for a named device that is unavailable; DeviceUnavailableError when `auto` opens none.
 */
export async function openModel<S>(backend: DenoiserBackend<S>, { bytes, source }: ModelBytes, options: OpenModelOptions<S>): Promise<OpenedModel> {
  const metadata = readOnnxMetadata(bytes, source);
  options.signal?.throwIfAborted();
  let session: OpenedSession;
  try {
    session = await openSession(backend, bytes, options.device, options.settings, options.deviceArgument);
  } catch (error) {
    if (!(error instanceof SessionModelError)) throw error;
    throw new ModelFormatError(invalidMessage(`an ONNX model ${backend.runtime} can load`, source, described('one it rejects'), error.message), source);
  }
  try {
    const model = describeModel(session.inputs, session.outputs, metadata, source);
    options.signal?.throwIfAborted();
    return { session, model };
  } catch (error) {
    await session.release();
    throw error;
  }
}

/**
 * What every runtime's `Denoiser` is: a model on one device, its tile settings, checked model runs (queued, so one
 * instance serves concurrent calls), `runTensor` and `dispose`. A runtime's Denoiser extends it with its own
 * `create` (options and model I/O) and image methods.
 */
export class CoreDenoiser {
  /** The device in use. */
  readonly device: string;
  /** Devices `auto` skipped, each with why. */
  readonly skipped: readonly string[];
  /** What the model's tensors and metadata say. */
  readonly model: ModelInfo;
  /** Tile side and overlap used for large images. */
  readonly tiles: TileSettings;
  readonly #session: OpenedSession;
  readonly #infer: InferFunction;
  #disposed = false;

  protected constructor({ session, model }: OpenedModel, tiles: TileSettings) {
    this.#session = session;
    this.device = session.device;
    this.skipped = Object.freeze([...session.skipped]);
    this.model = model;
    this.tiles = tiles;
    // Every run's output is checked: a foreign model may return another shape, or NaN, for its free dimensions.
    this.#infer = async (input, dims) => {
      this.checkLive();
      return checkModelOutput(model.source, dims, await session.run(model.inputName, model.outputName, input, dims));
    };
  }

  /** Runs the model on an NCHW tensor as it is (no pixel conversion): for benchmarks and tests. */
  async runTensor(input: Float32Array, dims: readonly [number, number, number, number]): Promise<Float32Array> {
    check(input instanceof Float32Array, 'a Float32Array', 'input', input);
    const valid = Array.isArray(dims) && dims.length === 4 && dims.every((d) => Number.isInteger(d) && d > 0) && dims.reduce((a, b) => a * b, 1) === input.length;
    check(valid, `4 positive dimensions whose product is ${input.length}`, 'dims', dims);
    return this.#infer(input, dims);
  }

  /** Releases the onnxruntime session; calling it again does nothing. Calls after it throw a ValidationError. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await this.#session.release();
  }

  /** Throws the standard error once {@link dispose} was called. */
  protected checkLive(): void {
    if (this.#disposed) throw invalid('a Denoiser that is not disposed', 'this call', described(`one whose dispose() was called (model ${this.model.source})`), { hint: 'create a new one', argument: 'denoiser' });
  }

  /** Denoises one checked image (see denoiseImage). */
  protected denoiseChecked<T extends PixelArray>(image: PixelImage<T>, hooks?: DenoiseHooks): Promise<PixelImage<T>> {
    return denoiseImage(image, this.model, this.#infer, this.tiles, hooks);
  }

  /** Denoises checked images, stacking same-size small ones into runs of at most `maxBatchValues` values (see denoiseBatch). */
  protected denoiseCheckedBatch<T extends PixelArray>(images: readonly PixelImage<T>[], maxBatchValues: number): Promise<PixelImage<T>[]> {
    const settings: BatchSettings = { ...this.tiles, maxBatchValues };
    return denoiseBatch(images, this.model, this.#infer, settings);
  }
}
