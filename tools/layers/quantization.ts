// Int8 quantization of a spec (its `quantization: "int8"`): which tensors are quantized, their range weights, and the weight and activation rounding that the TF.js builder fakes and the ONNX emitter writes.
import type { LayerSpec } from './layer-registry.js';
import type { NamedWeightDef, NetworkSpec } from './spec.js';

/** Quantization modes a spec may name. */
export const QUANTIZATION_MODES = Object.freeze(['int8'] as const);

/** A mode from {@link QUANTIZATION_MODES}. */
export type QuantizationMode = (typeof QUANTIZATION_MODES)[number];

/** Largest magnitude of a quantized weight: symmetric int8, -127 to 127 (no -128, so the grid is symmetric). */
export const WEIGHT_LEVELS = 127;

/** Largest quantized activation: uint8 with zero point 0, 0 to 255. */
export const ACTIVATION_LEVELS = 255;

/** The suffix of a quantized tensor's range weight (`<tensor>.range`): the running maximum its scale is range / 255 of. */
export const RANGE_SUFFIX = 'range';

/** The smallest range (and weight scale) used, so an all-zero tensor or channel does not divide by zero. */
export const MIN_RANGE = 1e-8;

/** Activations whose output is never negative. */
const NON_NEGATIVE = new Set(['relu', 'relu6', 'sigmoid', 'hardSigmoid', 'softplus']);

/**
 * The tensors an int8 spec quantizes, in graph order (inputs first): every tensor that a convolution or an add reads
 * and that cannot be negative: the image (values in [0, 1]) and the noise map, outputs of layers with a non-negative
 * activation, and concatenations and linear sums of such tensors. Each becomes uint8 with zero point 0; ONNX Runtime
 * then runs the convolutions and adds between them in integers. A tensor that may be negative (a linear convolution's
 * output) stays float, and so does whatever reads it. Empty for a spec without quantization.
 */
export function quantizedTensors(spec: NetworkSpec): string[] {
  if (spec.quantization === undefined) return [];
  const nonNegative = new Set<string>([spec.input.name, ...(spec.input.noiseMap === undefined ? [] : [spec.input.noiseMap])]);
  for (const layer of spec.layers) if (isNonNegative(layer, nonNegative)) nonNegative.add(layer.name);
  const read = new Set(spec.layers.filter((l) => l.kind === 'conv2d' || l.kind === 'conv2dTranspose' || l.kind === 'add').flatMap((l) => l.inputs));
  const order = [spec.input.name, ...(spec.input.noiseMap === undefined ? [] : [spec.input.noiseMap]), ...spec.layers.map((l) => l.name)];
  return order.filter((t) => nonNegative.has(t) && read.has(t));
}

function isNonNegative(layer: LayerSpec, nonNegative: ReadonlySet<string>): boolean {
  const activation = 'activation' in layer ? layer.activation : 'linear';
  if (NON_NEGATIVE.has(activation)) return true;
  if (activation !== 'linear') return false;
  if (layer.kind === 'concat' || layer.kind === 'add') return layer.inputs.every((t) => nonNegative.has(t));
  if (layer.kind === 'clip') return layer.min >= 0;
  return false;
}

/** The range weights of an int8 spec: one scalar (shape [1]) per quantized tensor, `<tensor>.range`. */
export function rangeDefs(spec: NetworkSpec): NamedWeightDef[] {
  return quantizedTensors(spec).map((t) => ({ name: `${t}.${RANGE_SUFFIX}`, layer: t, suffix: RANGE_SUFFIX, shape: [1], layout: 'scalar: the running maximum; scale = range / 255' }));
}

/**
 * Per-output-channel symmetric int8 weights of a kernel whose output channel is the index `(i / inner) % channels`
 * of each value (row-major, `inner` values per output channel within each block): scale_c = max |w| of channel c /
 * 127 (at least {@link MIN_RANGE}), q = round(w / scale_c) with ties to even, as ONNX QuantizeLinear rounds.
 */
export function quantizeWeights(data: Float32Array, channels: number, inner: number): { values: Int8Array; scales: Float32Array } {
  const scales = new Float32Array(channels);
  for (let i = 0; i < data.length; i++) {
    const c = Math.floor(i / inner) % channels;
    scales[c] = Math.max(scales[c]!, Math.abs(data[i]!));
  }
  for (let c = 0; c < channels; c++) scales[c] = Math.max(scales[c]! / WEIGHT_LEVELS, MIN_RANGE);
  const values = new Int8Array(data.length);
  for (let i = 0; i < data.length; i++) values[i] = Math.max(-WEIGHT_LEVELS, Math.min(WEIGHT_LEVELS, roundHalfEven(data[i]! / scales[Math.floor(i / inner) % channels]!)));
  return { values, scales };
}

/**
 * A convolution's bias on the int32 grid its integer kernel adds it on: step_c = input scale x kernel scale_c, q =
 * round(b / step_c). The steps come back as float32, as an ONNX initializer stores them.
 */
export function quantizeBias(bias: Float32Array, kernelScales: Float32Array, inputScale: number): { values: Int32Array; scales: Float32Array } {
  const steps = Array.from(kernelScales, (s) => s * inputScale);
  return { values: Int32Array.from(bias, (b, c) => roundHalfEven(b / steps[c]!)), scales: Float32Array.from(steps) };
}

/** Rounds to the nearest integer, ties to even (as ONNX QuantizeLinear and TF's round). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The scale of a quantized activation: range / 255, at least {@link MIN_RANGE} / 255. */
export function activationScale(range: number): number {
  return Math.max(range, MIN_RANGE) / ACTIVATION_LEVELS;
}
