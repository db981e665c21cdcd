// Spec -> tf.LayersModel, with layer names from the spec and weights read and written by spec names.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { described, invalid } from 'onnx-denoiser-common';
import { convOutputLength, deconvOutputLength, type Activation, type LayerKindName, type LayerSpec, type Padding } from '../layers/layer-registry.js';
import { inputTensors, weightDefs, type NetworkSpec } from '../layers/spec.js';
import { ACTIVATION_LEVELS, activationScale, MIN_RANGE, quantizeBias, quantizedTensors, quantizeWeights, rangeDefs } from '../layers/quantization.js';

type Builder<K extends LayerKindName> = (layer: Extract<LayerSpec, { kind: K }>, inputs: tfl.SymbolicTensor[], seed: number | undefined) => tfl.SymbolicTensor;

/** Keras glorot-uniform kernels (zero biases), seeded per layer when a seed is given. */
function kernelInitializer(seed: number | undefined) {
  return seed === undefined ? 'glorotUniform' : tfl.initializers.glorotUniform({ seed });
}

function convArgs(layer: Extract<LayerSpec, { kind: 'conv2d' | 'conv2dTranspose' }>, seed: number | undefined) {
  return {
    name: layer.name,
    filters: layer.filters,
    kernelSize: layer.kernelSize,
    strides: layer.strides,
    padding: layer.padding,
    activation: layer.activation as NonNullable<Parameters<typeof tfl.layers.conv2d>[0]['activation']>,
    useBias: layer.useBias,
    kernelInitializer: kernelInitializer(seed),
    dataFormat: 'channelsLast' as const, // NHWC
  };
}

/**
 * A weightless layer computing `op` over its inputs (TF.js has no Subtract or Clip layer). Output shape: the first
 * input's. Not registered for serialisation: models are rebuilt from the spec, never saved as TF.js JSON.
 */
class ElementwiseLayer extends tfl.layers.Layer {
  static readonly className = 'OnnxDenoiserElementwise';
  readonly #op: (inputs: tf.Tensor[]) => tf.Tensor;

  constructor(name: string, op: (inputs: tf.Tensor[]) => tf.Tensor) {
    super({ name, trainable: false });
    this.#op = op;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return Array.isArray(inputShape[0]) ? (inputShape[0] as tfl.Shape) : (inputShape as tfl.Shape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => this.#op(Array.isArray(inputs) ? inputs : [inputs]));
  }

  override getClassName(): string {
    return ElementwiseLayer.className;
  }
}

type LayerActivation = NonNullable<Parameters<typeof tfl.layers.activation>[0]['activation']>;

/** Applies the layer's activation as its own layer named after the spec layer (`<name>/linear` feeds it), if any. */
function withActivation(name: string, activation: Activation, linear: (name: string) => tfl.SymbolicTensor): tfl.SymbolicTensor {
  if (activation === 'linear') return linear(name);
  return tfl.layers.activation({ name, activation: activation as LayerActivation }).apply(linear(`${name}/linear`)) as tfl.SymbolicTensor;
}

/** One TF.js builder per registry kind; the mapped type makes a missing kind a compile error. */
const TFJS_BUILDERS: { readonly [K in LayerKindName]: Builder<K> } = Object.freeze({
  conv2d: (layer, [x], seed) => tfl.layers.conv2d(convArgs(layer, seed)).apply(x!) as tfl.SymbolicTensor,
  conv2dTranspose: (layer, [x], seed) => tfl.layers.conv2dTranspose(convArgs(layer, seed)).apply(x!) as tfl.SymbolicTensor,
  add: (layer, xs) => withActivation(layer.name, layer.activation, (name) => tfl.layers.add({ name }).apply(xs) as tfl.SymbolicTensor),
  subtract: (layer, xs) =>
    withActivation(layer.name, layer.activation, (name) => new ElementwiseLayer(name, ([a, b]) => tf.sub(a!, b!)).apply(xs) as tfl.SymbolicTensor),
  // NHWC: the channels are the last axis.
  concat: (layer, xs) => tfl.layers.concatenate({ name: layer.name, axis: -1 }).apply(xs) as tfl.SymbolicTensor,
  clip: (layer, [x]) => new ElementwiseLayer(layer.name, ([a]) => tf.clipByValue(a!, layer.min, layer.max)).apply(x!) as tfl.SymbolicTensor,
});

/** The weight of the new batch maximum in a quantized tensor's running range (an exponential moving average). */
export const RANGE_UPDATE = 0.01;

type CustomGradFunc = Parameters<typeof tf.customGrad>[0];

/** `value` forward, `x`'s gradient passed through unchanged (the rounding's own derivative is 0 almost everywhere). */
function straightThrough(x: tf.Tensor, value: Float32Array): tf.Tensor {
  return tf.customGrad(((v: tf.Tensor) => ({ value: tf.tensor(value, v.shape, 'float32'), gradFunc: (dy: tf.Tensor) => dy })) as unknown as CustomGradFunc)(x);
}

/**
 * Int8 weights faked in float: {@link quantizeWeights} per output channel (axis `outAxis`), worked out in JS (the
 * kernels are small; TF.js's wasm broadcasting ops took longer than the training step). Returns the faked kernel and
 * the channel scales, which the bias's grid needs.
 */
function fakeQuantKernel(kernel: tf.Tensor, outAxis: number): { kernel: tf.Tensor; scales: Float32Array } {
  const data = kernel.dataSync() as Float32Array;
  const channels = kernel.shape[outAxis]!;
  const inner = kernel.shape.slice(outAxis + 1).reduce((a, b) => a * b, 1);
  const { values, scales } = quantizeWeights(data, channels, inner);
  const f32 = Float32Array.from(scales);
  return { kernel: straightThrough(kernel, Float32Array.from(values, (q, i) => q * f32[Math.floor(i / inner) % channels]!)), scales };
}

/** A bias on its int32 grid (see quantizeBias), with a straight-through gradient. */
function fakeQuantBias(bias: tf.Tensor, kernelScales: Float32Array, inputScale: number): tf.Tensor {
  const { values, scales } = quantizeBias(bias.dataSync() as Float32Array, kernelScales, inputScale);
  return straightThrough(bias, Float32Array.from(values, (q, c) => q * scales[c]!));
}

/**
 * A uint8 activation faked in float as ONNX QuantizeLinear and DequantizeLinear compute it: x / scale rounded (ties
 * to even), clamped to 0..255, times scale (scale = top / 255 as a float32, as the ONNX initializer stores it). The
 * gradient passes straight through up to `top` and is 0 above it, where the value was clamped (quantized tensors are
 * never negative, see quantizedTensors). Only whole-tensor ops and ops with number attributes: TF.js's wasm backend
 * broadcasts a one-value tensor at about 1 us per element.
 */
function fakeQuantActivation(x: tf.Tensor, top: number): tf.Tensor {
  const scale = Math.fround(activationScale(top));
  return tf.customGrad(((v: tf.Tensor, save: (tensors: tf.Tensor[]) => void) => {
    const clamped = tf.clipByValue(v, 0, top);
    const value = tf.mul(tf.clipByValue(tf.round(tf.div(v, scale)), 0, ACTIVATION_LEVELS), scale);
    // 1 where nothing was cut, 0 where it was: any cut is at least one float32 ulp, times 2^100 clamps to 1.
    save([tf.sub(1, tf.clipByValue(tf.mul(tf.sub(v, clamped), 2 ** 100), 0, 1))]);
    return { value, gradFunc: (dy: tf.Tensor, [kept]: tf.Tensor[]) => tf.mul(dy, kept!) };
  }) as unknown as CustomGradFunc)(x);
}

/**
 * A quantized tensor of an int8 spec: passes its input through {@link fakeQuantActivation} with the range weight
 * `range` ([1]), which training keeps as a running maximum (the first batch's maximum, then RANGE_UPDATE of each new
 * one). Named `<tensor>/quant`; not trainable.
 */
class FakeQuantLayer extends tfl.layers.Layer {
  static readonly className = 'OnnxDenoiserFakeQuant';
  range?: tfl.LayerVariable;

  constructor(name: string) {
    super({ name, trainable: false });
  }

  override build(): void {
    this.range = this.addWeight('range', [1], 'float32', tfl.initializers.zeros(), undefined, false);
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return inputShape as tfl.Shape;
  }

  /** The range now, as a number. */
  currentRange(): number {
    return this.range!.read().dataSync()[0]!;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      let range = this.currentRange();
      if (kwargs.training) {
        // Read out as a number: no gradient flows into the range.
        const batch = tf.max(x).dataSync()[0]!;
        range = Math.fround(range > 0 ? range * (1 - RANGE_UPDATE) + batch * RANGE_UPDATE : batch);
        this.range!.write(tf.tensor1d([range]));
      }
      return fakeQuantActivation(x, Math.max(range, MIN_RANGE));
    });
  }

  override getClassName(): string {
    return FakeQuantLayer.className;
  }
}

type ConvSpec = Extract<LayerSpec, { kind: 'conv2d' | 'conv2dTranspose' }>;

/** Output size of a convolution along one axis, from the registry's formulas (null stays null). */
function convSize(size: number | null, kernel: number, stride: number, padding: Padding, transposed: boolean): number | null {
  return transposed ? deconvOutputLength(size, kernel, stride, padding) : convOutputLength(size, kernel, stride, padding);
}

/**
 * A conv2d or conv2dTranspose of an int8 spec: the same weights as TF.js's layer (`kernel` in its layout, `bias`),
 * the kernel passed through {@link fakeQuantKernel} on every call and, when its input is quantized, the bias rounded
 * to the int32 grid the integer kernels add it on (input scale x each channel's kernel scale). NHWC.
 */
class QuantConvLayer extends tfl.layers.Layer {
  static readonly className = 'OnnxDenoiserQuantConv';
  kernel?: tfl.LayerVariable;
  bias?: tfl.LayerVariable;
  readonly #layer: ConvSpec;
  readonly #seed: number | undefined;
  readonly #activation: tfl.layers.Layer | undefined;
  readonly #input: FakeQuantLayer | undefined;

  /** `input`: the layer that quantizes this one's input, if any (its range sets the bias's grid). */
  constructor(layer: ConvSpec, seed: number | undefined, input?: FakeQuantLayer) {
    super({ name: layer.name });
    this.#layer = layer;
    this.#seed = seed;
    this.#input = input;
    this.#activation = layer.activation === 'linear' ? undefined : tfl.layers.activation({ activation: layer.activation as LayerActivation });
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const { filters, kernelSize: [kh, kw], kind, useBias } = this.#layer;
    const channels = shape[3] as number;
    // conv2d [kh, kw, in, out] (HWIO); conv2dTranspose [kh, kw, out, in], as TF.js's own layers.
    const kernelShape = kind === 'conv2d' ? [kh, kw, channels, filters] : [kh, kw, filters, channels];
    this.kernel = this.addWeight('kernel', kernelShape, 'float32', tfl.initializers.glorotUniform(this.#seed === undefined ? {} : { seed: this.#seed }));
    if (useBias) this.bias = this.addWeight('bias', [filters], 'float32', tfl.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const { kernelSize, strides, padding, kind, filters } = this.#layer;
    const t = kind === 'conv2dTranspose';
    return [shape[0]!, convSize(shape[1] ?? null, kernelSize[0], strides[0], padding, t), convSize(shape[2] ?? null, kernelSize[1], strides[1], padding, t), filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor4D;
      const { kernelSize, strides, padding, kind, filters } = this.#layer;
      const outAxis = kind === 'conv2d' ? 3 : 2;
      const quantized = fakeQuantKernel(this.kernel!.read(), outAxis);
      const kernel = quantized.kernel as tf.Tensor4D;
      let y: tf.Tensor;
      if (kind === 'conv2d') {
        y = tf.conv2d(x, kernel, strides, padding);
      } else {
        const [n, h, w] = x.shape;
        const out: [number, number, number, number] = [n, convSize(h, kernelSize[0], strides[0], padding, true)!, convSize(w, kernelSize[1], strides[1], padding, true)!, filters];
        y = tf.conv2dTranspose(x, kernel, out, strides, padding);
      }
      if (this.bias) y = tf.add(y, this.#input ? fakeQuantBias(this.bias.read(), quantized.scales, activationScale(this.#input.currentRange())) : this.bias.read());
      return this.#activation ? (this.#activation.apply(y) as tf.Tensor) : y;
    });
  }

  override getClassName(): string {
    return QuantConvLayer.className;
  }
}

/** Options for {@link buildModel}. */
export interface BuildOptions {
  /** Seed for the weight initialisers (layer i uses seed + i); unseeded when omitted. */
  seed?: number;
}

/**
 * Builds the spec as a functional `tf.LayersModel` whose input takes NHWC images of any height and width (with a
 * noise map, inputs `[image, noiseMap]`, the map NHW1).
 * Layer names are the spec's names. A TF.js backend must be ready (see tools/train/backends.ts).
 */
export function buildModel(spec: NetworkSpec, options: BuildOptions = {}): tfl.LayersModel {
  const tensors = new Map<string, tfl.SymbolicTensor>();
  // NHWC; the noise map, when the spec has one, is the second input: one channel of the image's height and width.
  const quantized = new Set(quantizedTensors(spec));
  const quantizers = new Map<string, FakeQuantLayer>();
  const quantize = (name: string, x: tfl.SymbolicTensor) => {
    if (!quantized.has(name)) return x;
    const layer = new FakeQuantLayer(`${name}/quant`);
    quantizers.set(name, layer);
    return layer.apply(x) as tfl.SymbolicTensor;
  };
  const inputs = [...inputTensors(spec.input)].map(([name, shape]) => {
    const input = tfl.input({ shape: [null, null, shape.channels], name });
    tensors.set(name, quantize(name, input));
    return input;
  });
  spec.layers.forEach((layer, index) => {
    const seed = options.seed === undefined ? undefined : options.seed + index;
    const xs = layer.inputs.map((t) => tensors.get(t)!);
    const y =
      spec.quantization !== undefined && (layer.kind === 'conv2d' || layer.kind === 'conv2dTranspose')
        ? (new QuantConvLayer(layer, seed, quantizers.get(layer.inputs[0]!)).apply(xs[0]!) as tfl.SymbolicTensor)
        : (TFJS_BUILDERS[layer.kind] as Builder<LayerKindName>)(layer, xs, seed);
    tensors.set(layer.name, quantize(layer.name, y));
  });
  return tfl.model({ inputs: inputs.length === 1 ? inputs[0]! : inputs, outputs: tensors.get(spec.output)!, name: spec.name });
}

/** A named float32 weight in TF layout. */
export interface WeightTensor {
  shape: number[];
  data: Float32Array;
}

function layerOf(model: tfl.LayersModel, name: string): tfl.layers.Layer {
  try {
    return model.getLayer(name);
  } catch {
    throw invalid(`a layer named "${name}"`, 'the model', described('none'), { argument: name });
  }
}

/**
 * Reads the model's weights by spec name (`encoder_conv1.kernel`), in spec order, as float32 copies. Asynchronous
 * because GPU backends (webgpu) can only read back asynchronously in Node.
 */
export async function getWeights(model: tfl.LayersModel, spec: NetworkSpec): Promise<Map<string, WeightTensor>> {
  const out = new Map<string, WeightTensor>();
  for (const layer of spec.layers) {
    const defs = weightDefs(spec).filter((w) => w.layer === layer.name);
    const values = layerOf(model, layer.name).getWeights();
    for (let i = 0; i < defs.length; i++) out.set(defs[i]!.name, { shape: [...values[i]!.shape], data: Float32Array.from(await values[i]!.data()) });
  }
  // An int8 spec's ranges live in the `<tensor>/quant` layers.
  for (const def of rangeDefs(spec)) {
    const [value] = layerOf(model, `${def.layer}/quant`).getWeights();
    out.set(def.name, { shape: [...value!.shape], data: Float32Array.from(await value!.data()) });
  }
  return out;
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Checks a weight map against the spec: every weight present with its exact shape and no extra names.
 * Errors name the tensor and both shapes.
 */
export function checkWeights(spec: NetworkSpec, weights: ReadonlyMap<string, WeightTensor>, source = 'weights'): void {
  const defs = [...weightDefs(spec), ...rangeDefs(spec)];
  for (const def of defs) {
    const w = weights.get(def.name);
    if (!w) throw invalid(`shape ${shapeText(def.shape)}`, `tensor "${def.name}" in ${source}`, described('no tensor of that name'), { argument: def.name });
    const same = w.shape.length === def.shape.length && w.shape.every((d, i) => d === def.shape[i]);
    if (!same) {
      throw invalid(`shape ${shapeText(def.shape)}`, `tensor "${def.name}" in ${source}`, described(shapeText(w.shape)), { argument: def.name });
    }
    const size = def.shape.reduce((a, b) => a * b, 1);
    if (w.data.length !== size) {
      throw invalid(`${size} values`, `tensor "${def.name}" in ${source}`, w.data.length, { argument: def.name });
    }
  }
  const known = new Set(defs.map((d) => d.name));
  for (const name of weights.keys()) {
    if (!known.has(name)) throw invalid(`only the spec's tensors (${[...known].join(', ')})`, source, described(`an extra tensor "${name}"`), { argument: name });
  }
}

/** Loads a weight map into the model after {@link checkWeights}. */
export function setWeights(model: tfl.LayersModel, spec: NetworkSpec, weights: ReadonlyMap<string, WeightTensor>, source = 'weights'): void {
  checkWeights(spec, weights, source);
  for (const layer of spec.layers) {
    const defs = weightDefs(spec).filter((w) => w.layer === layer.name);
    const tensors = defs.map((def) => tf.tensor(weights.get(def.name)!.data, def.shape, 'float32'));
    layerOf(model, layer.name).setWeights(tensors);
    tf.dispose(tensors);
  }
  for (const def of rangeDefs(spec)) {
    const range = tf.tensor(weights.get(def.name)!.data, def.shape, 'float32');
    layerOf(model, `${def.layer}/quant`).setWeights([range]);
    range.dispose();
  }
}
