// The browser library: `Denoiser.create(...)` loads an ONNX denoiser on WebGPU or wasm; `denoise` takes browser images and returns ImageData.
import {
  checkTileSettings,
  denoiseImage,
  type InferFunction,
  type TileSettings,
  checkDeviceName,
  checkPixelImage,
  type PixelArray,
  type PixelImage,
  type SameKind,
  checkModelOutput,
  describeModel,
  ModelFormatError,
  type ModelInfo,
  readOnnxMetadata,
  DEFAULT_MODEL_NAME,
  isModelName,
  shippedModel,
  check,
  checkKnownKeys,
  checkObject,
  ValidationError,
} from 'onnx-denoiser-common';
import { readPixels, toImageData } from './browser-image.js';
import { assetsUrl } from './assets.js';
import { fetchBytes } from './fetch-bytes.js';
import { openSession, SessionModelError, WEB_DEVICES, type WebSession } from './ort-web.js';

/** Device names {@link Denoiser.create} accepts. */
export type WebDevice = 'auto' | 'webgpu' | 'wasm';

/** Progress of a download or of the tiles of one image. */
export interface DenoiseProgress {
  /** `model`: bytes of the model downloaded; `tiles`: tiles of the image denoised. */
  stage: 'model' | 'tiles';
  done: number;
  /** Undefined while a download's size is unknown. */
  total: number | undefined;
}

/** Options for {@link Denoiser.create}. */
export interface DenoiserOptions {
  /** A shipped model's name (`noise-reducer`, `residual-denoiser`, ...), the URL of an ONNX model, or its bytes. Default: `photo-denoiser`, copied next to the bundle. */
  model?: string | URL | ArrayBuffer | Uint8Array;
  /** Where to run: `auto` (default) takes WebGPU when `navigator.gpu` gives an adapter, else wasm. */
  device?: WebDevice;
  /** Tile side in pixels for large images (default 512, plus the overlap; 0 runs every image whole). */
  tile?: number;
  /** Overlap between tiles in pixels (default: twice the model's receptive-field radius plus 2, or 32 when unknown). */
  overlap?: number;
  /** Called as the model downloads (`stage: 'model'`, bytes). */
  onProgress?: (progress: DenoiseProgress) => void;
  /** Cancels the download and session creation. */
  signal?: AbortSignal;
}

/** Options for {@link Denoiser.denoise} and {@link Denoiser.denoisePixels}. */
export interface DenoiseOptions {
  /** Called after each tile (`stage: 'tiles'`). */
  onProgress?: (progress: DenoiseProgress) => void;
  /** Cancels between tiles: the call rejects with the signal's reason. */
  signal?: AbortSignal;
}

const OPTION_KEYS = ['model', 'device', 'tile', 'overlap', 'onProgress', 'signal'] as const;
const DENOISE_KEYS = ['onProgress', 'signal'] as const;

/** URL of a shipped model as the build lays it out: `models/<file>` next to the bundle, or under {@link setAssetsUrl}'s folder (default `photo-denoiser`). */
export function defaultModelUrl(name = DEFAULT_MODEL_NAME, argument = 'model'): string {
  return new URL(`models/${shippedModel(name, argument).file}`, assetsUrl()).href;
}

function checkCallbacks(options: { onProgress?: unknown; signal?: unknown }, name: string): void {
  check(options.onProgress === undefined || typeof options.onProgress === 'function', 'a function', `${name}.onProgress`, options.onProgress);
  check(options.signal === undefined || (typeof AbortSignal !== 'undefined' && options.signal instanceof AbortSignal), 'an AbortSignal', `${name}.signal`, options.signal);
}

async function modelBytes(model: DenoiserOptions['model'], options: DenoiserOptions): Promise<{ bytes: Uint8Array; source: string }> {
  if (model instanceof Uint8Array) return { bytes: model, source: 'model bytes' };
  if (model instanceof ArrayBuffer) return { bytes: new Uint8Array(model), source: 'model bytes' };
  // A bare name ("residual-denoiser") is a shipped model; anything else is a URL.
  const url = model === undefined || (typeof model === 'string' && isModelName(model)) ? defaultModelUrl(model ?? DEFAULT_MODEL_NAME, 'options.model') : model;
  const onProgress = options.onProgress;
  const { bytes } = await fetchBytes(url, 'model', 'options.model', {
    signal: options.signal,
    onProgress: onProgress && ((done, total) => onProgress({ stage: 'model', done, total })),
  });
  return { bytes, source: String(url) };
}

/**
 * An ONNX image denoiser loaded in the browser on WebGPU or wasm. One instance serves concurrent calls: model runs
 * are queued.
 *
 * ```ts
 * const denoiser = await Denoiser.create({ model: 'models/noise-reducer.onnx' });
 * const clean = await denoiser.denoise(imageElement); // ImageData
 * ```
 */
export class Denoiser {
  /** The device in use: `webgpu` or `wasm`. */
  readonly device: string;
  /** The WebGPU adapter's name when the device is WebGPU. */
  readonly adapter: string | undefined;
  /** Devices `auto` skipped, each with why. */
  readonly skipped: readonly string[];
  /** What the model's tensors and metadata say. */
  readonly model: ModelInfo;
  /** Tile side and overlap used for large images. */
  readonly tiles: TileSettings;
  readonly #session: WebSession;
  readonly #infer: InferFunction;
  #disposed = false;

  private constructor(session: WebSession, model: ModelInfo, tiles: TileSettings) {
    this.#session = session;
    this.device = session.device;
    this.adapter = session.adapter;
    this.skipped = Object.freeze([...session.skipped]);
    this.model = model;
    this.tiles = tiles;
    // Every run's output is checked: a foreign model may return another shape, or NaN, for its free dimensions.
    this.#infer = async (input, dims) => {
      this.#checkLive();
      return checkModelOutput(model.source, dims, await this.#session.run(model.inputName, model.outputName, input, dims));
    };
  }

  /**
   * Downloads (or takes) a model and opens it on a device.
   * @throws ValidationError for bad options, a model URL that does not load, or a named device that is not
   * available in this browser; ModelFormatError for bytes that are not an ONNX denoiser; the signal's reason when
   * aborted.
   */
  static async create(options: DenoiserOptions = {}): Promise<Denoiser> {
    checkKnownKeys(checkObject(options, 'options'), 'options', OPTION_KEYS);
    const device = checkDeviceName(options.device ?? 'auto', WEB_DEVICES, 'options.device');
    const { model } = options;
    check(
      model === undefined || model instanceof Uint8Array || model instanceof ArrayBuffer || model instanceof URL || (typeof model === 'string' && model.length > 0),
      'a model URL, ArrayBuffer or Uint8Array',
      'options.model',
      model,
    );
    checkCallbacks(options, 'options');
    const tiles = checkTileSettings({ tile: options.tile, overlap: options.overlap }, 'options');
    const { bytes, source } = await modelBytes(model, options);
    const metadata = readOnnxMetadata(bytes, source);
    options.signal?.throwIfAborted();
    let session: WebSession;
    try {
      session = await openSession(bytes, device, 'options.device');
    } catch (error) {
      if (!(error instanceof SessionModelError)) throw error;
      throw new ModelFormatError(`Expected an ONNX model onnxruntime-web can load for ${source} but received one it rejects: ${error.message}`, source);
    }
    let info: ModelInfo;
    try {
      info = describeModel(session.inputs, session.outputs, metadata, source);
      options.signal?.throwIfAborted();
    } catch (error) {
      await session.release();
      throw error;
    }
    return new Denoiser(session, info, tiles);
  }

  /**
   * Denoises a browser image; resolves to new ImageData of the same size (alpha untouched). Grey pictures go
   * through the model once per pixel, colour ones once per channel.
   */
  async denoise(image: ImageData | ImageBitmap | HTMLImageElement | HTMLCanvasElement, options: DenoiseOptions = {}): Promise<ImageData> {
    this.#checkLive();
    this.#checkDenoiseOptions(options);
    const pixels = readPixels(image, 'image');
    return toImageData(await this.#run(pixels, options));
  }

  /** Denoises raw pixels (the shared PixelImage); resolves to a new image of the same size, channels and array kind. */
  async denoisePixels<I extends PixelImage>(image: I, options: DenoiseOptions = {}): Promise<SameKind<I>> {
    this.#checkLive();
    this.#checkDenoiseOptions(options);
    checkPixelImage(image, 'image');
    return (await this.#run(image as PixelImage<PixelArray>, options)) as SameKind<I>;
  }

  /** Runs the model on an NCHW tensor as it is (no pixel conversion): for benchmarks and tests. */
  async runTensor(input: Float32Array, dims: readonly [number, number, number, number]): Promise<Float32Array> {
    check(input instanceof Float32Array, 'a Float32Array', 'input', input);
    const valid = Array.isArray(dims) && dims.length === 4 && dims.every((d) => Number.isInteger(d) && d > 0) && dims.reduce((a, b) => a * b, 1) === input.length;
    check(valid, `4 positive dimensions whose product is ${input.length}`, 'dims', dims);
    return this.#infer(input, dims);
  }

  /** Releases the onnxruntime-web session; calling it again does nothing. Calls after it throw a ValidationError. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await this.#session.release();
  }

  #checkLive(): void {
    if (this.#disposed) throw new ValidationError(`Expected a Denoiser that is not disposed for this call but received one whose dispose() was called (model ${this.model.source}): create a new one`, 'denoiser');
  }

  #checkDenoiseOptions(options: DenoiseOptions): void {
    checkKnownKeys(checkObject(options, 'options'), 'options', DENOISE_KEYS);
    checkCallbacks(options, 'options');
  }

  #run<T extends PixelArray>(image: PixelImage<T>, options: DenoiseOptions): Promise<PixelImage<T>> {
    const { onProgress, signal } = options;
    return denoiseImage(image, this.model, this.#infer, this.tiles, {
      signal,
      onTile: onProgress && ((done, total) => onProgress({ stage: 'tiles', done, total })),
    });
  }
}
