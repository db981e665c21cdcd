// The browser library: `Denoiser.create(...)` loads an ONNX denoiser on WebGPU or wasm; `denoise` takes browser images and returns ImageData.
import { check, checkDenoiserOptions, checkKnownKeys, checkObject, checkPixelImage, CoreDenoiser, DEFAULT_MODEL_NAME, greyCompanionName, type GreyOpener, loadModel, type ModelReader, type OpenedModel, openModel, type PixelArray, type PixelImage, type SameKind, shippedModel, type TileOptions, type TileSettings } from 'onnx-denoiser-common';
import { readPixels, toImageData } from './browser-image.js';
import { assetsUrl } from './assets.js';
import { fetchBytes } from './fetch-bytes.js';
import { WEB_BACKEND, WEB_DEVICES } from './ort-web.js';

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
export interface DenoiserOptions extends TileOptions {
  /** A shipped model's name (`noise-reducer`, `residual-denoiser`, ...), the URL of an ONNX model, or its bytes. Default: `photo-denoiser`, copied next to the bundle. */
  model?: string | URL | ArrayBuffer | Uint8Array;
  /** Where to run: `auto` (default) takes WebGPU when `navigator.gpu` gives an adapter, else wasm. */
  device?: WebDevice;
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
  /** This call's noise level (see {@link DenoiserOptions.sigma}); default: the Denoiser's. */
  sigma?: number | 'auto';
}

const OPTION_KEYS = ['model', 'device', 'tile', 'overlap', 'sigma', 'onProgress', 'signal'] as const;
const DENOISE_KEYS = ['onProgress', 'signal', 'sigma'] as const;

/** URL of a shipped model as the build lays it out: `models/<file>` next to the bundle, or under {@link setAssetsUrl}'s folder (default `photo-denoiser`). */
export function defaultModelUrl(name = DEFAULT_MODEL_NAME, argument = 'model'): string {
  return new URL(`models/${shippedModel(name, argument).file}`, assetsUrl()).href;
}

function checkCallbacks(options: { onProgress?: unknown; signal?: unknown }, name: string): void {
  check(options.onProgress === undefined || typeof options.onProgress === 'function', 'a function', `${name}.onProgress`, options.onProgress);
  check(options.signal === undefined || (typeof AbortSignal !== 'undefined' && options.signal instanceof AbortSignal), 'an AbortSignal', `${name}.signal`, options.signal);
}

function checkDenoiseOptions(options: DenoiseOptions): void {
  checkKnownKeys(checkObject(options, 'options'), 'options', DENOISE_KEYS);
  checkCallbacks(options, 'options');
}

/** Models from URLs: shipped ones next to the bundle; the download reports `stage: 'model'` progress and stops on the signal. */
function urlModels(options: DenoiserOptions): ModelReader {
  const { onProgress, signal } = options;
  return {
    shippedLocation: defaultModelUrl,
    async read(url, _shipped, argument) {
      const { bytes } = await fetchBytes(url, 'model', argument, { signal, onProgress: onProgress && ((done, total) => onProgress({ stage: 'model', done, total })) });
      return { bytes, source: url };
    },
  };
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
export class Denoiser extends CoreDenoiser {
  /** The WebGPU adapter's name when the device is WebGPU. */
  readonly adapter: string | undefined;

  private constructor(opened: OpenedModel, tiles: TileSettings, noiseLevel: number | undefined, grey?: GreyOpener) {
    super(opened, tiles, noiseLevel, grey);
    this.adapter = opened.session.adapter;
  }

  /**
   * Downloads (or takes) a model and opens it on a device.
   * @throws ValidationError for bad options, a model URL that does not load, or a named device that is not
   * available in this browser; ModelFormatError for bytes that are not an ONNX denoiser; the signal's reason when
   * aborted.
   */
  static async create(options: DenoiserOptions = {}): Promise<Denoiser> {
    const { device, tiles, noiseLevel } = checkDenoiserOptions(options, OPTION_KEYS, WEB_DEVICES);
    const { model } = options;
    check(
      model === undefined || model instanceof Uint8Array || model instanceof ArrayBuffer || model instanceof URL || (typeof model === 'string' && model.length > 0),
      'a model URL, ArrayBuffer or Uint8Array',
      'options.model',
      model,
    );
    checkCallbacks(options, 'options');
    const bytes = await loadModel(model, 'options.model', urlModels(options));
    const opened = await openModel(WEB_BACKEND, bytes, { device, deviceArgument: 'options.device', settings: undefined, signal: options.signal, sigma: { value: options.sigma, argument: 'options.sigma' } });
    const grey = greyCompanionName(model);
    // Downloaded on the first grey image, onto the device this model got; the creation's signal is over by then.
    const openGrey = grey === undefined ? undefined : () => Denoiser.create({ ...options, model: grey, device: opened.session.device as WebDevice, signal: undefined });
    return new Denoiser(opened, tiles, noiseLevel, openGrey);
  }

  /**
   * Denoises a browser image; resolves to new ImageData of the same size (alpha untouched). Grey pictures go
   * through the model once per pixel, colour ones once per channel.
   */
  async denoise(image: ImageData | ImageBitmap | HTMLImageElement | HTMLCanvasElement, options: DenoiseOptions = {}): Promise<ImageData> {
    this.checkLive();
    checkDenoiseOptions(options);
    return toImageData(await this.#run(readPixels(image, 'image'), options));
  }

  /** Denoises raw pixels (the shared PixelImage); resolves to a new image of the same size, channels and array kind. */
  async denoisePixels<I extends PixelImage>(image: I, options: DenoiseOptions = {}): Promise<SameKind<I>> {
    this.checkLive();
    checkDenoiseOptions(options);
    checkPixelImage(image, 'image');
    return (await this.#run(image as PixelImage<PixelArray>, options)) as SameKind<I>;
  }

  #run<T extends PixelArray>(image: PixelImage<T>, { onProgress, signal, sigma }: DenoiseOptions): Promise<PixelImage<T>> {
    const noiseLevel = this.callNoiseLevel(sigma);
    return this.denoiseChecked(image, { signal, noiseLevel, onTile: onProgress && ((done, total) => onProgress({ stage: 'tiles', done, total })) });
  }
}
