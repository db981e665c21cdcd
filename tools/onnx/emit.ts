// The ONNX emitter: the spec's network as an NCHW ONNX graph, padded inside to its size multiple, one emitter per layer kind.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import onnxProto, { type onnx as Onnx } from 'onnx-proto';
import {
  bitmapPixelFormat,
  check,
  checkInteger,
  checkString,
  described,
  encodeDenoiserMetadata,
  invalid,
  MODEL_FORMAT_VERSION,
  MODEL_FORMAT_VERSION_NOISE_MAP,
  type DenoiserMetadata,
  type NoiseInfo,
  type Precision,
  type TrainingSummary,
} from 'onnx-denoiser-common';
import { checkWeights, type WeightTensor } from '../model/build-tfjs.js';
import {
  activationOf,
  convPads,
  convTransposePads,
  LAYER_KIND_NAMES,
  LAYER_KINDS,
  tfSamePads,
  type Activation,
  type LayerKindDef,
  type LayerKindName,
  type LayerSpec,
  type Padding,
} from '../layers/layer-registry.js';
import { inferShapes, lcm, receptiveField, sizeMultiple, weightDefs, type NamedWeightDef, type NetworkSpec } from '../layers/spec.js';
import { activationScale, quantizeBias, quantizedTensors, quantizeWeights, rangeDefs } from '../layers/quantization.js';
import { attr, DataType, DEFAULT_OPSET, GraphBuilder, imageValueInfo, OPSET_IR_VERSIONS, type StaticShape } from './onnx-graph.js';
import { structureProblems } from './structure.js';

const { onnx } = onnxProto;

/** The tensor name of the network's output unless told otherwise. */
export const DEFAULT_OUTPUT_NAME = 'denoised';

/** The model-level `domain` of every emitted model. */
export const MODEL_DOMAIN = 'onnx-denoiser';

/** Options for {@link emitOnnx}. */
export interface EmitOptions {
  /** ONNX opset, one of the keys of OPSET_IR_VERSIONS (17 to 21). Default 17 (IR version 8). */
  opset?: number;
  /** Float16 weights and arithmetic, float32 input and output (a Cast after the input and before the output). */
  fp16?: boolean;
  /**
   * Emit ConvTranspose with symmetric pads followed by a Slice instead of asymmetric pads: same numbers, but ORT's CUDA
   * provider runs it on the GPU (it hands asymmetric-pad ConvTranspose back to the CPU).
   */
  symmetricPads?: boolean;
  /**
   * A fixed input shape instead of free N, H and W: the graph then holds no Shape op and no computed pads (the padding
   * to the size multiple is worked out here and written as Slice and Concat of constant indices), which is what
   * static-shape consumers such as OpenCV's DNN module load. Such a model takes exactly this shape.
   */
  staticShape?: StaticShape;
  /** Name of the output tensor. Default `denoised`. */
  outputName?: string;
  /** The noise the weights were trained against, when known. */
  noise?: NoiseInfo;
  /** Training figures, when known. */
  training?: TrainingSummary;
  /** ModelProto.model_version. Default 1. */
  modelVersion?: number;
  /** Names the weights in error messages (e.g. the weights file). Default "weights". */
  source?: string;
}

/** What {@link emitOnnx} returns. */
export interface EmittedModel {
  /** The serialised ModelProto. */
  bytes: Uint8Array;
  model: Onnx.IModelProto;
  /** The typed metadata written into metadata_props (always with the receptive field). */
  metadata: DenoiserMetadata & Required<Pick<DenoiserMetadata, 'receptiveField'>>;
  /** metadata_props as written. */
  props: Record<string, string>;
}

/** The package's name and version, for producer_name and producer_version. */
export function packageInfo(): { name: string; version: string } {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      const json = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      return { name: json.name ?? 'onnx-denoiser', version: json.version ?? '0.0.0' };
    }
    dir = path.dirname(dir);
  }
  return { name: 'onnx-denoiser', version: '0.0.0' };
}

/** A kernel or bias in ONNX layout, with a note on the layout change for the initializer's doc_string. */
export interface OnnxWeight {
  dims: number[];
  data: Float32Array;
  doc: string;
}

/** What a layer emitter may use while it adds its nodes. */
export interface EmitContext {
  graph: GraphBuilder;
  precision: Precision;
  symmetricPads: boolean;
  /** A static-shape export: write ops static-shape consumers (OpenCV DNN) load, e.g. Clip as Relu arithmetic. */
  staticShape: boolean;
  /** The initializer name of a layer's weight (`<layer>.<suffix>`), or undefined when the layer has none (no bias). */
  weight(layer: LayerSpec, suffix: string): string | undefined;
  /** The tensor a layer's linear part writes: the layer's name when its activation is linear. */
  linearOutput(layer: LayerSpec): string;
  /** Applies the layer's activation, writing the tensor named after the layer; returns that name. */
  activate(layer: LayerSpec, linear: string): string;
}

/** How one layer kind becomes ONNX: its weights in ONNX layout and its nodes. */
export interface LayerEmitter<K extends LayerKindName> {
  /** Converts one TF-layout weight (`suffix` as in the registry) to ONNX layout; only called for the registry's weights. */
  weight(layer: Extract<LayerSpec, { kind: K }>, suffix: string, tensor: WeightTensor): OnnxWeight;
  /** Adds the layer's nodes reading `inputs`; returns the name of the tensor holding the layer's output. */
  emit(layer: Extract<LayerSpec, { kind: K }>, inputs: string[], ctx: EmitContext): string;
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Reorders a 4-D TF kernel: `from` names the TF axes (e.g. "hwio") and `to` the ONNX order (e.g. "oihw").
 * Returns the new dims and data.
 */
export function permuteKernel(tensor: WeightTensor, from: string, to: string): { dims: number[]; data: Float32Array } {
  const size = Object.fromEntries([...from].map((axis, i) => [axis, tensor.shape[i]!])) as Record<string, number>;
  const dims = [...to].map((axis) => size[axis]!);
  // Stride of each named axis in the source (row-major).
  const sourceStride: Record<string, number> = {};
  let stride = 1;
  for (let i = from.length - 1; i >= 0; i--) {
    sourceStride[from[i]!] = stride;
    stride *= tensor.shape[i]!;
  }
  const [a, b, c, d] = [...to].map((axis) => sourceStride[axis]!) as [number, number, number, number];
  const data = new Float32Array(tensor.data.length);
  let at = 0;
  for (let i = 0; i < dims[0]!; i++) {
    for (let j = 0; j < dims[1]!; j++) {
      for (let k = 0; k < dims[2]!; k++) {
        for (let l = 0; l < dims[3]!; l++) data[at++] = tensor.data[i * a + j * b + k * c + l * d]!;
      }
    }
  }
  return { dims, data };
}

function biasWeight(tensor: WeightTensor): OnnxWeight {
  return { dims: [...tensor.shape], data: tensor.data, doc: '[out], as in TF' };
}

function convInputs(layer: LayerSpec, x: string, ctx: EmitContext): string[] {
  const bias = ctx.weight(layer, 'bias');
  return bias === undefined ? [x, ctx.weight(layer, 'kernel')!] : [x, ctx.weight(layer, 'kernel')!, bias];
}

/** The `weight` of kinds whose registry entry lists no weights: reaching it means the registry and emitter disagree. */
function noWeights(layer: LayerSpec, suffix: string): never {
  throw new Error(`ONNX emitter: layer "${layer.name}" (${layer.kind}) has no weights, but was given "${suffix}"`);
}

/** Clip's min and max inputs (opset 11+), typed like the data: `<layer>/clip_min`, `<layer>/clip_max`. */
function clipBounds(g: GraphBuilder, layer: string, min: number, max: number, precision: Precision): [string, string] {
  return [g.floatInitializer(`${layer}/clip_min`, [], [min], precision), g.floatInitializer(`${layer}/clip_max`, [], [max], precision)];
}

/**
 * `min(max(x, min), max)` writing `out`: a Clip node, or with `asRelu` (static-shape exports: OpenCV DNN 4.6 takes
 * Clip only in its opset-6 form and no Min or Max with constants) `min + Relu(x - min) - Relu(x - max)`, which for
 * min 0 is `Relu(x) - Relu(x - max)`, exact in float32 for |x| < 2^24.
 */
function clipNode(g: GraphBuilder, x: string, layer: string, out: string, min: number, max: number, precision: Precision, asRelu: boolean): string {
  if (!asRelu) return g.node('Clip', `${layer}/Clip`, [x, ...clipBounds(g, layer, min, max, precision)], [out]);
  const lo = min === 0 ? undefined : g.floatInitializer(`${layer}/clip_min`, [1], [min], precision);
  const hi = g.floatInitializer(`${layer}/clip_max`, [1], [max], precision);
  const shifted = lo === undefined ? x : g.node('Sub', `${layer}/Sub_min`, [x, lo], [`${layer}/minus_min`]);
  const above = g.node('Relu', `${layer}/Relu_min`, [shifted], [`${layer}/above_min`]);
  const over = g.node('Relu', `${layer}/Relu_max`, [g.node('Sub', `${layer}/Sub_max`, [x, hi], [`${layer}/minus_max`])], [`${layer}/above_max`]);
  if (lo === undefined) return g.node('Sub', `${layer}/Sub_clip`, [above, over], [out], [], `Clip(0, ${max}) as Relu(x) - Relu(x - ${max})`);
  const kept = g.node('Sub', `${layer}/Sub_clip`, [above, over], [`${layer}/clipped_from_min`]);
  return g.node('Add', `${layer}/Add_min`, [kept, lo], [out], [], `Clip(${min}, ${max}) as ${min} + Relu(x - ${min}) - Relu(x - ${max})`);
}

/** One emitter per registry kind; the mapped type makes a kind without an emitter a compile error. */
export const ONNX_EMITTERS: { readonly [K in LayerKindName]: LayerEmitter<K> } = Object.freeze({
  conv2d: {
    weight(_layer, suffix, tensor) {
      if (suffix !== 'kernel') return biasWeight(tensor);
      // TF HWIO [kh, kw, in, out] -> ONNX OIHW [out, in, kh, kw]
      const { dims, data } = permuteKernel(tensor, 'hwio', 'oihw');
      return { dims, data, doc: `TF HWIO [kh, kw, in, out] ${shapeText(tensor.shape)} transposed to ONNX Conv OIHW [out, in, kh, kw] ${shapeText(dims)}` };
    },
    emit(layer, [x], ctx) {
      const [kh, kw] = layer.kernelSize;
      const [sh, sw] = layer.strides;
      // Static pads are exact here: checkStaticPads proved every strided 'same' Conv sees a multiple of its stride.
      const [top, bottom] = convPads(kh, sh, layer.padding);
      const [left, right] = convPads(kw, sw, layer.padding);
      const linear = ctx.graph.node('Conv', `${layer.name}/Conv`, convInputs(layer, x!, ctx), [ctx.linearOutput(layer)], [
        attr.ints('kernel_shape', [kh, kw]),
        attr.ints('strides', [sh, sw]),
        attr.ints('pads', [top, left, bottom, right]),
        attr.ints('dilations', [1, 1]),
        attr.int('group', 1),
      ]);
      return ctx.activate(layer, linear);
    },
  },
  conv2dTranspose: {
    weight(_layer, suffix, tensor) {
      if (suffix !== 'kernel') return biasWeight(tensor);
      // TF transposed [kh, kw, out, in] -> ONNX ConvTranspose [in, out, kh, kw] (C_in, C_out / group, kh, kw)
      const { dims, data } = permuteKernel(tensor, 'hwoi', 'iohw');
      return { dims, data, doc: `TF transposed-conv [kh, kw, out, in] ${shapeText(tensor.shape)} transposed to ONNX ConvTranspose [in, out, kh, kw] ${shapeText(dims)}` };
    },
    emit(layer, [x], ctx) {
      const [kh, kw] = layer.kernelSize;
      const [sh, sw] = layer.strides;
      const h = convTransposePads(kh, sh, layer.padding);
      const w = convTransposePads(kw, sw, layer.padding);
      // With symmetricPads each axis is padded by its smaller side and the rest is sliced off the end afterwards.
      const [top, left] = ctx.symmetricPads ? [Math.min(...h.pads), Math.min(...w.pads)] : [h.pads[0], w.pads[0]];
      const [bottom, right] = ctx.symmetricPads ? [top, left] : [h.pads[1], w.pads[1]];
      const crop = [h.pads[1] - bottom, w.pads[1] - right];
      const cropped = crop.some((c) => c > 0);
      const attributes = [
        attr.ints('kernel_shape', [kh, kw]),
        attr.ints('strides', [sh, sw]),
        attr.ints('pads', [top, left, bottom, right]),
        attr.ints('dilations', [1, 1]),
        attr.int('group', 1),
      ];
      if (h.outputPadding || w.outputPadding) attributes.push(attr.ints('output_padding', [h.outputPadding, w.outputPadding]));
      const target = cropped ? `${layer.name}/uncropped` : ctx.linearOutput(layer);
      let linear = ctx.graph.node('ConvTranspose', `${layer.name}/ConvTranspose`, convInputs(layer, x!, ctx), [target], attributes);
      if (cropped) {
        const axes = [2, 3].filter((_, i) => crop[i]! > 0);
        const ends = crop.filter((c) => c > 0).map((c) => -c);
        const g = ctx.graph;
        linear = g.node(
          'Slice',
          `${layer.name}/Slice`,
          [linear, g.int64Initializer(`${layer.name}/crop_starts`, axes.map(() => 0)), g.int64Initializer(`${layer.name}/crop_ends`, ends), g.int64Initializer(`${layer.name}/crop_axes`, axes)],
          [ctx.linearOutput(layer)],
          [],
          'the end pads of TF "same", cut after a ConvTranspose with symmetric pads',
        );
      }
      return ctx.activate(layer, linear);
    },
  },
  add: {
    weight: noWeights,
    emit(layer, inputs, ctx) {
      // Add for two inputs (what TF.js's Add layer does pairwise), Sum for more.
      const op = inputs.length === 2 ? 'Add' : 'Sum';
      return ctx.activate(layer, ctx.graph.node(op, `${layer.name}/${op}`, inputs, [ctx.linearOutput(layer)]));
    },
  },
  subtract: {
    weight: noWeights,
    emit(layer, inputs, ctx) {
      return ctx.activate(layer, ctx.graph.node('Sub', `${layer.name}/Sub`, inputs, [ctx.linearOutput(layer)]));
    },
  },
  concat: {
    weight: noWeights,
    emit(layer, inputs, ctx) {
      // NCHW: the channels are axis 1.
      return ctx.graph.node('Concat', `${layer.name}/Concat`, inputs, [layer.name], [attr.int('axis', 1)]);
    },
  },
  clip: {
    weight: noWeights,
    emit(layer, [x], ctx) {
      return clipNode(ctx.graph, x!, layer.name, layer.name, layer.min, layer.max, ctx.precision, ctx.staticShape);
    },
  },
});

/** SELU constants as TF.js uses them (scale * alpha and scale), so ONNX's Selu gets alpha = scaleAlpha / scale. */
const SELU_SCALE = 1.0507009873554804934193349852946;
const SELU_SCALE_ALPHA = 1.7580993408473768599402175208123;

type ActivationEmitter = (g: GraphBuilder, x: string, layer: string, out: string, precision: Precision, staticShape: boolean) => string;

/** One ONNX rendering per TF.js activation; the mapped type makes a missing one a compile error. */
export const ACTIVATION_EMITTERS: { readonly [A in Activation]: ActivationEmitter } = Object.freeze({
  linear: (_g, x) => x,
  relu: (g, x, layer, out) => g.node('Relu', `${layer}/Relu`, [x], [out]),
  // TF.js min(6, relu(x)); Clip takes min and max as inputs since opset 11, typed like x.
  relu6: (g, x, layer, out, precision, staticShape) => clipNode(g, x, layer, out, 0, 6, precision, staticShape),
  elu: (g, x, layer, out) => g.node('Elu', `${layer}/Elu`, [x], [out], [attr.float('alpha', 1)]),
  selu: (g, x, layer, out) => g.node('Selu', `${layer}/Selu`, [x], [out], [attr.float('alpha', SELU_SCALE_ALPHA / SELU_SCALE), attr.float('gamma', SELU_SCALE)]),
  sigmoid: (g, x, layer, out) => g.node('Sigmoid', `${layer}/Sigmoid`, [x], [out]),
  // TF.js clip(0.2 x + 0.5, 0, 1) (Keras 2's slope, not Keras 3's 1/6).
  hardSigmoid: (g, x, layer, out) => g.node('HardSigmoid', `${layer}/HardSigmoid`, [x], [out], [attr.float('alpha', 0.2), attr.float('beta', 0.5)]),
  tanh: (g, x, layer, out) => g.node('Tanh', `${layer}/Tanh`, [x], [out]),
  softplus: (g, x, layer, out) => g.node('Softplus', `${layer}/Softplus`, [x], [out]),
  softsign: (g, x, layer, out) => g.node('Softsign', `${layer}/Softsign`, [x], [out]),
  // TF.js x * sigmoid(x) (no Swish op before opset 24).
  swish: (g, x, layer, out) => g.node('Mul', `${layer}/Mul`, [x, g.node('Sigmoid', `${layer}/Sigmoid`, [x], [`${layer}/sigmoid`])], [out]),
});

/** Checks an opset number, returning its IR version. */
export function irVersionFor(opset: unknown, name = 'opset'): number {
  const opsets = Object.keys(OPSET_IR_VERSIONS).map(Number);
  check(typeof opset === 'number' && opsets.includes(opset), `one of ${opsets.join(', ')}`, name, opset);
  return OPSET_IR_VERSIONS[opset]!;
}

/**
 * Proves that static Conv pads reproduce TF 'same' inside the graph: for input sizes that are multiples of `multiple`
 * (k * multiple, each axis on its own), every strided 'same' Conv must see a size divisible by its stride. Layer sizes
 * are then affine in k (each division is exact), and an affine integer sequence divisible by s at two consecutive k
 * is divisible at every k: so checking k = 1..8 covers every size.
 * @throws ValidationError naming the layer and the size when the pads would depend on the input size.
 */
export function checkStaticPads(spec: NetworkSpec, multiple: number): void {
  for (let k = 1; k <= 8; k++) {
    const shapes = inferShapes(spec, multiple * k, multiple * (9 - k));
    spec.layers.forEach((layer, index) => {
      if (layer.kind !== 'conv2d' || layer.padding !== 'same') return;
      const input = shapes.get(layer.inputs[0]!)!;
      [input.height!, input.width!].forEach((size, axis) => {
        const stride = layer.strides[axis]!;
        const kernel = layer.kernelSize[axis]!;
        const exact = tfSamePads(size, kernel, stride);
        const fixed = convPads(kernel, stride, 'same');
        if (exact[0] !== fixed[0] || exact[1] !== fixed[1]) {
          throw invalid(
            `a layer whose input ${axis ? 'width' : 'height'} is a multiple of its stride ${stride} for every input padded to a multiple of ${multiple}`,
            `layers[${index}] ("${layer.name}")`,
            `${axis ? 'width' : 'height'} ${size}`,
          );
        }
      });
    });
  }
}

/** Checks a fixed input shape: positive integer batch, height and width. */
export function checkStaticShape(shape: unknown, name: string): StaticShape {
  const s = shape as Partial<StaticShape> | null;
  check(typeof s === 'object' && s !== null, 'an object { batch, height, width }', name, shape);
  return {
    batch: checkInteger(s.batch, `${name}.batch`, { min: 1, max: 65536 }),
    height: checkInteger(s.height, `${name}.height`, { min: 1, max: 65536 }),
    width: checkInteger(s.width, `${name}.width`, { min: 1, max: 65536 }),
  };
}

/** sha256 (hex) of the spec text and each weight initializer's name and stored bytes, in spec weight order. */
export function contentHash(specText: string, initializers: Iterable<{ name: string; bytes: Uint8Array }>): string {
  const hash = createHash('sha256');
  hash.update(specText, 'utf8');
  for (const { name, bytes } of initializers) {
    hash.update(`\n${name}\n`, 'utf8');
    hash.update(bytes);
  }
  return hash.digest('hex');
}

/**
 * The initializers the content hash covers, in spec weight order: each weight's own (`<layer>.kernel`) or, in an int8
 * model, those written for it (`<layer>.kernel_quantized`, `<layer>.kernel_scale`, ..., `<tensor>.range_scale`).
 */
export function hashedInitializers(defs: readonly NamedWeightDef[], initializers: readonly Onnx.ITensorProto[]): { name: string; bytes: Uint8Array }[] {
  return defs.flatMap((d) =>
    initializers.filter((t) => t.name === d.name || t.name?.startsWith(`${d.name}_`)).map((t) => ({ name: t.name!, bytes: (t.rawData as Uint8Array | undefined) ?? new Uint8Array() })),
  );
}

/** A convolution's kernel in ONNX layout with its int8 values and per-output-channel scales (Conv OIHW: axis 0; ConvTranspose IOHW: axis 1). */
interface QuantizedKernel {
  weight: OnnxWeight;
  axis: number;
  values: Int8Array;
  scales: Float32Array;
}

function quantizeKernel(layer: LayerSpec, weight: OnnxWeight): QuantizedKernel {
  const axis = layer.kind === 'conv2dTranspose' ? 1 : 0;
  const { values, scales } = quantizeWeights(weight.data, weight.dims[axis]!, weight.dims.slice(axis + 1).reduce((a, b) => a * b, 1));
  return { weight, axis, values, scales };
}

/**
 * A convolution's weight in an int8 model: the kernel as int8 per output channel and the bias as int32 at scale input
 * scale x kernel scale (float when the input is not quantized), each with the DequantizeLinear that writes the float
 * tensor the layer reads (`<layer>.kernel`, `<layer>.bias`).
 */
function quantizedWeight(g: GraphBuilder, layer: LayerSpec, suffix: string, weight: OnnxWeight, kernel: QuantizedKernel, inputScale: number | undefined): void {
  const name = `${layer.name}.${suffix}`;
  const { axis, values: kernelValues, scales: kernelScales } = kernel;
  if (suffix === 'kernel') {
    const dq = [
      g.integerInitializer(`${name}_quantized`, kernel.weight.dims, kernelValues, `${kernel.weight.doc}; int8, symmetric per output channel (axis ${axis})`),
      g.floatInitializer(`${name}_scale`, [kernelScales.length], kernelScales, 'float32', 'per output channel: the largest magnitude / 127'),
      g.integerInitializer(`${name}_zero_point`, [kernelScales.length], new Int8Array(kernelScales.length)),
    ];
    g.node('DequantizeLinear', `${name}/DequantizeLinear`, dq, [name], [attr.int('axis', axis)]);
    return;
  }
  if (inputScale === undefined) {
    g.floatInitializer(name, weight.dims, weight.data, 'float32', `${weight.doc}; float: the layer's input is not quantized`);
    return;
  }
  // The bias as the integer kernels add it: int32 at scale (input scale x kernel scale), per output channel.
  const { values, scales } = quantizeBias(weight.data, kernelScales, inputScale);
  const dq = [
    g.integerInitializer(`${name}_quantized`, weight.dims, values, `${weight.doc}; int32 at scale input scale x kernel scale`),
    g.floatInitializer(`${name}_scale`, [scales.length], scales, 'float32', 'the input scale times each output channel\'s kernel scale'),
    g.integerInitializer(`${name}_zero_point`, [scales.length], new Int32Array(scales.length)),
  ];
  g.node('DequantizeLinear', `${name}/DequantizeLinear`, dq, [name], [attr.int('axis', 0)]);
}

function checkFinite(weights: ReadonlyMap<string, WeightTensor>, source: string): void {
  for (const [name, tensor] of weights) {
    const bad = tensor.data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw invalid('finite values', `tensor "${name}" in ${source}`, described(`${tensor.data[bad]} at index ${bad}`), { argument: name });
  }
}

/**
 * Emits the spec with the given TF-layout weights as an ONNX model: input `<spec input>` float32 [N, C, H, W] in [0, 1]
 * with N, H, W free; output (`denoised`) the same shape. Inside, H and W are padded up to the size multiple (the
 * spec's, made a multiple of every stride; edge replication) and the result is cropped back, so any size can be fed
 * directly. The metadata states that multiple and the receptive field the layer registry works out, for tiling.
 * An int8 spec (`quantization`) gets int8 kernels and int32 biases behind DequantizeLinear and a QuantizeLinear /
 * DequantizeLinear pair after each quantized tensor, at the scales of its `.range` weights (see quantizedWeight).
 * @throws ValidationError for an unknown layer kind, an unsupported opset, weights that do not fit the spec (naming the
 * tensor and both shapes), non-finite weights, or a spec without a size multiple.
 */
export function emitOnnx(spec: NetworkSpec, weights: ReadonlyMap<string, WeightTensor>, options: EmitOptions = {}): EmittedModel {
  const source = options.source ?? 'weights';
  const opset = options.opset ?? DEFAULT_OPSET;
  const irVersion = irVersionFor(opset, 'opset');
  const precision: Precision = options.fp16 ? 'float16' : 'float32';
  const outputName = checkString(options.outputName ?? DEFAULT_OUTPUT_NAME, 'outputName', { regex: /^[A-Za-z][A-Za-z0-9_]*$/, description: 'a name of letters, digits and "_" starting with a letter' });
  const modelVersion = checkInteger(options.modelVersion ?? 1, 'modelVersion', { min: 0 });
  spec.layers.forEach((layer, index) => {
    check(Object.hasOwn(ONNX_EMITTERS, layer.kind), `a layer kind the ONNX emitter knows (${LAYER_KIND_NAMES.map((k) => `"${k}"`).join(', ')})`, `layers[${index}] ("${layer.name}").kind`, layer.kind);
  });
  check(outputName !== spec.input.name && outputName !== spec.input.noiseMap && !spec.layers.some((l) => l.name === outputName), 'a name that neither an input nor a layer uses', 'outputName', outputName);
  checkWeights(spec, weights, source);
  checkFinite(weights, source);
  const keepsSize = sizeMultiple(spec);
  if (keepsSize === null) {
    throw invalid(
      'a spec whose output keeps the input size for inputs that are multiples of some size (see tools summary)',
      `spec "${spec.name}"`,
      described('one whose output size differs from its input size for every multiple up to 256'),
      { argument: 'spec' },
    );
  }
  const field = receptiveField(spec);
  // Tiles start at multiples of the size multiple: it must also hold every stride, so each tile sees one stride phase.
  const multiple = lcm(keepsSize, field.stride);
  checkStaticPads(spec, multiple);
  const fixed = options.staticShape === undefined ? undefined : checkStaticShape(options.staticShape, 'staticShape');

  const g = new GraphBuilder();
  const input = g.claim(spec.input.name);
  const defs = weightDefs(spec);
  const weightNames = new Set(defs.map((d) => d.name));
  const quantized = new Set(quantizedTensors(spec));
  check(quantized.size === 0 || precision === 'float32', 'float32 (an int8 spec is not written as float16)', 'fp16', options.fp16);
  const rangeOf = (tensor: string) => weights.get(`${tensor}.range`)!.data[0]!;
  for (const layer of spec.layers) {
    const emitter = ONNX_EMITTERS[layer.kind] as LayerEmitter<LayerKindName>;
    // An int8 convolution's kernel, quantized once: its scales also set the bias's grid.
    let kernel: QuantizedKernel | undefined;
    for (const def of defs.filter((d) => d.layer === layer.name)) {
      const converted = emitter.weight(layer, def.suffix, weights.get(def.name)!);
      if (spec.quantization !== undefined && (layer.kind === 'conv2d' || layer.kind === 'conv2dTranspose')) {
        kernel ??= quantizeKernel(layer, emitter.weight(layer, 'kernel', weights.get(`${layer.name}.kernel`)!));
        quantizedWeight(g, layer, def.suffix, converted, kernel, quantized.has(layer.inputs[0]!) ? activationScale(rangeOf(layer.inputs[0]!)) : undefined);
        continue;
      }
      const note = precision === 'float16' ? '; stored as float16 (float32 rounded to nearest even)' : '';
      g.floatInitializer(def.name, converted.dims, converted.data, precision, `${converted.doc}${note}`);
    }
  }
  /** A quantized tensor as uint8 and back (QuantizeLinear, DequantizeLinear): ONNX Runtime fuses such pairs around Conv and Add into integer kernels. */
  const quantizeTensor = (tensor: string, x: string): string => {
    if (!quantized.has(tensor)) return x;
    const scale = g.floatInitializer(`${tensor}.range_scale`, [], [activationScale(rangeOf(tensor))], 'float32', `${tensor}.range / 255 (the tensor's running maximum over 255 levels)`);
    const zero = g.integerInitializer(`${tensor}.range_zero_point`, [], new Uint8Array(1));
    const q = g.node('QuantizeLinear', `${tensor}/QuantizeLinear`, [x, scale, zero], [`${tensor}/quantized`]);
    return g.node('DequantizeLinear', `${tensor}/DequantizeLinear`, [q, scale, zero], [`${tensor}/dequantized`]);
  };

  // Prelude: pad H and W of the image (and the noise map) up to the size multiple. pad = (m - size % m) % m, from the image's runtime shape.
  let hw: string | undefined;
  const p = spec.input.name;
  const fixedPads = fixed ? [(multiple - (fixed.height % multiple)) % multiple, (multiple - (fixed.width % multiple)) % multiple] : [0, 0];
  let pads: string | undefined;
  if (!fixed && multiple > 1) {
    const shape = g.node('Shape', `${p}/Shape`, [input], [`${p}/shape`]);
    const axes = g.int64Initializer(`${p}/hw_axes`, [2, 3]);
    hw = g.node('Gather', `${p}/Gather`, [shape, axes], [`${p}/hw`], [attr.int('axis', 0)]);
    const m = g.int64Initializer(`${p}/size_multiple`, [multiple], [], `the network needs H and W multiples of ${multiple}`);
    const remainder = g.node('Mod', `${p}/Mod_remainder`, [hw, m], [`${p}/hw_remainder`]);
    const missing = g.node('Sub', `${p}/Sub`, [m, remainder], [`${p}/hw_missing`]);
    const amounts = g.node('Mod', `${p}/Mod_pad`, [missing, m], [`${p}/hw_pad`]);
    // Pad's pads input is [n, c, h, w begins, n, c, h, w ends]: only the H and W ends grow.
    const zeros = g.int64Initializer(`${p}/pads_prefix`, [0, 0, 0, 0, 0, 0], [6], 'begin pads of N, C, H, W and end pads of N, C');
    pads = g.node('Concat', `${p}/Concat`, [zeros, amounts], [`${p}/pads`], [attr.int('axis', 0)]);
  }
  /** One graph input padded up to the multiple (and cast for float16): the tensor the layers read. */
  const prelude = (inputName: string, prefix: string): string => {
    let x = inputName;
    if (fixed) {
      // Edge replication with constant indices: the last row (column) sliced off and concatenated `pad` times.
      [2, 3].forEach((axis, i) => {
        const pad = fixedPads[i]!;
        if (pad === 0) return;
        const size = i === 0 ? fixed.height : fixed.width;
        const name = axis === 2 ? 'bottom' : 'right';
        const edge = g.node(
          'Slice',
          `${prefix}/Slice_${name}_edge`,
          [x, g.int64Initializer(`${prefix}/${name}_edge_starts`, [size - 1]), g.int64Initializer(`${prefix}/${name}_edge_ends`, [size]), g.int64Initializer(`${prefix}/${name}_edge_axes`, [axis])],
          [`${prefix}/${name}_edge`],
        );
        x = g.node('Concat', `${prefix}/Concat_${name}`, [x, ...Array.from({ length: pad }, () => edge)], [`${prefix}/padded_${name}`], [attr.int('axis', axis)], `pads ${pad} at the ${name} by repeating the edge, up to a multiple of ${multiple}`);
      });
    } else if (pads) {
      // Edge replication works for every size (reflect needs pad < size, which fails for 1-pixel inputs).
      x = g.node('Pad', `${prefix}/Pad`, [x, pads], [`${prefix}/padded`], [attr.string('mode', 'edge')]);
    }
    if (precision === 'float16') x = g.node('Cast', `${prefix}/Cast`, [x], [`${prefix}/float16`], [attr.int('to', DataType.FLOAT16)]);
    return x;
  };
  const x = quantizeTensor(p, prelude(input, p));
  const map = spec.input.noiseMap;
  const tensors = new Map<string, string>([[spec.input.name, x]]);
  if (map !== undefined) tensors.set(map, quantizeTensor(map, prelude(g.claim(map), map)));
  const ctx: EmitContext = {
    graph: g,
    precision,
    // Static-shape consumers (OpenCV DNN) refuse asymmetric ConvTranspose pads: a static export always pads symmetrically.
    symmetricPads: (options.symmetricPads ?? false) || fixed !== undefined,
    staticShape: fixed !== undefined,
    weight: (layer, suffix) => (weightNames.has(`${layer.name}.${suffix}`) ? `${layer.name}.${suffix}` : undefined),
    linearOutput: (layer) => (activationOf(layer) === 'linear' ? layer.name : `${layer.name}/linear`),
    activate: (layer, linear) => ACTIVATION_EMITTERS[activationOf(layer)](g, linear, layer.name, layer.name, precision, fixed !== undefined),
  };
  for (const layer of spec.layers) {
    const emitter = ONNX_EMITTERS[layer.kind] as LayerEmitter<LayerKindName>;
    tensors.set(layer.name, quantizeTensor(layer.name, emitter.emit(layer, layer.inputs.map((t) => tensors.get(t)!), ctx)));
  }

  // Epilogue: back to float32, crop to the input's H and W; the last node writes the output.
  const o = outputName;
  let y = tensors.get(spec.output)!;
  const fixedCrop = fixed !== undefined && (fixedPads[0]! > 0 || fixedPads[1]! > 0);
  if (precision === 'float16') y = g.node('Cast', `${o}/Cast`, [y], [hw || fixedCrop ? `${o}/float32` : o], [attr.int('to', DataType.FLOAT)]);
  if (hw) {
    const starts = g.int64Initializer(`${o}/crop_starts`, [0, 0]);
    y = g.node('Slice', `${o}/Slice`, [y, starts, hw, `${p}/hw_axes`], [o], [], 'crops the padded H and W back to the input size');
  } else if (fixed && fixedCrop) {
    const axes = [2, 3].filter((_, i) => fixedPads[i]! > 0);
    const ends = [fixed.height, fixed.width].filter((_, i) => fixedPads[i]! > 0);
    y = g.node(
      'Slice',
      `${o}/Slice`,
      [y, g.int64Initializer(`${o}/crop_starts`, axes.map(() => 0)), g.int64Initializer(`${o}/crop_ends`, ends), g.int64Initializer(`${o}/crop_axes`, axes)],
      [o],
      [],
      'crops the padded H and W back to the input size',
    );
  }
  if (y !== o) g.node('Identity', `${o}/Identity`, [y], [o]);

  const specText = JSON.stringify(spec);
  const hash = contentHash(specText, hashedInitializers([...defs, ...rangeDefs(spec)], g.initializers));
  const metadata: EmittedModel['metadata'] = {
    formatVersion: map === undefined ? MODEL_FORMAT_VERSION : MODEL_FORMAT_VERSION_NOISE_MAP,
    name: spec.name,
    spec: JSON.parse(specText),
    channels: spec.input.channels,
    valueRange: [0, 1],
    sizeMultiple: multiple,
    receptiveField: { low: field.low, high: field.high, radius: field.radius },
    ...(map !== undefined ? { noiseMap: map } : {}),
    layout: 'NCHW',
    precision,
    contentHash: hash,
    image: {
      ...(bitmapPixelFormat(spec.input.channels) ? { bitmapPixelFormat: bitmapPixelFormat(spec.input.channels) } : {}),
      colorSpaceGamma: 'SRGB',
      nominalPixelRange: 'Normalized_0_1',
    },
  };
  if (options.noise) metadata.noise = { ...options.noise };
  if (options.training && Object.keys(options.training).length > 0) metadata.training = { ...options.training };
  const props = encodeDenoiserMetadata(metadata, specText);

  const pkg = packageInfo();
  const sizeNote = fixed ? '' : multiple > 1 ? `; inside, H and W are padded up to a multiple of ${multiple} by edge replication and the output is cropped back` : '';
  const ioDoc = fixed ? `float32 [${fixed.batch}, ${spec.input.channels}, ${fixed.height}, ${fixed.width}] (a fixed shape), values in [0, 1]` : `float32 [N, ${spec.input.channels}, H, W], values in [0, 1]`;
  const model: Onnx.IModelProto = {
    irVersion,
    opsetImport: [{ domain: '', version: opset }],
    producerName: pkg.name,
    producerVersion: pkg.version,
    domain: MODEL_DOMAIN,
    modelVersion,
    docString:
      `${spec.description || spec.name}. Input "${spec.input.name}" and output "${outputName}": ${ioDoc}${fixed ? '' : ', any H and W'}${sizeNote}. ` +
      (spec.input.noiseMap === undefined ? '' : `Second input "${spec.input.noiseMap}": the noise map, float32 [N, 1, H, W], the noise's standard deviation per pixel on the [0, 1] scale. `) +
      `Emitted by ${pkg.name} ${pkg.version} from the layer spec "${spec.name}" (opset ${opset}, ${precision}${ctx.symmetricPads ? ', symmetric ConvTranspose pads' : ''}${fixed ? ', static shape' : ''}).`,
    graph: {
      name: spec.name,
      docString: spec.layers.map((l) => `${l.name}: ${l.kind} ${(LAYER_KINDS[l.kind] as unknown as LayerKindDef).describe(l)}`).join('; '),
      node: g.nodes,
      initializer: g.initializers,
      input: [
        imageValueInfo(spec.input.name, spec.input.channels, DataType.FLOAT, `noisy image, ${ioDoc}`, fixed),
        ...(spec.input.noiseMap === undefined
          ? []
          : [imageValueInfo(spec.input.noiseMap, 1, DataType.FLOAT, `noise map: the noise's standard deviation at each pixel on the image's [0, 1] scale, float32 [N, 1, H, W] of the image's N, H and W`, fixed)]),
      ],
      output: [imageValueInfo(outputName, spec.input.channels, DataType.FLOAT, `denoised image, ${ioDoc}, same shape as the input`, fixed)],
    },
    metadataProps: Object.entries(props).map(([key, value]) => ({ key, value })),
  };
  const problems = structureProblems(model);
  if (problems.length) throw new Error(`ONNX emitter produced a malformed graph: ${problems.join('; ')}`);
  return { bytes: onnx.ModelProto.encode(model).finish(), model, metadata, props };
}
