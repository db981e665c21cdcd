// The Denoiser both runtimes share: option checks, model loading through the runtime's I/O, the session on its backend, the checked model runs, disposal.
import { type DenoiserBackend, type OpenedSession, openSession, type ParallelRuns, PREALLOCATE_FROM, SessionModelError } from './backend.js';
import { FloatPool } from './buffer-pool.js';
import { type BatchSettings, checkTileSettings, type DenoiseHooks, denoiseBatch, denoiseImage, equalColourChannelsAsFilled, type InferFunction, type ParallelInfer, planTiles, type TileSettings } from './denoise-core.js';
import { checkDeviceName, type Devices } from './devices.js';
import { hasEqualColourChannels, isGreyImage, type PixelArray, type PixelImage } from './image-ops.js';
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
  /**
   * For a model that takes a noise map (the default `photo-denoiser`): the noise's standard deviation in 8-bit levels
   * (0 to 255, whatever the image's bit depth), which sets how strongly it denoises; `auto` (default) estimates it
   * from each image. A blind model refuses a number.
   */
  sigma?: number | 'auto';
}

/** The highest `sigma` accepted: noise this strong leaves little of any 8-bit image. */
export const MAX_SIGMA = 255;

/** What {@link checkDenoiserOptions} returns. */
export interface CheckedOptions {
  /** `auto` or a name in the device table. */
  device: string;
  tiles: TileSettings;
  /** The `sigma` option as a fraction of the full scale (sigma / 255); undefined for `auto`. */
  noiseLevel: number | undefined;
}

/**
 * Checks what both runtimes' options share: an object with only the keys `keys`, a device name of `devices`
 * (default `auto`; `deviceArgument` names it in messages), the tile settings and `sigma` (`sigmaArgument`).
 * @throws ValidationError naming the first thing that is wrong.
 */
export function checkDenoiserOptions(options: unknown, keys: readonly string[], devices: Devices, deviceArgument = 'options.device', sigmaArgument = 'options.sigma'): CheckedOptions {
  const object = checkObject(options, 'options');
  checkKnownKeys(object, 'options', keys);
  const device = checkDeviceName(object.device ?? 'auto', devices, deviceArgument);
  const tiles = checkTileSettings({ tile: object.tile as number | undefined, overlap: object.overlap as number | undefined }, 'options');
  return { device, tiles, noiseLevel: checkSigma(object.sigma, sigmaArgument) };
}

/**
 * Checks a `sigma` option: `auto` (or undefined) gives undefined, a number from 0 to {@link MAX_SIGMA} (8-bit levels)
 * gives it as a fraction of the full scale.
 * @throws ValidationError naming `name` otherwise.
 */
export function checkSigma(value: unknown, name = 'options.sigma'): number | undefined {
  if (value === undefined || value === 'auto') return undefined;
  check(typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= MAX_SIGMA, `"auto" or a number from 0 to ${MAX_SIGMA} (8-bit levels)`, name, value);
  return (value as number) / 255;
}

/** The noise map of a batch: entry n's level in each of its H x W pixels ([N, 1, H, W]). */
function noiseMap(levels: Float32Array, dims: readonly [number, number, number, number], pool: FloatPool): Float32Array {
  const plane = dims[2] * dims[3];
  const map = pool.take(dims[0] * plane);
  for (let n = 0; n < dims[0]; n++) map.fill(levels[n]!, n * plane, (n + 1) * plane);
  return map;
}

/**
 * A `sigma` for a model: {@link checkSigma}'s level, and a blind model (one without a noise map) takes only `auto`.
 * @throws ValidationError naming `argument`.
 */
export function noiseLevelFor(model: Pick<ModelInfo, 'noiseMapName' | 'name' | 'source'>, sigma: unknown, argument = 'options.sigma'): number | undefined {
  const level = checkSigma(sigma, argument);
  if (level !== undefined && model.noiseMapName === undefined) throw invalid(`"auto" for a blind model (${model.name ?? model.source} takes no noise level)`, argument, sigma);
  return level;
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
  /** The `sigma` option as given (`auto`, a number or undefined) and how messages name it: a blind model refuses a number. */
  sigma?: { value: unknown; argument: string };
}

/**
 * Reads a model's metadata, opens it on the backend and describes it.
 * @throws ValidationError for a `sigma` a blind model cannot take; ModelFormatError for bytes that are not an ONNX denoiser or a graph onnxruntime rejects; ValidationError
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
    if (options.sigma) noiseLevelFor(model, options.sigma.value, options.sigma.argument);
    options.signal?.throwIfAborted();
    return { session, model };
  } catch (error) {
    await session.release();
    throw error;
  }
}

/**
 * Opens the Denoiser that takes grey images for a colour model with a grey companion (see ShippedModel.grey): the
 * runtime's own `create` with the same options, the companion's name as model and the device already in use.
 */
export type GreyOpener = () => Promise<CoreDenoiser>;

/**
 * What every runtime's `Denoiser` is: a model on one device, its tile settings, checked model runs (queued, so one
 * instance serves concurrent calls), `runTensor` and `dispose`. A runtime's Denoiser extends it with its own
 * `create` (options and model I/O) and image methods. A model with a grey companion hands grey images (one or two
 * channels, or colour channels equal everywhere) to it, opened on the first one.
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
  /** For a model with a noise map: the level every image is told (a fraction of the full scale); undefined: estimated per image. */
  readonly noiseLevel: number | undefined;
  readonly #session: OpenedSession;
  readonly #infer: InferFunction;
  /** Runs side by side where the session has them (see OpenedSession.parallel). */
  readonly #parallel: ParallelInfer | undefined;
  /** Tensors of recurring shapes (inputs, noise maps, outputs) reused between runs. */
  readonly #pool = new FloatPool();
  /** Opens the grey companion; undefined for a model without one. */
  readonly #openGrey: GreyOpener | undefined;
  /** The grey companion once asked for (opening or open). */
  #grey: Promise<CoreDenoiser> | undefined;
  #disposed = false;

  /**
   * `noiseLevel`: the checked `sigma` option (see {@link checkDenoiserOptions}), already checked against the model by
   * {@link openModel}; `grey`: how to open the grey companion, for a model that has one.
   */
  protected constructor({ session, model }: OpenedModel, tiles: TileSettings, noiseLevel?: number, grey?: GreyOpener) {
    this.#openGrey = grey;
    this.#session = session;
    this.device = session.device;
    this.skipped = Object.freeze([...session.skipped]);
    this.model = model;
    this.tiles = tiles;
    this.noiseLevel = noiseLevel;
    this.#infer = (input, dims, levels) => this.#runWithMap(input, dims, levels);
    const side = session.parallel;
    this.#parallel = side && side.lanes > 1 ? { lanes: side.lanes, infer: (input, dims, levels) => this.#runWithMap(input, dims, levels, side) } : undefined;
  }

  /**
   * One run of `input` (see #run) with the noise map of `levels` (none for a blind model), which goes back to the
   * pool once the run has settled; `side`: on the session's parallel runs.
   */
  #runWithMap(input: Float32Array, dims: readonly [number, number, number, number], levels: Float32Array | undefined, side?: ParallelRuns): Promise<Float32Array> {
    // An output array only where the backend can write into it: elsewhere taking one is work for nothing.
    const output = !side && this.#session.takesOutput && input.length >= PREALLOCATE_FROM ? this.#pool.take(input.length) : undefined;
    if (!levels) return this.#run(input, dims, undefined, output, side);
    const map = noiseMap(levels, dims, this.#pool);
    const result = this.#run(input, dims, map, output, side);
    // #run is async: it never throws synchronously.
    result.then(() => this.#pool.give(map), () => this.#pool.give(map));
    return result;
  }

  /**
   * Runs the model on an NCHW tensor as it is (no pixel conversion): for benchmarks and tests. A model with a noise
   * map needs `noiseLevel`: one level (a fraction of the full scale) for every pixel, or the map itself (N x H x W
   * values); a blind model takes none.
   */
  async runTensor(input: Float32Array, dims: readonly [number, number, number, number], noiseLevel?: number | Float32Array): Promise<Float32Array> {
    check(input instanceof Float32Array, 'a Float32Array', 'input', input);
    const valid = Array.isArray(dims) && dims.length === 4 && dims.every((d) => Number.isInteger(d) && d > 0) && dims.reduce((a, b) => a * b, 1) === input.length;
    check(valid, `4 positive dimensions whose product is ${input.length}`, 'dims', dims);
    const mapSize = dims[0] * dims[2] * dims[3];
    if (this.model.noiseMapName === undefined) {
      check(noiseLevel === undefined, `nothing (${this.model.source} is blind)`, 'noiseLevel', noiseLevel);
      return this.#run(input, dims, undefined, new Float32Array(input.length));
    }
    const level = typeof noiseLevel === 'number' && Number.isFinite(noiseLevel) && noiseLevel >= 0;
    check(level || (noiseLevel instanceof Float32Array && noiseLevel.length === mapSize), `a level >= 0 or a Float32Array of ${mapSize} values (N x H x W) for the noise map of ${this.model.source}`, 'noiseLevel', noiseLevel);
    return this.#run(input, dims, level ? new Float32Array(mapSize).fill(noiseLevel as number) : (noiseLevel as Float32Array), new Float32Array(input.length));
  }

  /**
   * One checked model run: the image and, for a model with a noise map, its map ([N, 1, H, W] values); `output`, an
   * array of the input's size that the backend may write the result into (given back to the pool when unused);
   * `side`: the session's parallel runs, to run there instead.
   */
  async #run(input: Float32Array, dims: readonly [number, number, number, number], map: Float32Array | undefined, output?: Float32Array, side?: ParallelRuns): Promise<Float32Array> {
    this.checkLive();
    const { model } = this;
    const feeds = [{ name: model.inputName, data: input, dims }];
    if (model.noiseMapName !== undefined) feeds.push({ name: model.noiseMapName, data: map!, dims: [dims[0], 1, dims[2], dims[3]] });
    let result;
    try {
      result = await (side ? side.run(feeds, model.outputName) : this.#session.run(feeds, model.outputName, output));
    } finally {
      if (output && result?.data !== output) this.#pool.give(output);
    }
    // Every run's output is checked: a foreign model may return another shape, or NaN, for its free dimensions.
    return checkModelOutput(model.source, dims, result);
  }

  /** Releases the onnxruntime session (and the grey companion's); calling it again does nothing. Calls after it throw a ValidationError. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#pool.clear();
    const grey = this.#grey;
    await this.#session.release();
    // A companion that failed to open has nothing to release.
    if (grey) await grey.then((companion) => companion.dispose(), () => undefined);
  }

  /**
   * Gets ready for a `width` x `height` image before its pixels are in (a decoder has read its header): where it will
   * be cut into tiles, starts the lanes that run them side by side, which otherwise start at its first tile. With a
   * grey companion (see ShippedModel.grey): `channels` 1 or 2 open the companion and get it ready instead; 3 or 4 do
   * nothing, since a colour file may hold a grey picture, which goes to the companion (lanes started for it here
   * would only hold memory). Optional: a hint, never an error.
   */
  prepare(width: number, height: number, channels?: number): void {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || this.#disposed) return;
    if (this.#openGrey) {
      if (channels !== undefined && channels <= 2) this.greyCompanion().then((companion) => companion.prepare(width, height, channels), () => undefined);
      return;
    }
    if (!this.#parallel) return;
    const plan = planTiles(width, height, this.model, this.tiles);
    if (plan.rows.length * plan.columns.length > 1) this.#session.parallel?.start?.();
  }

  /** How many model runs go side by side for the tiles of a large image and the parts of a large batch (1: one at a time; see OpenedSession.parallel). */
  get lanes(): number {
    return this.#parallel?.lanes ?? 1;
  }

  /** Whether grey images go to a grey companion model (see ShippedModel.grey). */
  get hasGreyCompanion(): boolean {
    return this.#openGrey !== undefined;
  }

  /**
   * The grey companion, opened on first use (concurrent calls share the opening); a failed opening is retried on the
   * next grey image.
   */
  protected greyCompanion(): Promise<CoreDenoiser> {
    this.checkLive();
    if (!this.#grey) {
      const opening = this.#openGrey!();
      this.#grey = opening;
      opening.catch(() => {
        if (this.#grey === opening) this.#grey = undefined;
      });
    }
    return this.#grey;
  }

  /**
   * The noise level of one call: its `sigma` option (checked; named `argument` in messages) or, when undefined, the
   * Denoiser's. A blind model refuses a number.
   */
  protected callNoiseLevel(sigma: unknown, argument = 'options.sigma'): number | undefined {
    return sigma === undefined ? this.noiseLevel : noiseLevelFor(this.model, sigma, argument);
  }

  /** Throws the standard error once {@link dispose} was called. */
  protected checkLive(): void {
    if (this.#disposed) throw invalid('a Denoiser that is not disposed', 'this call', described(`one whose dispose() was called (model ${this.model.source})`), { hint: 'create a new one', argument: 'denoiser' });
  }

  /**
   * Denoises one checked image (see denoiseImage), a grey one through the grey companion when there is one;
   * `hooks.noiseLevel` as from {@link callNoiseLevel}.
   */
  protected denoiseChecked<T extends PixelArray>(image: PixelImage<T>, hooks: DenoiseHooks = {}): Promise<PixelImage<T>> {
    // Not async itself: a model without a companion hands back denoiseImage's promise (one promise less per image).
    if (!this.#openGrey) return denoiseImage(image, this.model, this.#infer, this.tiles, hooks, this.#pool, this.#parallel);
    return this.#denoiseRouted(image, hooks);
  }

  /** {@link denoiseChecked} for a model with a grey companion. */
  async #denoiseRouted<T extends PixelArray>(image: PixelImage<T>, hooks: DenoiseHooks): Promise<PixelImage<T>> {
    // The route's scan of the colour channels is handed on, so the model that takes the image does not scan again;
    // an image still being filled in is scanned as its rows come.
    const scanned = hooks.equalColourChannels ?? (hooks.waitForRows ? await equalColourChannelsAsFilled(image, hooks.waitForRows) : hasEqualColourChannels(image));
    const checked = { ...hooks, equalColourChannels: scanned };
    if (isGreyImage(image, checked.equalColourChannels)) {
      const companion = await this.greyCompanion();
      hooks.signal?.throwIfAborted();
      return companion.denoiseChecked(image, checked);
    }
    return denoiseImage(image, this.model, this.#infer, this.tiles, checked, this.#pool, this.#parallel);
  }

  /**
   * Denoises checked images, stacking same-size small ones into runs of at most `maxBatchValues` values (see
   * denoiseBatch), grey ones through the grey companion when there is one; `noiseLevel` as from {@link callNoiseLevel}.
   */
  protected async denoiseCheckedBatch<T extends PixelArray>(images: readonly PixelImage<T>[], maxBatchValues: number, noiseLevel = this.noiseLevel, equalColourChannels?: readonly boolean[]): Promise<PixelImage<T>[]> {
    const settings: BatchSettings = { ...this.tiles, maxBatchValues, noiseLevel, ...(equalColourChannels ? { equalColourChannels } : {}) };
    if (!this.#openGrey) return denoiseBatch(images, this.model, this.#infer, settings, this.#pool, this.#parallel);
    const equal = settings.equalColourChannels ?? images.map((image) => hasEqualColourChannels(image));
    const grey = images.map((image, i) => isGreyImage(image, equal[i]));
    const pick = <V>(values: readonly V[], wanted: boolean) => values.filter((_, i) => grey[i] === wanted);
    const colour = await denoiseBatch(pick(images, false), this.model, this.#infer, { ...settings, equalColourChannels: pick(equal, false) }, this.#pool, this.#parallel);
    const greys = grey.includes(true) ? await (await this.greyCompanion()).denoiseCheckedBatch(pick(images, true), maxBatchValues, noiseLevel, pick(equal, true)) : [];
    let c = 0;
    let g = 0;
    return grey.map((isGrey) => (isGrey ? greys[g++]! : colour[c++]!));
  }
}
