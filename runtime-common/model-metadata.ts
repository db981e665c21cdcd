// Denoiser model metadata: the metadata_props keys the ONNX emitter writes and the one reader of them, for both runtimes and the tools (no dependencies: runs in a browser).
import { receptiveFieldOf, type ReceptiveField } from './tiling.js';
import { checkOneOf, described, describeValue, invalidMessage, ValidationError } from './validate.js';

/** Thrown for a file that is not an ONNX model, or an ONNX model that is not an image denoiser. */
export class ModelFormatError extends ValidationError {
  override name = 'ModelFormatError';
}

/** The value of the `format` key in every model the emitter writes. */
export const MODEL_FORMAT = 'onnx-denoiser/model';

/**
 * Metadata format versions this reader understands. Version 2 adds `receptive_field`, which version 1 exports lack:
 * the runtimes tile those with DEFAULT_RECEPTIVE_FIELD and a warning. Version 3 adds `noise_map`: a second input
 * (older runtimes refuse such a model by its version rather than by its inputs).
 */
export const MODEL_FORMAT_VERSIONS = Object.freeze([1, 2, 3] as const);

/** The version the emitter writes for a blind model. */
export const MODEL_FORMAT_VERSION = 2;

/** The version the emitter writes for a model with a noise map. */
export const MODEL_FORMAT_VERSION_NOISE_MAP = 3;

/**
 * The metadata_props keys, by field. Values are strings: numbers in decimal, the spec as JSON, the value range and
 * the receptive field as "low,high". `Image.*` are the ONNX image metadata convention (onnx/docs/MetadataProps.md).
 */
export const METADATA_KEYS = Object.freeze({
  format: 'format',
  formatVersion: 'format_version',
  name: 'name',
  spec: 'spec',
  channels: 'channels',
  valueRange: 'value_range',
  sizeMultiple: 'size_multiple',
  receptiveField: 'receptive_field',
  noiseMap: 'noise_map',
  layout: 'layout',
  precision: 'precision',
  noiseKind: 'noise_kind',
  noiseFactor: 'noise_factor',
  noiseFactorMax: 'noise_factor_max',
  trainData: 'train_data',
  trainEpochs: 'train_epochs',
  valLoss: 'val_loss',
  valPsnr: 'val_psnr',
  noisyPsnr: 'noisy_psnr',
  contentHash: 'content_sha256',
  bitmapPixelFormat: 'Image.BitmapPixelFormat',
  colorSpaceGamma: 'Image.ColorSpaceGamma',
  nominalPixelRange: 'Image.NominalPixelRange',
} as const);

/** Numeric precision of a model's weights and arithmetic (its input and output are float32 either way). */
export type Precision = 'float32' | 'float16';

/** The precisions a model may declare. */
export const PRECISIONS = Object.freeze(['float32', 'float16'] as const);

/**
 * "gaussian 0.4", or "gaussian 0.05 to 0.6 (blind)" for a model trained on a range, or "gaussian 0 to 0.22 (level
 * told by a noise map)" for one with a noise map (`noiseMap`: its input's name).
 */
export function describeNoise(noise: NoiseInfo, noiseMap?: string): string {
  if (noise.maxFactor === undefined) return `${noise.kind} ${noise.factor}`;
  return `${noise.kind} ${noise.factor} to ${noise.maxFactor} (${noiseMap === undefined ? 'blind' : 'level told by a noise map'})`;
}

/** The noise a model was trained to remove. */
export interface NoiseInfo {
  /** e.g. `gaussian`. */
  kind: string;
  /** Strength (for gaussian noise, the standard deviation in [0, 1] units); the low end of a blind model's range. */
  factor: number;
  /** A blind model's highest factor: it was trained on factors drawn from [factor, maxFactor]. */
  maxFactor?: number;
}

/** What training reported, as far as it is known. */
export interface TrainingSummary {
  /** The data set, e.g. `fashion-mnist (60000 train / 10000 validation)`. */
  data?: string;
  epochs?: number;
  /** Final validation loss (MSE). */
  valLoss?: number;
  /** Final validation PSNR of the output, dB. */
  valPsnr?: number;
  /** PSNR of the noisy validation input, dB (the baseline). */
  noisyPsnr?: number;
}

/** The layer spec as stored: parsed JSON with the keys every spec has (tools validate the rest with parseSpec). */
export interface SpecJson {
  format: string;
  name: string;
  input: { name: string; channels: number; noiseMap?: string };
  layers: Record<string, unknown>[];
  output: string;
  [key: string]: unknown;
}

/** The ONNX "Image" metadata convention values (absent when the channel count has no standard format). */
export interface ImageMetadata {
  /** `Gray8`, `Rgb8` or `Rgba8`. */
  bitmapPixelFormat?: string;
  /** `SRGB` or `Linear`. */
  colorSpaceGamma?: string;
  /** `Normalized_0_1` for values in [0, 1]. */
  nominalPixelRange?: string;
}

/** A denoiser's metadata, typed. */
export interface DenoiserMetadata {
  formatVersion: number;
  /** The spec's name. */
  name: string;
  spec: SpecJson;
  /** C of the [N, C, H, W] input and output. */
  channels: number;
  /** Values of the input and output, [low, high]. */
  valueRange: [number, number];
  /** The graph pads H and W up to a multiple of this internally, a multiple of every stride: tiles start at multiples of it. */
  sizeMultiple: number;
  /** Input offsets an output pixel depends on (format version 2 on; absent in version 1 exports). */
  receptiveField?: ReceptiveField;
  /**
   * The name of the model's second input (format version 3): the noise map, float32 [N, 1, H, W] of the image's N, H
   * and W, the noise's standard deviation at each pixel on the value range's scale (e.g. 25/255). Absent: blind.
   */
  noiseMap?: string;
  layout: 'NCHW';
  precision: Precision;
  noise?: NoiseInfo;
  training?: TrainingSummary;
  /** sha256 (hex) of the spec text and the weight initializers' bytes. */
  contentHash: string;
  image: ImageMetadata;
}

/** The `Image.BitmapPixelFormat` for a channel count (ONNX defines Gray8, Rgb8, Rgba8; none for 2 channels). */
export function bitmapPixelFormat(channels: number): string | undefined {
  return ({ 1: 'Gray8', 3: 'Rgb8', 4: 'Rgba8' } as Record<number, string>)[channels];
}

/**
 * The metadata_props a model carries, in a fixed order: exactly what {@link decodeDenoiserMetadata} reads back.
 * The spec is stored as given (`specText`, compact JSON) so the content hash can cover its exact bytes.
 */
export function encodeDenoiserMetadata(metadata: DenoiserMetadata, specText: string = JSON.stringify(metadata.spec)): Record<string, string> {
  const K = METADATA_KEYS;
  const props: Record<string, string> = {
    [K.format]: MODEL_FORMAT,
    [K.formatVersion]: String(metadata.formatVersion),
    [K.name]: metadata.name,
    [K.spec]: specText,
    [K.channels]: String(metadata.channels),
    [K.valueRange]: metadata.valueRange.map(String).join(','),
    [K.sizeMultiple]: String(metadata.sizeMultiple),
    ...(metadata.receptiveField ? { [K.receptiveField]: `${metadata.receptiveField.low},${metadata.receptiveField.high}` } : {}),
    ...(metadata.noiseMap !== undefined ? { [K.noiseMap]: metadata.noiseMap } : {}),
    [K.layout]: metadata.layout,
    [K.precision]: metadata.precision,
  };
  if (metadata.noise) {
    props[K.noiseKind] = metadata.noise.kind;
    props[K.noiseFactor] = String(metadata.noise.factor);
    if (metadata.noise.maxFactor !== undefined) props[K.noiseFactorMax] = String(metadata.noise.maxFactor);
  }
  const training = metadata.training ?? {};
  if (training.data !== undefined) props[K.trainData] = training.data;
  if (training.epochs !== undefined) props[K.trainEpochs] = String(training.epochs);
  if (training.valLoss !== undefined) props[K.valLoss] = String(training.valLoss);
  if (training.valPsnr !== undefined) props[K.valPsnr] = String(training.valPsnr);
  if (training.noisyPsnr !== undefined) props[K.noisyPsnr] = String(training.noisyPsnr);
  props[K.contentHash] = metadata.contentHash;
  if (metadata.image.bitmapPixelFormat !== undefined) props[K.bitmapPixelFormat] = metadata.image.bitmapPixelFormat;
  if (metadata.image.colorSpaceGamma !== undefined) props[K.colorSpaceGamma] = metadata.image.colorSpaceGamma;
  if (metadata.image.nominalPixelRange !== undefined) props[K.nominalPixelRange] = metadata.image.nominalPixelRange;
  return props;
}

const NUMBER_TEXT = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

/**
 * What a foreign model (one without `format` = "onnx-denoiser/model") states of the keys a runtime needs; absent
 * keys are left out. Each is read and checked as in an onnx-denoiser model.
 */
export interface ForeignMetadata {
  /** Marks a foreign model: onnx-denoiser metadata has no such field. */
  foreign: true;
  name?: string;
  channels?: number;
  valueRange?: [number, number];
  sizeMultiple?: number;
  receptiveField?: ReceptiveField;
}

/** Options for {@link decodeDenoiserMetadata}. */
export interface DecodeOptions {
  /**
   * `refuse` (default): a model without the onnx-denoiser format key is an error naming that key. `accept`: it is
   * read as {@link ForeignMetadata} (the runtimes run foreign [N, C, H, W] models).
   */
  foreign?: 'refuse' | 'accept';
}

/** The key readers of one model's metadata_props: each value checked, every error naming the key and the source. */
function keyReader(props: Readonly<Record<string, string>>, source: string) {
  const bad = (accepted: string, key: string, received: unknown = props[key]) => new ModelFormatError(invalidMessage(accepted, `metadata "${key}" of ${source}`, received), source);
  const text = (key: string, required: boolean): string | undefined => {
    const value = props[key];
    if (value === undefined || value === '') {
      if (required) throw bad('a non-empty value', key);
      return undefined;
    }
    return value;
  };
  const number = (key: string, required: boolean, test: (n: number) => boolean, accepted: string): number | undefined => {
    const value = text(key, required);
    if (value === undefined) return undefined;
    const n = NUMBER_TEXT.test(value.trim()) ? Number(value) : NaN;
    if (!Number.isFinite(n) || !test(n)) throw bad(accepted, key);
    return n;
  };
  const integer = (key: string, required: boolean, min: number, max = Infinity) =>
    number(key, required, (n) => Number.isInteger(n) && n >= min && n <= max, max === Infinity ? `an integer >= ${min}` : `an integer >= ${min} and <= ${max}`);
  /** "low,high" (a bracketed JSON pair "[low, high]" too) as two numbers passing `test`. */
  const pair = (key: string, required: boolean, test: (low: number, high: number) => boolean, accepted: string): [number, number] | undefined => {
    const value = text(key, required);
    if (value === undefined) return undefined;
    const inner = /^\s*\[(.*)\]\s*$/.exec(value)?.[1] ?? value;
    const parts = inner.split(',').map((p) => (NUMBER_TEXT.test(p.trim()) ? Number(p) : NaN));
    if (parts.length !== 2 || !parts.every(Number.isFinite) || !test(parts[0]!, parts[1]!)) throw bad(accepted, key);
    return [parts[0]!, parts[1]!];
  };
  const K = METADATA_KEYS;
  return {
    bad,
    text,
    number,
    integer,
    channels: (required: boolean) => integer(K.channels, required, 1, 4),
    sizeMultiple: (required: boolean) => integer(K.sizeMultiple, required, 1),
    valueRange: (required: boolean) => pair(K.valueRange, required, (low, high) => low < high, '"low,high" (or "[low, high]") with low < high'),
    receptiveField: (required: boolean): ReceptiveField | undefined => {
      const field = pair(K.receptiveField, required, (low, high) => Number.isInteger(low) && Number.isInteger(high) && low <= 0 && high >= 0, '"low,high": integers with low <= 0 <= high');
      return field && receptiveFieldOf(field[0], field[1]);
    },
  };
}

/**
 * The one reader of a model's metadata_props, for the runtimes and the tools: onnx-denoiser metadata is read
 * strictly (every required key present, every value valid, errors naming the key and `source`); a model without it
 * is refused naming the `format` key, or with `foreign: 'accept'` read as {@link ForeignMetadata}.
 * @throws ModelFormatError for a refused foreign model or an invalid or missing value.
 */
export function decodeDenoiserMetadata(props: Readonly<Record<string, string>>, source: string, options?: { foreign?: 'refuse' }): DenoiserMetadata;
export function decodeDenoiserMetadata(props: Readonly<Record<string, string>>, source: string, options: DecodeOptions): DenoiserMetadata | ForeignMetadata;
export function decodeDenoiserMetadata(props: Readonly<Record<string, string>>, source: string, options: DecodeOptions = {}): DenoiserMetadata | ForeignMetadata {
  const K = METADATA_KEYS;
  const foreign = checkOneOf(options.foreign ?? 'refuse', 'options.foreign', ['refuse', 'accept'] as const);
  const read = keyReader(props, source);
  const { bad, text, number, integer } = read;
  if (props[K.format] !== MODEL_FORMAT) {
    if (foreign === 'refuse') {
      const found = props[K.format] === undefined ? 'a model without it' : `format ${describeValue(props[K.format])}`;
      throw new ModelFormatError(invalidMessage(`an onnx-denoiser model (metadata "${K.format}" = "${MODEL_FORMAT}")`, source, described(found)), source);
    }
    const stated: ForeignMetadata = { foreign: true };
    const name = text(K.name, false);
    if (name !== undefined) stated.name = name;
    const channels = read.channels(false);
    if (channels !== undefined) stated.channels = channels;
    const valueRange = read.valueRange(false);
    if (valueRange !== undefined) stated.valueRange = valueRange;
    const sizeMultiple = read.sizeMultiple(false);
    if (sizeMultiple !== undefined) stated.sizeMultiple = sizeMultiple;
    const receptiveField = read.receptiveField(false);
    if (receptiveField !== undefined) stated.receptiveField = receptiveField;
    return stated;
  }

  const formatVersion = integer(K.formatVersion, true, 1)!;
  if (!(MODEL_FORMAT_VERSIONS as readonly number[]).includes(formatVersion)) throw bad(`a supported format version (${MODEL_FORMAT_VERSIONS.join(', ')})`, K.formatVersion);
  const channels = read.channels(true)!;
  const sizeMultiple = read.sizeMultiple(true)!;
  const valueRange = read.valueRange(true)!;
  // Version 1 exports predate the key: they load, and the runtimes say what they assume instead.
  const receptiveField = read.receptiveField(formatVersion >= 2);

  let spec: unknown;
  try {
    spec = JSON.parse(text(K.spec, true)!);
  } catch {
    throw bad('the layer spec as JSON', K.spec);
  }
  const s = spec as Partial<SpecJson> | null;
  if (
    !s || typeof s !== 'object' || s.format !== 'onnx-denoiser/spec' || typeof s.name !== 'string' || !Array.isArray(s.layers) ||
    typeof s.output !== 'string' || typeof s.input !== 'object' || s.input === null || typeof s.input.name !== 'string'
  ) {
    throw bad('a layer spec (JSON with format "onnx-denoiser/spec", name, input, layers, output)', K.spec);
  }
  if (s.input.channels !== channels) throw bad(`a spec whose input has ${channels} channel(s), as metadata "${K.channels}" says`, K.spec, `input.channels ${describeValue(s.input.channels)}`);
  const noiseMap = text(K.noiseMap, false);
  if (noiseMap !== undefined && formatVersion < MODEL_FORMAT_VERSION_NOISE_MAP) throw bad(`no value in a format version ${formatVersion} model (noise maps came with version ${MODEL_FORMAT_VERSION_NOISE_MAP})`, K.noiseMap);
  if (noiseMap !== s.input.noiseMap) {
    throw bad(noiseMap === undefined ? `a value, the spec's input.noiseMap ${describeValue(s.input.noiseMap)}` : `the spec's input.noiseMap (${describeValue(s.input.noiseMap)})`, K.noiseMap, noiseMap === undefined ? described('none') : noiseMap);
  }

  const layout = text(K.layout, true)!;
  if (layout !== 'NCHW') throw bad('"NCHW"', K.layout);
  const precision = text(K.precision, true)!;
  if (!(PRECISIONS as readonly string[]).includes(precision)) throw bad(`one of ${PRECISIONS.map((p) => `"${p}"`).join(', ')}`, K.precision);
  const contentHash = text(K.contentHash, true)!;
  if (!/^[0-9a-f]{64}$/.test(contentHash)) throw bad('a sha256 in 64 lowercase hex digits', K.contentHash);
  const name = text(K.name, true)!;

  const result: DenoiserMetadata = {
    formatVersion,
    name,
    spec: s as SpecJson,
    channels,
    valueRange,
    sizeMultiple,
    ...(receptiveField ? { receptiveField } : {}),
    ...(noiseMap !== undefined ? { noiseMap } : {}),
    layout: 'NCHW',
    precision: precision as Precision,
    contentHash,
    image: {},
  };
  const noiseKind = text(K.noiseKind, false);
  const noiseFactor = number(K.noiseFactor, noiseKind !== undefined, (n) => n >= 0, 'a number >= 0');
  const noiseFactorMax = number(K.noiseFactorMax, false, (n) => n >= (noiseFactor ?? 0), `a number >= metadata "${K.noiseFactor}"`);
  if (noiseKind !== undefined) result.noise = { kind: noiseKind, factor: noiseFactor!, ...(noiseFactorMax !== undefined ? { maxFactor: noiseFactorMax } : {}) };
  else if (noiseFactor !== undefined) throw bad(`a value only with metadata "${K.noiseKind}"`, K.noiseFactor);

  const training: TrainingSummary = {};
  const data = text(K.trainData, false);
  if (data !== undefined) training.data = data;
  const epochs = integer(K.trainEpochs, false, 0);
  if (epochs !== undefined) training.epochs = epochs;
  const valLoss = number(K.valLoss, false, (n) => n >= 0, 'a number >= 0');
  if (valLoss !== undefined) training.valLoss = valLoss;
  const valPsnr = number(K.valPsnr, false, () => true, 'a number');
  if (valPsnr !== undefined) training.valPsnr = valPsnr;
  const noisyPsnr = number(K.noisyPsnr, false, () => true, 'a number');
  if (noisyPsnr !== undefined) training.noisyPsnr = noisyPsnr;
  if (Object.keys(training).length > 0) result.training = training;

  const pixelFormat = text(K.bitmapPixelFormat, false);
  if (pixelFormat !== undefined) result.image.bitmapPixelFormat = pixelFormat;
  const gamma = text(K.colorSpaceGamma, false);
  if (gamma !== undefined) result.image.colorSpaceGamma = gamma;
  const pixelRange = text(K.nominalPixelRange, false);
  if (pixelRange !== undefined) result.image.nominalPixelRange = pixelRange;
  return result;
}

