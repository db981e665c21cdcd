// The Node library: `Denoiser.create(...)` loads an ONNX denoiser on a device; `denoise` and `denoiseBatch` work on raw pixel buffers.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  checkTileSettings,
  denoiseBatch,
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
  checkInteger,
  checkKnownKeys,
  checkObject,
  ValidationError,
} from 'onnx-denoiser-common';
import { NODE_DEVICES, type NodeSession, openSession } from './ort-session.js';
import { packageRoot } from './package-root.js';

export { packageRoot };

/** Device names {@link Denoiser.create} accepts. */
export type NodeDevice = 'auto' | 'cpu' | 'webgpu' | 'cuda';

/** Options for {@link Denoiser.create}. */
export interface DenoiserOptions {
  /** A shipped model's name (`noise-reducer`, `residual-denoiser`, ...: see SHIPPED_MODELS), a path to an ONNX model, or its bytes. Default: `noise-reducer`. */
  model?: string | Uint8Array;
  /** Where to run: `auto` (default) tries CUDA, WebGPU, then the CPU. */
  device?: NodeDevice;
  /** CPU threads for onnxruntime; default: one per physical core. */
  threads?: number;
  /** Tile side in pixels for large images (default 512, plus the overlap; 0 runs every image whole). */
  tile?: number;
  /** Overlap between tiles in pixels (default: twice the model's receptive-field radius plus 2, or 32 when unknown). */
  overlap?: number;
  /** Most values (N x C x H x W) per model run when {@link Denoiser.denoiseBatch} stacks images (default 2^22). */
  maxBatchValues?: number;
}

const OPTION_KEYS = ['model', 'device', 'threads', 'tile', 'overlap', 'maxBatchValues'] as const;

/** How messages name the device and model arguments (default `options.device`, `options.model`). */
export interface ArgumentNames {
  device?: string;
  model?: string;
}

let openWithNames: (options: DenoiserOptions, names: ArgumentNames) => Promise<Denoiser>;

/**
 * {@link Denoiser.create} for command lines: `names` says how error messages name the device and model arguments
 * (e.g. "--device"). Exported from onnx-denoiser-node/internal only.
 */
export function createDenoiser(options: DenoiserOptions = {}, names: ArgumentNames = {}): Promise<Denoiser> {
  return openWithNames(options, names);
}

/** Path of a shipped model (default: the tutorial's `models/noise-reducer.onnx`). */
export function defaultModelPath(name = DEFAULT_MODEL_NAME, argument = 'model'): string {
  return path.join(packageRoot(), 'models', shippedModel(name, argument).file);
}

async function loadModelBytes(model: string | Uint8Array | undefined, argument: string): Promise<{ bytes: Uint8Array; source: string }> {
  if (model instanceof Uint8Array) return { bytes: model, source: 'model bytes' };
  // A bare name ("residual-denoiser") is a shipped model; anything else is a path.
  const shipped = model === undefined || isModelName(model);
  const file = shipped ? defaultModelPath(model ?? DEFAULT_MODEL_NAME, argument) : model;
  try {
    return { bytes: await readFile(file), source: shipped ? path.relative(process.cwd(), file) || file : file };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (shipped && code === 'ENOENT') {
      throw new ValidationError(
        `No model at ${file}: a shipped model is made by training and exporting its network (npx tools train, then npx tools export-onnx; for a quick try with untrained weights: npx tools export-onnx --spec models/noise-reducer.json --random-weights), or pass a model path for ${argument}`,
        argument,
      );
    }
    throw new ValidationError(`Cannot read model file ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : (error as Error).message}`, argument);
  }
}

/**
 * An ONNX image denoiser loaded on one device. One instance serves concurrent calls: model runs are queued.
 *
 * ```ts
 * const denoiser = await Denoiser.create({ device: 'auto' });
 * const clean = await denoiser.denoise({ data, width, height, channels: 1 });
 * ```
 */
export class Denoiser {
  /** The device in use (`cpu`, `webgpu` or `cuda`). */
  readonly device: string;
  /** Devices `auto` skipped, each with why. */
  readonly skipped: readonly string[];
  /** What the model's tensors and metadata say. */
  readonly model: ModelInfo;
  /** Tile side and overlap used for large images. */
  readonly tiles: TileSettings;
  readonly #session: NodeSession;
  readonly #maxBatchValues: number;
  readonly #infer: InferFunction;
  #disposed = false;

  private constructor(session: NodeSession, model: ModelInfo, tiles: TileSettings, maxBatchValues: number) {
    this.#session = session;
    this.device = session.device;
    this.skipped = Object.freeze([...session.skipped]);
    this.model = model;
    this.tiles = tiles;
    this.#maxBatchValues = maxBatchValues;
    // Every run's output is checked: a foreign model may return another shape, or NaN, for its free dimensions.
    this.#infer = async (input, dims) => {
      this.#checkLive();
      return checkModelOutput(model.source, dims, await this.#session.run(model.inputName, model.outputName, input, dims));
    };
  }

  /**
   * Loads a model and opens it on a device.
   * @throws ValidationError for bad options, a missing or unreadable model file, or a named device that is not
   * available here; ModelFormatError for a file that is not an ONNX denoiser.
   */
  static async create(options: DenoiserOptions = {}): Promise<Denoiser> {
    return Denoiser.#open(options, {});
  }

  static {
    openWithNames = (options, names) => Denoiser.#open(options, names);
  }

  /** {@link Denoiser.create}, with `names` saying how messages name the device and model arguments (the CLI passes "--device", "--model"). */
  static async #open(options: DenoiserOptions, names: ArgumentNames): Promise<Denoiser> {
    checkKnownKeys(checkObject(options, 'options'), 'options', OPTION_KEYS);
    const deviceArgument = names.device ?? 'options.device';
    const device = checkDeviceName(options.device ?? 'auto', NODE_DEVICES, deviceArgument);
    const threads = options.threads === undefined ? undefined : checkInteger(options.threads, 'options.threads', { min: 1, max: 1024 });
    check(options.model === undefined || options.model instanceof Uint8Array || (typeof options.model === 'string' && options.model.length > 0), 'a model path or bytes', names.model ?? 'options.model', options.model);
    const tiles = checkTileSettings({ tile: options.tile, overlap: options.overlap }, 'options');
    const maxBatchValues = checkInteger(options.maxBatchValues ?? 2 ** 22, 'options.maxBatchValues', { min: 1 });
    const { bytes, source } = await loadModelBytes(options.model, names.model ?? 'options.model');
    const metadata = readOnnxMetadata(bytes, source);
    let session: NodeSession;
    try {
      session = await openSession(bytes, { device, threads, argument: deviceArgument });
    } catch (error) {
      if (error instanceof ValidationError) throw error;
      throw new ModelFormatError(`Expected an ONNX model onnxruntime can load for ${source} but received one it rejects: ${((error as Error).message ?? String(error)).split('\n')[0]}`, source);
    }
    let model: ModelInfo;
    try {
      model = describeModel(session.inputs, session.outputs, metadata, source);
    } catch (error) {
      await session.release();
      throw error;
    }
    return new Denoiser(session, model, tiles, maxBatchValues);
  }

  /** Denoises one image; resolves to a new image of the same size, channels and array kind (alpha untouched). */
  async denoise<I extends PixelImage>(image: I): Promise<SameKind<I>> {
    this.#checkLive();
    checkPixelImage(image, 'image');
    return (await denoiseImage(image as PixelImage<PixelArray>, this.model, this.#infer, this.tiles)) as SameKind<I>;
  }

  /** Denoises several images, stacking same-size small ones into one model run; results keep the input order. */
  async denoiseBatch<I extends PixelImage>(images: readonly I[]): Promise<SameKind<I>[]> {
    this.#checkLive();
    check(Array.isArray(images), 'an array of images', 'images', images);
    images.forEach((image, i) => checkPixelImage(image, `images[${i}]`));
    return (await denoiseBatch(images as readonly PixelImage<PixelArray>[], this.model, this.#infer, { ...this.tiles, maxBatchValues: this.#maxBatchValues })) as SameKind<I>[];
  }

  /** Runs the model on an NCHW tensor as it is (no pixel conversion): for benchmarks and tests. */
  async runTensor(input: Float32Array, dims: readonly [number, number, number, number]): Promise<Float32Array> {
    return this.#infer(input, dims);
  }

  /** Releases the onnxruntime session; calling it again does nothing. Calls after it throw a ValidationError. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await this.#session.release();
  }

  #checkLive(): void {
    if (this.#disposed) throw new ValidationError(`Expected a Denoiser that is not disposed for this call but received one whose dispose() was called (model ${this.model.source}): create a new one`, 'denoiser');
  }
}
