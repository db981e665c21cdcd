// Denoiser model metadata: the metadata_props keys the ONNX emitter writes and the typed reader both runtimes use (browser-safe: onnx-proto only).
import onnxProto, { type onnx as Onnx } from 'onnx-proto';
import { ModelFormatError } from './model-info.js';
import { describeValue, invalid } from './validate.js';

const { onnx } = onnxProto;

/** The value of the `format` key in every model the emitter writes. */
export const MODEL_FORMAT = 'onnx-denoiser/model';

/** Metadata format versions this reader understands. */
export const MODEL_FORMAT_VERSIONS = Object.freeze([1] as const);

/**
 * The metadata_props keys, by field. Values are strings: numbers in decimal, the spec as JSON, the value range as
 * "low,high". `Image.*` are the ONNX image metadata convention (onnx/docs/MetadataProps.md).
 */
export const METADATA_KEYS = Object.freeze({
  format: 'format',
  formatVersion: 'format_version',
  name: 'name',
  spec: 'spec',
  channels: 'channels',
  valueRange: 'value_range',
  sizeMultiple: 'size_multiple',
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

/** "gaussian 0.4", or "gaussian 0.05 to 0.6 (blind)" for a model trained on a range. */
export function describeNoise(noise: NoiseInfo): string {
  return noise.maxFactor === undefined ? `${noise.kind} ${noise.factor}` : `${noise.kind} ${noise.factor} to ${noise.maxFactor} (blind)`;
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
  input: { name: string; channels: number };
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
  /** The graph pads H and W up to a multiple of this internally; callers may align tiles to it. */
  sizeMultiple: number;
  layout: 'NCHW';
  precision: Precision;
  noise?: NoiseInfo;
  training?: TrainingSummary;
  /** sha256 (hex) of the spec text and the weight initializers' bytes. */
  contentHash: string;
  image: ImageMetadata;
}

/** A tensor of a graph's inputs or outputs: element type name and dims (numbers, or names for free dims). */
export interface TensorSummary {
  name: string;
  /** e.g. `FLOAT`, `FLOAT16`. */
  type: string;
  dims: (number | string)[];
}

/** The model-level facts of an ONNX file. */
export interface OnnxModelSummary {
  irVersion: number;
  /** Every opset import; the default domain is written as "ai.onnx". */
  opsets: { domain: string; version: number }[];
  /** The default-domain opset, or 0 when none is imported. */
  opset: number;
  producerName: string;
  producerVersion: string;
  domain: string;
  modelVersion: number;
  docString: string;
  graphName: string;
  inputs: TensorSummary[];
  outputs: TensorSummary[];
  /** metadata_props as stored. */
  metadataProps: Record<string, string>;
}

/** {@link readModelMetadata}'s result. */
export interface ModelMetadata {
  model: OnnxModelSummary;
  metadata: DenoiserMetadata;
}

/** The `Image.BitmapPixelFormat` for a channel count (ONNX defines Gray8, Rgb8, Rgba8; none for 2 channels). */
export function bitmapPixelFormat(channels: number): string | undefined {
  return ({ 1: 'Gray8', 3: 'Rgb8', 4: 'Rgba8' } as Record<number, string>)[channels];
}

/** Converts a protobufjs int64 (number or Long) to a number. */
export function int64ToNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (value && typeof value === 'object' && 'low' in value && 'high' in value) {
    const { low, high, unsigned } = value as { low: number; high: number; unsigned?: boolean };
    return (unsigned ? high >>> 0 : high) * 2 ** 32 + (low >>> 0);
  }
  return value === null || value === undefined ? 0 : Number(value);
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
 * Reads the typed metadata from metadata_props, validating each value; errors name the key and `source`.
 * @throws ModelFormatError for props without the onnx-denoiser format key (a foreign model) or with invalid values.
 */
export function decodeDenoiserMetadata(props: Readonly<Record<string, string>>, source: string): DenoiserMetadata {
  const K = METADATA_KEYS;
  const where = (key: string) => `metadata "${key}" of ${source}`;
  const bad = (accepted: string, key: string, received: unknown = props[key]) => new ModelFormatError(invalid(accepted, where(key), received).message, source);
  if (props[K.format] !== MODEL_FORMAT) {
    const found = props[K.format] === undefined ? 'a model without it' : `format ${describeValue(props[K.format])}`;
    throw new ModelFormatError(`Expected an onnx-denoiser model (metadata "${K.format}" = "${MODEL_FORMAT}") for ${source} but received ${found}`, source);
  }
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

  const formatVersion = integer(K.formatVersion, true, 1)!;
  if (!(MODEL_FORMAT_VERSIONS as readonly number[]).includes(formatVersion)) throw bad(`a supported format version (${MODEL_FORMAT_VERSIONS.join(', ')})`, K.formatVersion);
  const channels = integer(K.channels, true, 1, 4)!;
  const sizeMultiple = integer(K.sizeMultiple, true, 1)!;

  const rangeParts = text(K.valueRange, true)!.split(',');
  const valueRange = rangeParts.map((p) => (NUMBER_TEXT.test(p.trim()) ? Number(p) : NaN));
  if (valueRange.length !== 2 || !valueRange.every(Number.isFinite) || !(valueRange[0]! < valueRange[1]!)) throw bad('"low,high" with low < high', K.valueRange);

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
    valueRange: [valueRange[0]!, valueRange[1]!],
    sizeMultiple,
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

function elementTypeName(type: number | null | undefined): string {
  const names = onnx.TensorProto.DataType as unknown as Record<number, string>;
  return (type !== null && type !== undefined && names[type]) || `type ${type}`;
}

function tensorSummary(value: Onnx.IValueInfoProto): TensorSummary {
  const tensor = value.type?.tensorType;
  return {
    name: value.name ?? '',
    type: tensor ? elementTypeName(tensor.elemType) : 'not a tensor',
    dims: (tensor?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : d.dimValue !== null && d.dimValue !== undefined ? int64ToNumber(d.dimValue) : '?')),
  };
}

/**
 * Decodes ONNX bytes (with onnx-proto, so it runs in a browser too) into the proto and its model-level summary.
 * @throws ModelFormatError naming `source` for bytes that are no ONNX model (empty, truncated, foreign, no graph).
 */
export function decodeOnnxModel(bytes: Uint8Array, source: string): { proto: Onnx.ModelProto; model: OnnxModelSummary } {
  let proto: Onnx.ModelProto;
  try {
    proto = onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw new ModelFormatError(`Expected an ONNX model file for ${source} but received bytes that are not one (${(error as Error).message})`, source);
  }
  const irVersion = int64ToNumber(proto.irVersion);
  if (!proto.graph || irVersion < 1) {
    const what = bytes.length === 0 ? 'an empty file' : !proto.graph ? 'bytes without an ONNX graph' : 'a graph without an IR version';
    throw new ModelFormatError(`Expected an ONNX model file for ${source} but received ${what}`, source);
  }
  const opsets = (proto.opsetImport ?? []).map((o) => ({ domain: o.domain || 'ai.onnx', version: int64ToNumber(o.version) }));
  const metadataProps: Record<string, string> = {};
  for (const entry of proto.metadataProps ?? []) metadataProps[entry.key ?? ''] = entry.value ?? '';
  return {
    proto,
    model: {
      irVersion,
      opsets,
      opset: opsets.find((o) => o.domain === 'ai.onnx')?.version ?? 0,
      producerName: proto.producerName ?? '',
      producerVersion: proto.producerVersion ?? '',
      domain: proto.domain ?? '',
      modelVersion: int64ToNumber(proto.modelVersion),
      docString: proto.docString ?? '',
      graphName: proto.graph.name ?? '',
      inputs: (proto.graph.input ?? []).map(tensorSummary),
      outputs: (proto.graph.output ?? []).map(tensorSummary),
      metadataProps,
    },
  };
}

/**
 * Reads an onnx-denoiser model's facts and typed metadata from its bytes.
 * @throws ModelFormatError naming `source` for a file that is no ONNX model, a foreign ONNX model (no onnx-denoiser
 * metadata) or invalid metadata values (the message names the key).
 */
export function readModelMetadata(bytes: Uint8Array, source: string): ModelMetadata {
  const { model } = decodeOnnxModel(bytes, source);
  return { model, metadata: decodeDenoiserMetadata(model.metadataProps, source) };
}
