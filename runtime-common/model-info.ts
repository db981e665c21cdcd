// What a runtime needs to know about a denoiser model: its tensors, channels, value range, size multiple and receptive field, from its I/O and metadata_props (read by model-metadata.ts).
import { defaultOverlap } from './denoise-core.js';
import type { ValueRange } from './image-ops.js';
import { decodeDenoiserMetadata, METADATA_KEYS, ModelFormatError, type DenoiserMetadata } from './model-metadata.js';
import { described, invalidMessage } from './validate.js';
import { DEFAULT_RECEPTIVE_FIELD, type ReceptiveField } from './tiling.js';

export { ModelFormatError } from './model-metadata.js';

/** A model input or output as a session reports it (the shape of onnxruntime's `ValueMetadata`). */
export interface TensorDescription {
  name: string;
  isTensor?: boolean;
  type?: string;
  shape?: ReadonlyArray<number | string>;
}

/** What the runtimes read from a denoiser model. */
export interface ModelInfo {
  /** Where the model came from (a path, a URL or "buffer"), for messages. */
  source: string;
  inputName: string;
  outputName: string;
  /**
   * The model's second input, where it takes one: the noise map, float32 [N, 1, H, W], the noise's standard deviation
   * per pixel on the value range's scale. The runtimes fill it with a level given per call or estimated per image.
   */
  noiseMapName?: string;
  /** C of the [N, C, H, W] input and output. */
  channels: number;
  /** The value range of the model's input and output (e.g. [0, 1]). */
  valueRange: ValueRange;
  /** Tile starts are aligned to this: metadata "size_multiple", a multiple of every stride in the network (1 when not stated). */
  sizeMultiple: number;
  /** Metadata "receptive_field"; undefined when the model does not state it (tiling then assumes DEFAULT_RECEPTIVE_FIELD). */
  receptiveField: ReceptiveField | undefined;
  /** [height, width] when the model's input fixes them (then only images of that size are taken, untiled). */
  fixedSize?: readonly [number, number];
  /** The spec's name, when known. */
  name: string | undefined;
  /** Every metadata_props entry as stored. */
  metadata: Readonly<Record<string, string>>;
  /** The onnx-denoiser metadata, typed; undefined for a foreign model. */
  denoiserMetadata?: DenoiserMetadata;
  /** What the runtime assumes because the model does not say, for people (a CLI prints them; the libraries never log). */
  warnings: readonly string[];
}

/** One model run's output as onnxruntime gives it: the tensor's data and dimensions. */
export interface ModelOutput {
  data: unknown;
  dims: readonly number[];
}

/**
 * Checks one model run's output against its input: float32 of exactly the input's [N, C, H, W], every value finite.
 * A model with free dimensions can return another shape (or NaN) that would otherwise be written as black pixels.
 * @throws ModelFormatError naming `source` otherwise.
 */
export function checkModelOutput(source: string, inputDims: readonly number[], output: ModelOutput): Float32Array {
  const { data, dims } = output;
  const same = dims.length === inputDims.length && dims.every((d, i) => d === inputDims[i]);
  if (!same) {
    throw new ModelFormatError(invalidMessage(`[${inputDims.join(', ')}] (the input's N, C, H, W)`, `the output shape of ${source}`, described(`[${dims.join(', ')}]`), 'it is not a denoiser that keeps the image size'), source);
  }
  if (!(data instanceof Float32Array)) throw new ModelFormatError(invalidMessage('float32 values', `the output of ${source}`, described((data as object)?.constructor?.name ?? typeof data)), source);
  // v - v is 0 for every finite v, NaN for NaN and the infinities, so the sum is 0 exactly when all are finite: one
  // pass without branches; the bad values are only looked for when there are some. Four sums, so that each add need
  // not wait for the one before (a 28x28 output: about 0.3 us instead of 1).
  let a = 0;
  let b = 0;
  let c = 0;
  let d = 0;
  const whole = data.length - (data.length % 4);
  for (let i = 0; i < whole; i += 4) {
    a += data[i]! - data[i]!;
    b += data[i + 1]! - data[i + 1]!;
    c += data[i + 2]! - data[i + 2]!;
    d += data[i + 3]! - data[i + 3]!;
  }
  for (let i = whole; i < data.length; i++) a += data[i]! - data[i]!;
  if (a + b + c + d !== 0) {
    let bad = 0;
    let first = -1;
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (v - v !== 0) {
        bad++;
        if (first < 0) first = i;
      }
    }
    throw new ModelFormatError(invalidMessage('finite values', `the output of ${source}`, described(`${data[first]} at index ${first} (${bad} of ${data.length} values not finite)`)), source);
  }
  return data;
}

function readVarint(bytes: Uint8Array, at: { pos: number }): number {
  let result = 0;
  let shift = 0;
  for (;;) {
    if (at.pos >= bytes.length) throw new Error('truncated varint');
    const byte = bytes[at.pos++]!;
    result += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return result;
    shift += 7;
    if (shift > 63) throw new Error('varint too long');
  }
}

/** Walks one protobuf message, calling `field` for each length-delimited field; throws on malformed data. */
function walkMessage(bytes: Uint8Array, field: (number: number, value: Uint8Array) => void): number[] {
  const seen: number[] = [];
  const at = { pos: 0 };
  while (at.pos < bytes.length) {
    const key = readVarint(bytes, at);
    const number = Math.floor(key / 8);
    const wire = key % 8;
    if (number === 0) throw new Error('field number 0');
    seen.push(number);
    if (wire === 0) readVarint(bytes, at);
    else if (wire === 1) at.pos += 8;
    else if (wire === 5) at.pos += 4;
    else if (wire === 2) {
      const length = readVarint(bytes, at);
      if (at.pos + length > bytes.length) throw new Error('field runs past the end (truncated file?)');
      field(number, bytes.subarray(at.pos, at.pos + length));
      at.pos += length;
    } else throw new Error(`wire type ${wire}`);
    if (at.pos > bytes.length) throw new Error('field runs past the end (truncated file?)');
  }
  return seen;
}

/**
 * Reads an ONNX file's metadata_props (ModelProto field 14) as a plain object, checking on the way that the bytes
 * are a protobuf ModelProto with a graph.
 * @throws ModelFormatError naming `source` when the bytes are not an ONNX model.
 */
export function readOnnxMetadata(bytes: Uint8Array, source: string): Record<string, string> {
  const metadata: Record<string, string> = {};
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let fields: number[];
  try {
    fields = walkMessage(bytes, (number, value) => {
      if (number !== 14) return;
      let key = '';
      let text = '';
      walkMessage(value, (n, v) => {
        if (n === 1) key = decoder.decode(v);
        if (n === 2) text = decoder.decode(v);
      });
      metadata[key] = text;
    });
  } catch (error) {
    throw new ModelFormatError(invalidMessage('an ONNX model file', source, described(`bytes that are not one (${(error as Error).message})`)), source);
  }
  if (!fields.includes(7)) {
    throw new ModelFormatError(invalidMessage('an ONNX model file', source, described(bytes.length === 0 ? 'an empty file' : 'a protobuf message without a graph')), source);
  }
  return metadata;
}

/**
 * Describes a denoiser from its session's inputs and outputs and its metadata_props: one float32 input and one
 * float32 output of rank 4 ([N, C, H, W], same C). onnx-denoiser metadata is read strictly (decodeDenoiserMetadata);
 * a foreign model may state `channels`, `value_range`, `size_multiple` and `receptive_field`, read the same way.
 * Channels come from the input's shape (or the metadata when the shape leaves C open); the value range defaults to
 * [0, 1] and the size multiple to 1; without a receptive field, `warnings` says what tiling assumes.
 * @throws ModelFormatError naming `source` for a model that is no image denoiser, or a missing or invalid metadata value.
 */
export function describeModel(inputs: readonly TensorDescription[], outputs: readonly TensorDescription[], metadata: Record<string, string>, source: string): ModelInfo {
  const fail = (received: string) =>
    new ModelFormatError(invalidMessage('an image denoiser (one float32 input and one float32 output [N, C, H, W], and a noise map input where its metadata names one)', source, described(received)), source);
  const describe = (list: readonly TensorDescription[]) => list.map((t) => `${t.name}: ${t.type ?? '?'}[${(t.shape ?? []).join(', ')}]`).join(', ');
  const stated = decodeDenoiserMetadata(metadata, source, { foreign: 'accept' });
  const own = 'foreign' in stated ? undefined : stated;
  const noiseMapName = own?.noiseMap;
  const imageInputs = inputs.filter((t) => t.name !== noiseMapName);
  const mapInput = inputs.find((t) => t.name === noiseMapName);
  if (imageInputs.length !== 1 || outputs.length !== 1 || (noiseMapName !== undefined && !mapInput)) {
    throw fail(`a model with ${inputs.length} input(s) (${describe(inputs)}) and ${outputs.length} output(s) (${describe(outputs)})`);
  }
  const input = imageInputs[0]!;
  const output = outputs[0]!;
  for (const tensor of [input, output, ...(mapInput ? [mapInput] : [])]) {
    if (tensor.isTensor === false || (tensor.type !== undefined && tensor.type !== 'float32') || (tensor.shape !== undefined && tensor.shape.length !== 4)) {
      throw fail(`${tensor === input ? 'input' : tensor === output ? 'output' : 'noise map'} ${describe([tensor])}`);
    }
  }
  if (mapInput && typeof mapInput.shape?.[1] === 'number' && mapInput.shape[1] !== 1) throw fail(`a noise map with ${mapInput.shape[1]} channels (${describe([mapInput])})`);
  const fromShape = typeof input.shape?.[1] === 'number' ? (input.shape[1] as number) : undefined;
  if (fromShape !== undefined && stated.channels !== undefined && fromShape !== stated.channels) throw fail(`input channels ${fromShape} but metadata channels ${stated.channels}`);
  const channels = fromShape ?? stated.channels;
  if (channels === undefined) throw fail(`an input whose channel count is neither fixed in its shape nor in the metadata (${describe([input])})`);
  const outChannels = output.shape?.[1];
  if (typeof outChannels === 'number' && outChannels !== channels) throw fail(`${channels} input channels but ${outChannels} output channels`);
  const sizeMultiple = stated.sizeMultiple ?? 1;
  const receptiveField = stated.receptiveField;
  const [, , h, w] = input.shape ?? [];
  const fixedSize = typeof h === 'number' && typeof w === 'number' ? ([h, w] as const) : undefined;
  const warnings: string[] = [];
  // A fixed-size model runs untiled: its receptive field does not matter.
  if (receptiveField === undefined && !fixedSize) {
    const key = `metadata "${METADATA_KEYS.receptiveField}"`;
    const why = own ? `is an export of format version ${own.formatVersion}, without ${key} (export it again to add it)` : `does not state its receptive field (${key})`;
    const { low, high } = DEFAULT_RECEPTIVE_FIELD;
    warnings.push(`${source} ${why}: tiling assumes [${low}, ${high}] and overlaps tiles by ${defaultOverlap({ sizeMultiple, receptiveField })} px unless told otherwise; seams may show if the network sees farther`);
  }
  return {
    source,
    ...(fixedSize ? { fixedSize } : {}),
    inputName: input.name,
    outputName: output.name,
    ...(noiseMapName !== undefined ? { noiseMapName } : {}),
    channels,
    valueRange: stated.valueRange ?? [0, 1],
    sizeMultiple,
    receptiveField,
    name: stated.name,
    metadata: Object.freeze({ ...metadata }),
    ...(own ? { denoiserMetadata: own } : {}),
    warnings: Object.freeze(warnings),
  };
}
