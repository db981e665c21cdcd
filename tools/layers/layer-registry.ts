// The one registry of layer kinds: keys, documented defaults, validation, shapes, weights and receptive-field growth per kind.
import { check, checkBoolean, checkInteger, checkKnownKeys, checkNumber, checkOneOf, invalid } from 'onnx-denoiser-common';

/** Activations a layer may apply after its linear part (TF.js identifiers; each maps to ONNX ops). */
export const ACTIVATIONS = Object.freeze([
  'linear',
  'relu',
  'relu6',
  'elu',
  'selu',
  'sigmoid',
  'hardSigmoid',
  'tanh',
  'softplus',
  'softsign',
  'swish',
] as const);

/** An activation name from {@link ACTIVATIONS}. */
export type Activation = (typeof ACTIVATIONS)[number];

/** Padding modes with TF semantics: `same` keeps ceil(size / stride), putting any odd extra pad at the end. */
export const PADDINGS = Object.freeze(['same', 'valid'] as const);

/** A padding mode from {@link PADDINGS}. */
export type Padding = (typeof PADDINGS)[number];

/** Keys shared by every layer kind. */
interface BaseFields {
  /** Unique layer name; it also names the layer's output tensor and prefixes its weights (`<name>.kernel`). */
  name: string;
  /** Names of the tensors this layer reads, all distinct: the spec input's name or earlier layers' names. */
  inputs: string[];
}

/** Keys shared by every convolution kind, after defaults are applied. */
interface ConvFields extends BaseFields {
  /** Number of output channels. Required. */
  filters: number;
  /** Kernel [height, width]; a single number means square. Required. */
  kernelSize: [number, number];
  /** Strides [height, width]; a single number means both. Default 1. */
  strides: [number, number];
  /** `same` or `valid`. Default `valid` (as in Keras and TF.js). */
  padding: Padding;
  /** Activation after the convolution. Default `linear`. */
  activation: Activation;
  /** Whether a bias vector is added. Default true. */
  useBias: boolean;
}

/** A 2-D convolution. Kernel layout `[kh, kw, in, out]` (TF HWIO). */
export interface Conv2DLayer extends ConvFields {
  kind: 'conv2d';
}

/** A 2-D transposed convolution. Kernel layout `[kh, kw, out, in]` (TF's transposed layout). */
export interface Conv2DTransposeLayer extends ConvFields {
  kind: 'conv2dTranspose';
}

/** The elementwise sum of two or more tensors of one shape, then an activation. No weights. */
export interface AddLayer extends BaseFields {
  kind: 'add';
  /** Activation after the sum. Default `linear`. */
  activation: Activation;
}

/** `inputs[0] - inputs[1]` for two tensors of one shape, then an activation (residual learning). No weights. */
export interface SubtractLayer extends BaseFields {
  kind: 'subtract';
  /** Activation after the difference. Default `linear`. */
  activation: Activation;
}

/** Two or more tensors of one height and width joined along the channels, in `inputs` order. No weights. */
export interface ConcatLayer extends BaseFields {
  kind: 'concat';
}

/** Elementwise `min(max(x, min), max)`. No weights. */
export interface ClipLayer extends BaseFields {
  kind: 'clip';
  /** Lower bound. Default 0. */
  min: number;
  /** Upper bound, above `min`. Default 1. */
  max: number;
}

/** Any layer of a spec, after validation and defaults. */
export type LayerSpec = Conv2DLayer | Conv2DTransposeLayer | AddLayer | SubtractLayer | ConcatLayer | ClipLayer;

/** The name of a layer kind in the registry. */
export type LayerKindName = LayerSpec['kind'];

/** A tensor shape in NHWC terms without the batch; `null` height or width means free (any size). */
export interface Shape {
  height: number | null;
  width: number | null;
  channels: number;
}

/** One weight of a layer: its name suffix, shape and a note on its layout. */
export interface WeightDef {
  /** Suffix after the layer name: the full name is `<layer>.<suffix>`. */
  suffix: string;
  shape: number[];
  layout: string;
}

/** Documentation of one key of a layer kind. */
export interface KeyDoc {
  doc: string;
  /** The default, when the key may be omitted. */
  default?: unknown;
}

/** Where a layer sits in the spec, for error messages: `layers[1] ("encoder_conv2")`. */
export interface LayerContext {
  /** Prefix naming the layer, used as `<where>.<key>` in messages. */
  where: string;
  /** What the shapes were inferred for, appended after the layer and key: ` for input 28x28`. Empty when free. */
  at?: string;
}

/**
 * Along one axis, where a tensor's pixels sit and what they depend on: pixel p of a tensor at `scale` s sits at input
 * pixel s * p and depends on input pixels s * p + [low, high]. The network input is { scale 1, low 0, high 0 }.
 */
export interface FieldSpan {
  /** Input pixels per pixel of this tensor, as the exact fraction [numerator, denominator] in lowest terms. */
  scale: [number, number];
  low: number;
  high: number;
}

/** What the registry knows of one layer kind. Backends (TF.js builder, ONNX emitter) key their own tables by kind. */
export interface LayerKindDef<L extends LayerSpec = LayerSpec> {
  readonly kind: L['kind'];
  /** The Keras class name shown by `tools summary`. */
  readonly displayName: string;
  readonly description: string;
  /** Every key this kind accepts besides `kind`, `name` and `inputs`, with its documented default. */
  readonly keys: Readonly<Record<string, KeyDoc>>;
  /** How many input tensors the kind takes (`max` may be Infinity). */
  readonly arity: { min: number; max: number };
  /** Validates the raw JSON object (already known to have `kind`, `name`, `inputs`) and applies defaults. */
  resolve(raw: Record<string, unknown>, base: { name: string; inputs: string[] }, ctx: LayerContext): L;
  /** The output shape for the given input shapes; throws naming the layer when a size cannot work. */
  outputShape(layer: L, inputs: Shape[], ctx: LayerContext): Shape;
  /** The layer's weights for the given input shapes, in the order TF.js holds them. */
  weights(layer: L, inputs: Shape[]): WeightDef[];
  /** The layer's settings in one short line (`16 3x3/2x2 same relu`), for model docs. */
  describe(layer: L): string;
  /**
   * How the layer grows the receptive field along `axis` (0: height, 1: width): its output's span from its inputs'.
   * A strided kind changes the scale (the size multiple and tile alignment follow from the scales). Exact for the
   * emitted graph, where every strided "same" conv sees a multiple of its stride (so its pads do not depend on the size).
   */
  field(layer: L, inputs: FieldSpan[], axis: 0 | 1, ctx: LayerContext): FieldSpan;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** `[n, d]` in lowest terms. */
function fraction(n: number, d: number): [number, number] {
  const g = gcd(n, d);
  return [n / g, d / g];
}

/** The inputs' common scale and the union of their spans: what a pointwise or merging kind outputs. */
function mergedSpan(layer: BaseFields, inputs: FieldSpan[], ctx: LayerContext): FieldSpan {
  const [n, d] = inputs[0]!.scale;
  if (inputs.some((i) => i.scale[0] !== n || i.scale[1] !== d)) {
    const scales = inputs.map((i, k) => `${layer.inputs[k]} (scale ${i.scale[0]}${i.scale[1] === 1 ? '' : `/${i.scale[1]}`})`);
    throw invalid('input tensors at one scale (the same strides on every path)', `${ctx.where}.inputs`, scales.join(', '));
  }
  return { scale: [n, d], low: Math.min(...inputs.map((i) => i.low)), high: Math.max(...inputs.map((i) => i.high)) };
}

/** TF 'same' pads [begin, end] along one axis for a known input size: the odd extra pad goes at the end. */
export function tfSamePads(size: number, kernel: number, stride: number): [number, number] {
  const total = Math.max((Math.ceil(size / stride) - 1) * stride + kernel - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/**
 * Conv pads [begin, end] along one axis, exact for every input size that is a multiple of the stride: then
 * ceil(in / s) = in / s and TF's total pad (in/s - 1) * s + k - in = k - s does not depend on the size.
 */
export function convPads(kernel: number, stride: number, padding: Padding): [number, number] {
  if (padding === 'valid') return [0, 0];
  const total = Math.max(kernel - stride, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/**
 * ConvTranspose pads [begin, end] and output_padding along one axis, exact for every input size. The full transposed
 * output is s * (in - 1) + k long. TF 'same' keeps in * s: it is the gradient of a 'same' Conv over in * s values,
 * whose pad k - s (when k >= s) is split floor / ceil, so the full output loses floor((k - s) / 2) at the begin and
 * the rest at the end (k3 s2: [0, 1]). TF 'valid' keeps in * s + max(k - s, 0): nothing is cut. When k < s both are
 * s - k longer than the full output: ONNX output_padding adds those at the end (TF leaves them zero before the bias).
 */
export function convTransposePads(kernel: number, stride: number, padding: Padding): { pads: [number, number]; outputPadding: number } {
  if (kernel < stride) return { pads: [0, 0], outputPadding: stride - kernel };
  if (padding === 'valid') return { pads: [0, 0], outputPadding: 0 };
  const total = kernel - stride;
  return { pads: [Math.floor(total / 2), total - Math.floor(total / 2)], outputPadding: 0 };
}

function checkPair(value: unknown, name: string): [number, number] {
  if (typeof value === 'number') return [checkInteger(value, name, { min: 1 }), value];
  check(
    Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= 1),
    'an integer >= 1 or a pair [height, width] of integers >= 1',
    name,
    value,
  );
  return [value[0] as number, value[1] as number];
}

const CONV_KEYS: Readonly<Record<string, KeyDoc>> = Object.freeze({
  filters: { doc: 'number of output channels (required)' },
  kernelSize: { doc: 'kernel size, a number or [height, width] (required)' },
  strides: { doc: 'strides, a number or [height, width]', default: 1 },
  padding: { doc: '"same" (output ceil(in / stride); odd extra pad at the end, as TF) or "valid"', default: 'valid' },
  activation: { doc: `one of ${ACTIVATIONS.join(', ')}`, default: 'linear' },
  useBias: { doc: 'whether a bias vector is added', default: true },
});

function resolveConv<K extends LayerKindName>(
  kind: K,
  raw: Record<string, unknown>,
  base: { name: string; inputs: string[] },
  { where }: LayerContext,
): ConvFields & { kind: K } {
  checkKnownKeys(raw, where, ['kind', 'name', 'inputs', ...Object.keys(CONV_KEYS)]);
  if (raw.filters === undefined) throw invalid('an integer >= 1 (filters is required)', `${where}.filters`, undefined);
  if (raw.kernelSize === undefined) throw invalid('an integer >= 1 or a pair (kernelSize is required)', `${where}.kernelSize`, undefined);
  return {
    kind,
    name: base.name,
    inputs: base.inputs,
    filters: checkInteger(raw.filters, `${where}.filters`, { min: 1 }),
    kernelSize: checkPair(raw.kernelSize, `${where}.kernelSize`),
    strides: checkPair(raw.strides ?? CONV_KEYS.strides!.default, `${where}.strides`),
    padding: checkOneOf(raw.padding ?? CONV_KEYS.padding!.default, `${where}.padding`, PADDINGS),
    activation: checkOneOf(raw.activation ?? CONV_KEYS.activation!.default, `${where}.activation`, ACTIVATIONS),
    useBias: checkBoolean(raw.useBias ?? CONV_KEYS.useBias!.default, `${where}.useBias`),
  };
}

/** TF/Keras conv output length for one axis; null stays null (free size). */
export function convOutputLength(size: number | null, kernel: number, stride: number, padding: Padding): number | null {
  if (size === null) return null;
  return padding === 'same' ? Math.ceil(size / stride) : Math.floor((size - kernel) / stride) + 1;
}

/** TF/Keras transposed-conv output length for one axis; null stays null. */
export function deconvOutputLength(size: number | null, kernel: number, stride: number, padding: Padding): number | null {
  if (size === null) return null;
  return padding === 'same' ? size * stride : size * stride + Math.max(kernel - stride, 0);
}

function checkSpatial(size: number | null, axis: string, input: number | null, ctx: LayerContext): number | null {
  if (size !== null && size < 1) {
    throw invalid(`an input ${axis} that leaves at least 1 pixel after this layer`, `${ctx.where}${ctx.at ?? ''}`, `${axis} ${input}`);
  }
  return size;
}

function describeConv(layer: Conv2DLayer | Conv2DTransposeLayer): string {
  return `${layer.filters} ${layer.kernelSize.join('x')}/${layer.strides.join('x')} ${layer.padding} ${layer.activation}${layer.useBias ? '' : ' no bias'}`;
}

const conv2d: LayerKindDef<Conv2DLayer> = {
  kind: 'conv2d',
  displayName: 'Conv2D',
  description: '2-D convolution with optional bias and activation',
  keys: CONV_KEYS,
  arity: { min: 1, max: 1 },
  resolve: (raw, base, ctx) => resolveConv('conv2d', raw, base, ctx),
  outputShape(layer, [input], ctx): Shape {
    const [kh, kw] = layer.kernelSize;
    const [sh, sw] = layer.strides;
    return {
      height: checkSpatial(convOutputLength(input!.height, kh, sh, layer.padding), 'height', input!.height, ctx),
      width: checkSpatial(convOutputLength(input!.width, kw, sw, layer.padding), 'width', input!.width, ctx),
      channels: layer.filters,
    };
  },
  weights(layer, [input]): WeightDef[] {
    const [kh, kw] = layer.kernelSize;
    const kernel = { suffix: 'kernel', shape: [kh, kw, input!.channels, layer.filters], layout: '[kh, kw, in, out] (TF HWIO)' };
    return layer.useBias ? [kernel, { suffix: 'bias', shape: [layer.filters], layout: '[out]' }] : [kernel];
  },
  describe: describeConv,
  field(layer, [input], axis): FieldSpan {
    const k = layer.kernelSize[axis];
    const st = layer.strides[axis];
    const begin = convPads(k, st, layer.padding)[0];
    const [n, d] = input!.scale;
    // Output q sits at scale * st * q and reads input pixels st * q - begin + [0, k - 1].
    return { scale: fraction(n * st, d), low: input!.low - (n / d) * begin, high: input!.high + (n / d) * (k - 1 - begin) };
  },
};

const conv2dTranspose: LayerKindDef<Conv2DTransposeLayer> = {
  kind: 'conv2dTranspose',
  displayName: 'Conv2DTranspose',
  description: '2-D transposed convolution (learned upsampling) with optional bias and activation',
  keys: CONV_KEYS,
  arity: { min: 1, max: 1 },
  resolve: (raw, base, ctx) => resolveConv('conv2dTranspose', raw, base, ctx),
  outputShape(layer, [input], ctx): Shape {
    const [kh, kw] = layer.kernelSize;
    const [sh, sw] = layer.strides;
    return {
      height: checkSpatial(deconvOutputLength(input!.height, kh, sh, layer.padding), 'height', input!.height, ctx),
      width: checkSpatial(deconvOutputLength(input!.width, kw, sw, layer.padding), 'width', input!.width, ctx),
      channels: layer.filters,
    };
  },
  weights(layer, [input]): WeightDef[] {
    const [kh, kw] = layer.kernelSize;
    const kernel = { suffix: 'kernel', shape: [kh, kw, layer.filters, input!.channels], layout: '[kh, kw, out, in] (TF transposed)' };
    return layer.useBias ? [kernel, { suffix: 'bias', shape: [layer.filters], layout: '[out]' }] : [kernel];
  },
  describe: describeConv,
  field(layer, [input], axis): FieldSpan {
    const k = layer.kernelSize[axis];
    const st = layer.strides[axis];
    const begin = convTransposePads(k, st, layer.padding).pads[0];
    const [n, d] = input!.scale;
    const out = n / (d * st);
    // Output o = st * i + kk - begin (kk in [0, k - 1]) sits at out * o; its inputs i sit at out * (o + begin - kk).
    return { scale: fraction(n, d * st), low: input!.low + out * (begin - (k - 1)), high: input!.high + out * begin };
  },
};

/** `name (HxWxC)` for each input, free sizes as H and W: what a merge layer received. */
function inputsText(layer: BaseFields, inputs: Shape[]): string {
  return layer.inputs.map((t, i) => `${t} (${inputs[i]!.height ?? 'H'}x${inputs[i]!.width ?? 'W'}x${inputs[i]!.channels})`).join(', ');
}

/** Throws unless every input has the first one's height and width (and channels, when `channels` is set). */
function checkSameShape(layer: BaseFields, inputs: Shape[], ctx: LayerContext, channels: boolean): void {
  const [first] = inputs;
  if (channels && inputs.some((s) => s.channels !== first!.channels)) {
    throw invalid('input tensors with equal channel counts', `${ctx.where}.inputs${ctx.at ?? ''}`, inputsText(layer, inputs));
  }
  if (inputs.some((s) => s.height !== first!.height || s.width !== first!.width)) {
    throw invalid('input tensors of equal height and width', `${ctx.where}.inputs${ctx.at ?? ''}`, inputsText(layer, inputs));
  }
}

const ACTIVATION_KEY: Readonly<Record<string, KeyDoc>> = Object.freeze({
  activation: { doc: `one of ${ACTIVATIONS.join(', ')}`, default: 'linear' },
});

function resolveActivation(raw: Record<string, unknown>, where: string): Activation {
  checkKnownKeys(raw, where, ['kind', 'name', 'inputs', 'activation']);
  return checkOneOf(raw.activation ?? ACTIVATION_KEY.activation!.default, `${where}.activation`, ACTIVATIONS);
}

/** An elementwise kind over tensors of one shape, with an optional activation: `add` and `subtract` differ only here. */
function elementwiseKind<L extends AddLayer | SubtractLayer>(kind: L['kind'], displayName: string, description: string, arity: { min: number; max: number }, operator: string): LayerKindDef<L> {
  return {
    kind,
    displayName,
    description,
    keys: ACTIVATION_KEY,
    arity,
    resolve: (raw, base, { where }) => ({ kind, ...base, activation: resolveActivation(raw, where) }) as L,
    outputShape(layer, inputs, ctx): Shape {
      checkSameShape(layer, inputs, ctx, true);
      return { ...inputs[0]! };
    },
    weights: () => [],
    describe: (layer) => `${layer.inputs.join(` ${operator} `)} ${layer.activation}`,
    field: (layer, inputs, _axis, ctx) => mergedSpan(layer, inputs, ctx),
  };
}

const add = elementwiseKind<AddLayer>('add', 'Add', 'elementwise sum of two or more tensors of one shape (a skip connection), with optional activation', { min: 2, max: Infinity }, '+');

const subtract = elementwiseKind<SubtractLayer>(
  'subtract',
  'Subtract',
  'inputs[0] - inputs[1] for two tensors of one shape (residual learning: the input minus the predicted noise), with optional activation',
  { min: 2, max: 2 },
  '-',
);

const concat: LayerKindDef<ConcatLayer> = {
  kind: 'concat',
  displayName: 'Concatenate',
  description: 'two or more tensors of one height and width joined along the channels, in inputs order',
  keys: Object.freeze({}),
  arity: { min: 2, max: Infinity },
  resolve(raw, base, { where }) {
    checkKnownKeys(raw, where, ['kind', 'name', 'inputs']);
    return { kind: 'concat', ...base };
  },
  outputShape(layer, inputs, ctx): Shape {
    checkSameShape(layer, inputs, ctx, false);
    return { height: inputs[0]!.height, width: inputs[0]!.width, channels: inputs.reduce((sum, s) => sum + s.channels, 0) };
  },
  weights: () => [],
  describe: (layer) => `channels of ${layer.inputs.join(', ')}`,
  field: (layer, inputs, _axis, ctx) => mergedSpan(layer, inputs, ctx),
};

const CLIP_KEYS: Readonly<Record<string, KeyDoc>> = Object.freeze({
  min: { doc: 'lower bound, a finite number', default: 0 },
  max: { doc: 'upper bound, a finite number above min', default: 1 },
});

const clip: LayerKindDef<ClipLayer> = {
  kind: 'clip',
  displayName: 'Clip',
  description: 'elementwise min(max(x, min), max), e.g. to keep a residual output in [0, 1]',
  keys: CLIP_KEYS,
  arity: { min: 1, max: 1 },
  resolve(raw, base, { where }) {
    checkKnownKeys(raw, where, ['kind', 'name', 'inputs', ...Object.keys(CLIP_KEYS)]);
    const min = checkNumber(raw.min ?? CLIP_KEYS.min!.default, `${where}.min`);
    const max = checkNumber(raw.max ?? CLIP_KEYS.max!.default, `${where}.max`, { above: min });
    return { kind: 'clip', ...base, min, max };
  },
  outputShape: (_layer, [input]) => ({ ...input! }),
  weights: () => [],
  describe: (layer) => `to [${layer.min}, ${layer.max}]`,
  field: (_layer, [input]) => ({ scale: [input!.scale[0], input!.scale[1]], low: input!.low, high: input!.high }),
};

/** The registry: layer kind name -> definition. Frozen; adding a kind means one entry here plus one per backend table. */
export const LAYER_KINDS: Readonly<{ [K in LayerKindName]: LayerKindDef<Extract<LayerSpec, { kind: K }>> }> = Object.freeze({
  conv2d: Object.freeze(conv2d),
  conv2dTranspose: Object.freeze(conv2dTranspose),
  add: Object.freeze(add),
  subtract: Object.freeze(subtract),
  concat: Object.freeze(concat),
  clip: Object.freeze(clip),
});

/** The activation a layer applies last: `linear` for kinds without one (`concat`, `clip`). */
export function activationOf(layer: LayerSpec): Activation {
  return 'activation' in layer ? layer.activation : 'linear';
}

/** The kind names, in registry order. */
export const LAYER_KIND_NAMES = Object.freeze(Object.keys(LAYER_KINDS) as LayerKindName[]);

/** Looks up a kind, throwing the standard error listing the valid kinds. */
export function layerKind(kind: unknown, where: string): LayerKindDef {
  const name = checkOneOf(kind, where, LAYER_KIND_NAMES);
  return LAYER_KINDS[name] as unknown as LayerKindDef;
}
