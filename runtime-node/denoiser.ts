// The Node library: `Denoiser.create(...)` loads an ONNX denoiser on a device; `denoise` and `denoiseBatch` work on raw pixel buffers.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { check, checkKnownKeys, checkObject, checkDenoiserOptions, checkInteger, checkPixelImage, CoreDenoiser, DEFAULT_MODEL_NAME, type GreyOpener, greyCompanionName, loadModel, type ModelReader, type OpenedModel, openModel, type PixelArray, type PixelImage, type RowListener, type RowWaiter, type SameKind, shippedModel, type TileOptions, type TileSettings, cannot, fileErrorReason } from 'onnx-denoiser-common';
import { NODE_BACKEND, NODE_DEVICES, type NodeSessionSettings } from './ort-session.js';
import { packageRoot } from './package-root.js';

export { packageRoot };

/** Device names {@link Denoiser.create} accepts. */
export type NodeDevice = 'auto' | 'cpu' | 'webgpu' | 'cuda';

/** Options for {@link Denoiser.denoiseBatch}. */
export interface DenoiseOptions {
  /** This call's noise level (see {@link DenoiserOptions.sigma}); default: the Denoiser's. */
  sigma?: number | 'auto';
}

/** Options for {@link Denoiser.denoise}. */
export interface DenoiseImageOptions extends DenoiseOptions {
  /** Called as rows of the result become final, top to bottom (a band of tiles at a time), to write a large image out while the rest is denoised (see RowListener). */
  onRows?: RowListener | undefined;
  /**
   * For an image whose pixels are still being filled in, top to bottom (a decoder writing into `image.data`): called
   * with a row count before the denoiser reads the rows above it, which it does once the returned promise resolves;
   * a rejection rejects the call. The first tiles of a large image then run while its last rows decode (see
   * RowWaiter). Float32 pixels are waited for whole: their values are checked before any run.
   */
  waitForRows?: RowWaiter | undefined;
}

/** Options for {@link Denoiser.create}. */
export interface DenoiserOptions extends TileOptions {
  /** A shipped model's name (`photo-denoiser`, `noise-reducer`, ...: see SHIPPED_MODELS), a path to an ONNX model, or its bytes. Default: `photo-denoiser`. */
  model?: string | Uint8Array;
  /** Where to run: `auto` (default) tries CUDA, WebGPU, then the CPU. */
  device?: NodeDevice;
  /**
   * CPU threads for onnxruntime; default: one per physical core. On the CPU with 2 or more, also the lanes (at most 4):
   * the tiles of a large image and the parts of a large batch run side by side on one-thread sessions, each on a
   * worker thread of its own (see `lanes`); a run on its own uses this many intra-op threads.
   */
  threads?: number;
  /** Most values (N x C x H x W) per model run when {@link Denoiser.denoiseBatch} stacks images (default 2^22). */
  maxBatchValues?: number;
}

/** The per-call options when none are given. */
const NO_OPTIONS: DenoiseImageOptions = Object.freeze({});

/** What a batch call takes, and what an image call takes. */
const BATCH_OPTION_KEYS = ['sigma'] as const;
const IMAGE_OPTION_KEYS = ['sigma', 'onRows', 'waitForRows'] as const;

const OPTION_KEYS = ['model', 'device', 'threads', 'tile', 'overlap', 'sigma', 'maxBatchValues'] as const;

/** How messages name the device and model arguments (default `options.device`, `options.model`). */
export interface ArgumentNames {
  device?: string;
  model?: string;
  sigma?: string;
}

/** Session settings only the command line sets (see NodeSessionSettings); default: onnxruntime's. */
export type SessionTuning = Pick<NodeSessionSettings, 'memoryPattern' | 'spinning'>;

let openWithNames: (options: DenoiserOptions, names: ArgumentNames, tuning: SessionTuning) => Promise<Denoiser>;

/**
 * {@link Denoiser.create} for command lines: `names` says how error messages name the device and model arguments
 * (e.g. "--device"); `tuning`, session settings that suit a run over files. Exported from onnx-denoiser-node/internal only.
 */
export function createDenoiser(options: DenoiserOptions = {}, names: ArgumentNames = {}, tuning: SessionTuning = {}): Promise<Denoiser> {
  return openWithNames(options, names, tuning);
}

/** Path of a shipped model (default: the first, `models/photo-denoiser.onnx`). */
export function defaultModelPath(name = DEFAULT_MODEL_NAME, argument = 'model'): string {
  return path.join(packageRoot(), 'models', shippedModel(name, argument).file);
}

/** Models from files: shipped ones in the package's models/ folder. */
const FILE_MODELS: ModelReader = {
  shippedLocation: defaultModelPath,
  async read(file, shipped, argument) {
    try {
      return { bytes: await readFile(file), source: shipped ? path.relative(process.cwd(), file) || file : file };
    } catch (error) {
      const reason = fileErrorReason(error);
      if (shipped && (error as NodeJS.ErrnoException).code === 'ENOENT') {
        const how = 'a shipped model is made by training and exporting its network (npx tools train, then npx tools export-onnx; for a quick try with untrained weights: npx tools export-onnx --spec models/noise-reducer.json --random-weights), or pass a model path for ' + argument;
        throw cannot(`read model file ${file}`, `${reason}; ${how}`, argument);
      }
      throw cannot(`read model file ${file}`, reason, argument);
    }
  },
};

/**
 * An ONNX image denoiser loaded on one device. One instance serves concurrent calls: model runs are queued.
 *
 * ```ts
 * const denoiser = await Denoiser.create({ device: 'auto' });
 * const clean = await denoiser.denoise({ data, width, height, channels: 1 });
 * ```
 */
export class Denoiser extends CoreDenoiser {
  readonly #maxBatchValues: number;

  private constructor(opened: OpenedModel, tiles: TileSettings, maxBatchValues: number, noiseLevel: number | undefined, grey?: GreyOpener) {
    super(opened, tiles, noiseLevel, grey);
    this.#maxBatchValues = maxBatchValues;
  }

  /**
   * Loads a model and opens it on a device.
   * @throws ValidationError for bad options, a missing or unreadable model file, or a named device that is not
   * available here; ModelFormatError for a file that is not an ONNX denoiser.
   */
  static async create(options: DenoiserOptions = {}): Promise<Denoiser> {
    return Denoiser.#open(options, {}, {});
  }

  static {
    openWithNames = (options, names, tuning) => Denoiser.#open(options, names, tuning);
  }

  /** {@link Denoiser.create}, with `names` saying how messages name the device and model arguments (the CLI passes "--device", "--model"). */
  static async #open(options: DenoiserOptions, names: ArgumentNames, tuning: SessionTuning): Promise<Denoiser> {
    const deviceArgument = names.device ?? 'options.device';
    const modelArgument = names.model ?? 'options.model';
    const sigmaArgument = names.sigma ?? 'options.sigma';
    const { device, tiles, noiseLevel } = checkDenoiserOptions(options, OPTION_KEYS, NODE_DEVICES, deviceArgument, sigmaArgument);
    const threads = options.threads === undefined ? undefined : checkInteger(options.threads, 'options.threads', { min: 1, max: 1024 });
    check(options.model === undefined || options.model instanceof Uint8Array || (typeof options.model === 'string' && options.model.length > 0), 'a model path or bytes', modelArgument, options.model);
    const maxBatchValues = checkInteger(options.maxBatchValues ?? 2 ** 22, 'options.maxBatchValues', { min: 1 });
    const bytes = await loadModel(options.model, modelArgument, FILE_MODELS);
    const opened = await openModel(NODE_BACKEND, bytes, { device, deviceArgument, settings: { threads, ...tuning }, sigma: { value: options.sigma, argument: sigmaArgument } });
    const grey = greyCompanionName(options.model);
    // The companion opens on the device this model got, with the same options.
    const openGrey = grey === undefined ? undefined : () => Denoiser.#open({ ...options, model: grey, device: opened.session.device as NodeDevice }, names, tuning);
    return new Denoiser(opened, tiles, maxBatchValues, noiseLevel, openGrey);
  }

  /** Denoises one image; resolves to a new image of the same size, channels and array kind (alpha untouched). */
  async denoise<I extends PixelImage>(image: I, options: DenoiseImageOptions = NO_OPTIONS): Promise<SameKind<I>> {
    this.checkLive();
    const noiseLevel = this.#callOptions(options, IMAGE_OPTION_KEYS);
    const { onRows } = options;
    let { waitForRows } = options;
    if (onRows === undefined && waitForRows === undefined) {
      checkPixelImage(image, 'image');
      return (await this.denoiseChecked(image as PixelImage<PixelArray>, { noiseLevel })) as SameKind<I>;
    }
    check(onRows === undefined || typeof onRows === 'function', 'a function', 'options.onRows', onRows);
    check(waitForRows === undefined || typeof waitForRows === 'function', 'a function', 'options.waitForRows', waitForRows);
    // Float samples are checked here for NaN and infinities: an image of them still being filled in is checked whole.
    const { data, height } = (image ?? {}) as Partial<PixelImage>;
    if (waitForRows && data instanceof Float32Array && Number.isInteger(height) && height! >= 1) {
      await waitForRows(height!);
      waitForRows = undefined;
    }
    checkPixelImage(image, 'image');
    return (await this.denoiseChecked(image as PixelImage<PixelArray>, { noiseLevel, ...(onRows ? { onRows } : {}), ...(waitForRows ? { waitForRows } : {}) })) as SameKind<I>;
  }

  /** Denoises several images, stacking same-size small ones into one model run; results keep the input order. */
  async denoiseBatch<I extends PixelImage>(images: readonly I[], options: DenoiseOptions = NO_OPTIONS): Promise<SameKind<I>[]> {
    this.checkLive();
    const noiseLevel = this.#callOptions(options);
    check(Array.isArray(images), 'an array of images', 'images', images);
    images.forEach((image, i) => checkPixelImage(image, `images[${i}]`));
    return (await this.denoiseCheckedBatch(images as readonly PixelImage<PixelArray>[], this.#maxBatchValues, noiseLevel)) as SameKind<I>[];
  }

  #callOptions(options: DenoiseOptions, keys: readonly string[] = BATCH_OPTION_KEYS): number | undefined {
    // The default (no options) needs no checks: this runs once per image.
    if (options === NO_OPTIONS) return this.noiseLevel;
    checkKnownKeys(checkObject(options, 'options'), 'options', keys);
    return this.callNoiseLevel(options.sigma);
  }
}
