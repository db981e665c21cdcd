// Spec -> tf.LayersModel, with layer names from the spec and weights read and written by spec names.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { described, invalid } from 'onnx-denoiser-common';
import type { Activation, LayerKindName, LayerSpec } from '../layers/layer-registry.js';
import { inputTensors, weightDefs, type NetworkSpec } from '../layers/spec.js';

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
  const inputs = [...inputTensors(spec.input)].map(([name, shape]) => {
    const input = tfl.input({ shape: [null, null, shape.channels], name });
    tensors.set(name, input);
    return input;
  });
  spec.layers.forEach((layer, index) => {
    const build = TFJS_BUILDERS[layer.kind] as Builder<LayerKindName>;
    const seed = options.seed === undefined ? undefined : options.seed + index;
    tensors.set(layer.name, build(layer, layer.inputs.map((t) => tensors.get(t)!), seed));
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
  const defs = weightDefs(spec);
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
}
