// The network spec: plain JSON describing the denoiser, its validator, shape inference and weight list.
import { readFile } from 'node:fs/promises';
import {
  check,
  checkInteger,
  checkKnownKeys,
  checkObject,
  checkOneOf,
  checkString,
  cannot,
  described,
  fileErrorReason,
  invalid,
  receptiveFieldOf,
  type ReceptiveField,
  ValidationError,
} from 'onnx-denoiser-common';
import { layerKind, type FieldSpan, type LayerSpec, type Shape, type WeightDef } from './layer-registry.js';
import { QUANTIZATION_MODES, type QuantizationMode } from './quantization.js';

/** The value of every spec's `format` key. */
export const SPEC_FORMAT = 'onnx-denoiser/spec';

/** Spec versions this code reads. Version 1: an input, a list of layers with named tensors, an output. */
export const SPEC_VERSIONS = Object.freeze([1] as const);

const NAME_PATTERN = { regex: /^[A-Za-z][A-Za-z0-9_]*$/, description: 'a name of letters, digits and "_" starting with a letter' };
const MODEL_NAME_PATTERN = { regex: /^[A-Za-z0-9][A-Za-z0-9_.-]*$/, description: 'a name of letters, digits, ".", "_" and "-"' };

/** The network's input: one image tensor, NHWC in TF.js and NCHW in ONNX, height and width free. */
export interface InputSpec {
  /** Tensor name; layers refer to it in `inputs`. Default `image`. */
  name: string;
  /** Number of channels: 1 for grayscale, 3 for RGB. */
  channels: number;
  /**
   * Name of a second input, the noise map: one channel of the image's height and width holding the noise's standard
   * deviation at each pixel on the image's value scale (a constant plane for uniform noise, as in FFDNet). Layers
   * read it like any tensor (typically `concat` with the image). Absent: the network is blind.
   */
  noiseMap?: string;
}

/** The tensors a spec's layers can read before its first layer: the image and, when declared, the noise map. */
export function inputTensors(input: InputSpec): Map<string, Shape> {
  const tensors = new Map<string, Shape>([[input.name, { height: null, width: null, channels: input.channels }]]);
  if (input.noiseMap !== undefined) tensors.set(input.noiseMap, { height: null, width: null, channels: 1 });
  return tensors;
}

/** A validated spec with every default applied. */
export interface NetworkSpec {
  format: typeof SPEC_FORMAT;
  version: 1;
  /** Model name (used in file names and metadata). */
  name: string;
  /** One line on what the network is. Default empty. */
  description: string;
  input: InputSpec;
  /** Layers in topological order: each reads only the input or earlier layers. */
  layers: LayerSpec[];
  /** Name of the tensor the network returns. Default: the last layer. */
  output: string;
  /**
   * `int8`: per-channel int8 weights and uint8 activations (see tools/layers/quantization.ts); the TF.js builder
   * trains through the rounding and the ONNX emitter writes QuantizeLinear / DequantizeLinear pairs. Default: none
   * (float).
   */
  quantization?: QuantizationMode;
}

/** A layer's weight with its full name (`<layer>.<suffix>`). */
export interface NamedWeightDef extends WeightDef {
  /** Full weight name, identical in the weights file, the ONNX initializers and the tests. */
  name: string;
  /** The layer it belongs to. */
  layer: string;
}

function layerWhere(index: number, raw: unknown): string {
  const name = typeof raw === 'object' && raw !== null && typeof (raw as { name?: unknown }).name === 'string' ? (raw as { name: string }).name : undefined;
  return name === undefined ? `layers[${index}]` : `layers[${index}] ("${name}")`;
}

/**
 * Validates a parsed JSON value as a spec and applies defaults. Every error names the layer (index and name),
 * the key, what is accepted and what was received. `source` (a file name) prefixes messages when given.
 */
export function parseSpec(json: unknown, source?: string): NetworkSpec {
  try {
    return parseSpecUnprefixed(json);
  } catch (error) {
    if (source && error instanceof ValidationError) throw new ValidationError(`${source}: ${error.message}`, error.argument);
    throw error;
  }
}

function parseSpecUnprefixed(json: unknown): NetworkSpec {
  const raw = checkObject(json, 'spec');
  // The format first: a foreign JSON file is reported as such, not by its first unknown key.
  check(raw.format === SPEC_FORMAT, `"${SPEC_FORMAT}"`, 'spec.format', raw.format);
  checkKnownKeys(raw, 'spec', ['format', 'version', 'name', 'description', 'input', 'layers', 'output', 'quantization']);
  check(SPEC_VERSIONS.includes(raw.version as 1), `a supported version (${SPEC_VERSIONS.join(', ')})`, 'spec.version', raw.version);
  const name = checkString(raw.name, 'spec.name', MODEL_NAME_PATTERN);
  const description = raw.description === undefined ? '' : raw.description;
  check(typeof description === 'string', 'a string', 'spec.description', description);

  const rawInput = checkObject(raw.input, 'spec.input');
  checkKnownKeys(rawInput, 'spec.input', ['name', 'channels', 'noiseMap']);
  const input: InputSpec = {
    name: checkString(rawInput.name ?? 'image', 'spec.input.name', NAME_PATTERN),
    channels: checkInteger(rawInput.channels, 'spec.input.channels', { min: 1, max: 4 }),
  };
  if (rawInput.noiseMap !== undefined) {
    input.noiseMap = checkString(rawInput.noiseMap, 'spec.input.noiseMap', NAME_PATTERN);
    check(input.noiseMap !== input.name, `a name other than the image input's ("${input.name}")`, 'spec.input.noiseMap', input.noiseMap);
  }

  check(Array.isArray(raw.layers) && raw.layers.length > 0, 'a non-empty array of layers', 'spec.layers', raw.layers);
  const shapes = inputTensors(input);
  const layers: LayerSpec[] = [];
  let previous = input.name;
  (raw.layers as unknown[]).forEach((rawLayer, index) => {
    const where = layerWhere(index, rawLayer);
    const object = checkObject(rawLayer, where);
    const layerName = checkString(object.name, `${where}.name`, NAME_PATTERN);
    check(!shapes.has(layerName), `a name not used by the input or an earlier layer`, `${where}.name`, layerName);
    const kind = layerKind(object.kind, `${where}.kind`);
    const inputs = object.inputs === undefined ? [previous] : object.inputs;
    check(
      Array.isArray(inputs) && inputs.length >= kind.arity.min && inputs.length <= kind.arity.max && inputs.every((n) => typeof n === 'string'),
      arityText(kind.arity),
      `${where}.inputs`,
      inputs,
    );
    for (const tensor of inputs as string[]) {
      if (!shapes.has(tensor)) {
        throw invalid(`the input's or an earlier layer's name (${[...shapes.keys()].map((n) => `"${n}"`).join(', ')})`, `${where}.inputs`, tensor);
      }
    }
    // TF.js's graph executor frees a tensor that one layer reads twice too early, so a name may appear once.
    check(new Set(inputs).size === inputs.length, 'distinct tensor names', `${where}.inputs`, inputs);
    const layer = kind.resolve(object, { name: layerName, inputs: inputs as string[] }, { where });
    shapes.set(layerName, kind.outputShape(layer, layer.inputs.map((t) => shapes.get(t)!), { where }));
    layers.push(layer);
    previous = layerName;
  });

  const output = raw.output === undefined ? previous : raw.output;
  check(typeof output === 'string' && shapes.has(output) && output !== input.name && output !== input.noiseMap, 'the name of a layer', 'spec.output', output);
  const outputShape = shapes.get(output)!;
  check(outputShape.channels === input.channels, `an output with ${input.channels} channel(s), as the input`, 'spec.output', `${outputShape.channels} channel(s) from layer ${output}`);

  const spec: NetworkSpec = { format: SPEC_FORMAT, version: 1, name, description: description as string, input, layers, output };
  if (raw.quantization !== undefined) spec.quantization = checkOneOf(raw.quantization, 'spec.quantization', QUANTIZATION_MODES);
  const used = usedLayers(spec);
  const unused = layers.findIndex((layer) => !used.has(layer.name));
  if (unused >= 0) {
    throw invalid(`a layer that the output "${output}" depends on`, `layers[${unused}] ("${layers[unused]!.name}")`, 'an unused layer');
  }
  if (input.noiseMap !== undefined && !spec.layers.some((layer) => used.has(layer.name) && layer.inputs.includes(input.noiseMap!))) {
    throw invalid(`a noise map that a layer the output depends on reads`, 'spec.input.noiseMap', described(`"${input.noiseMap}", which none reads`));
  }
  checkMergesCanAgree(spec);
  return spec;
}

function arityText({ min, max }: { min: number; max: number }): string {
  if (min === max) return `an array of ${min} tensor name${min === 1 ? '' : 's'}`;
  return max === Infinity ? `an array of ${min} or more tensor names` : `an array of ${min} to ${max} tensor names`;
}

/**
 * A large input size for the merge check: divisible by 2^10, 3^3, 5^2 and 7, so every stride product of a plausible
 * network divides it and no small-size coincidence (1x1 inputs) counts.
 */
const PROBE_SIZE = 2 ** 10 * 3 ** 3 * 5 ** 2 * 7;

/** Renders a free size as a function of the input's: `H`, `H/2`, `2W`, `H/2 - 1`, from its values at n and 2n. */
function sizeExpression(atN: number, at2N: number, n: number, symbol: string): string {
  const slope = (at2N - atN) / n;
  const offset = Math.round((atN - slope * n) * 1000) / 1000;
  const scaled = slope === 1 ? symbol : slope > 0 && Number.isInteger(1 / slope) ? `${symbol}/${1 / slope}` : `${slope}${symbol}`;
  return offset === 0 ? scaled : `${scaled} ${offset > 0 ? '+' : '-'} ${Math.abs(offset)}`;
}

/**
 * Layers that merge tensors (`add`, `subtract`, `concat`) need equal heights and widths, which free sizes cannot show:
 * the spec is tried at large input sizes (each axis at PROBE_SIZE + 0..7, so merges that agree only for odd or even
 * sizes pass) and rejected when no size works, naming the first merge that fails with its inputs' sizes in terms of
 * the input's (H/2 x W/2).
 */
function checkMergesCanAgree(spec: NetworkSpec): void {
  if (!spec.layers.some((layer) => layer.inputs.length > 1)) return;
  for (let dh = 0; dh < 8; dh++) {
    for (let dw = 0; dw < 8; dw++) if (shapesAt(spec, PROBE_SIZE + dh, PROBE_SIZE + dw).failure === undefined) return;
  }
  const once = shapesAt(spec, PROBE_SIZE, PROBE_SIZE);
  const twice = shapesAt(spec, 2 * PROBE_SIZE, 2 * PROBE_SIZE);
  const index = once.failure!.index;
  const layer = spec.layers[index]!;
  if (layer.inputs.length < 2) throw once.failure!.error;
  const sizes = layer.inputs.map((t) => {
    const [a, b] = [once.shapes.get(t), twice.shapes.get(t)];
    if (a?.height == null || a.width === null || b?.height == null || b.width === null) return t;
    return `${t} (${sizeExpression(a.height, b.height, PROBE_SIZE, 'H')} x ${sizeExpression(a.width, b.width, PROBE_SIZE, 'W')})`;
  });
  throw invalid('input tensors of equal height and width for some input size H x W', `layers[${index}] ("${layer.name}").inputs`, sizes.join(', '));
}

function usedLayers(spec: NetworkSpec): Set<string> {
  const byName = new Map(spec.layers.map((layer) => [layer.name, layer]));
  const used = new Set<string>();
  const stack = [spec.output];
  while (stack.length) {
    const name = stack.pop()!;
    const layer = byName.get(name);
    if (!layer || used.has(name)) continue;
    used.add(name);
    stack.push(...layer.inputs);
  }
  return used;
}

/** Reads and validates a spec file; errors name the file. */
export async function loadSpec(path: string): Promise<NetworkSpec> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw cannot(`read spec file ${path}`, fileErrorReason(error), path);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw invalid('JSON', `spec file ${path}`, described('text that does not parse'), { hint: (error as Error).message, argument: path });
  }
  return parseSpec(json, path);
}

/** Serialises a spec as JSON with every default spelled out; `parseSpec` of it returns an equal spec. */
export function serializeSpec(spec: NetworkSpec): string {
  return `${JSON.stringify(spec, null, 2)}\n`;
}

/** Shapes for an input size as far as they can be inferred, with the first layer that failed and its error. */
function shapesAt(spec: NetworkSpec, height: number | null, width: number | null): { shapes: Map<string, Shape>; failure?: { index: number; error: unknown } } {
  const shapes = new Map<string, Shape>([...inputTensors(spec.input)].map(([name, shape]) => [name, { ...shape, height, width }]));
  const at = height === null && width === null ? '' : ` for input ${height}x${width}`;
  for (const [index, layer] of spec.layers.entries()) {
    try {
      const kind = layerKind(layer.kind, `layers[${index}].kind`);
      shapes.set(layer.name, kind.outputShape(layer, layer.inputs.map((t) => shapes.get(t)!), { where: `layers[${index}] ("${layer.name}")`, at }));
    } catch (error) {
      return { shapes, failure: { index, error } };
    }
  }
  return { shapes };
}

/** Per-layer output shapes for an input of the given size (null for free), keyed by tensor name in spec order. */
export function inferShapes(spec: NetworkSpec, height: number | null, width: number | null): Map<string, Shape> {
  if (height !== null) checkInteger(height, 'height', { min: 1 });
  if (width !== null) checkInteger(width, 'width', { min: 1 });
  const { shapes, failure } = shapesAt(spec, height, width);
  if (failure) throw failure.error;
  return shapes;
}

/** Every weight of the network in order, with full names (`encoder_conv1.kernel`) and TF layouts. */
export function weightDefs(spec: NetworkSpec): NamedWeightDef[] {
  const shapes = inferShapes(spec, null, null);
  return spec.layers.flatMap((layer, index) =>
    layerKind(layer.kind, `layers[${index}].kind`)
      .weights(layer, layer.inputs.map((t) => shapes.get(t)!))
      .map((w) => ({ ...w, name: `${layer.name}.${w.suffix}`, layer: layer.name })),
  );
}

/** Number of scalar parameters of the network. */
export function countParams(spec: NetworkSpec): number {
  return weightDefs(spec).reduce((sum, w) => sum + w.shape.reduce((a, b) => a * b, 1), 0);
}

/**
 * The smallest m such that every input whose height and width are multiples of m comes out the same size
 * (checked for m, 2m, ..., 8m); null when no m up to 256 works (e.g. `valid` padding that shrinks).
 */
export function sizeMultiple(spec: NetworkSpec): number | null {
  for (let m = 1; m <= 256; m++) {
    let ok = true;
    for (let k = 1; k <= 8 && ok; k++) {
      try {
        const out = inferShapes(spec, m * k, m * k).get(spec.output)!;
        ok = out.height === m * k && out.width === m * k;
      } catch {
        ok = false;
      }
    }
    if (ok) return m;
  }
  return null;
}

/** A network's receptive field with the stride its tiles must be aligned to. */
export interface NetworkField extends ReceptiveField {
  /** The least common multiple of every tensor's downsampling: tile starts at multiples of it see one stride phase. */
  stride: number;
}

/** The least common multiple of two positive integers. */
export function lcm(a: number, b: number): number {
  let [x, y] = [a, b];
  while (y) [x, y] = [y, x % y];
  return (a / x) * b;
}

/**
 * The receptive field of the emitted graph, from each layer kind's declared growth (LAYER_KINDS[kind].field), per axis
 * and over every path through merges; `[low, high]` covers both axes (floor and ceil of the exact bounds).
 * @throws ValidationError naming the layer for a kind the registry does not know or a merge of tensors at different
 * scales, and for an output at another scale than the input.
 */
export function receptiveField(spec: NetworkSpec): NetworkField {
  let low = 0;
  let high = 0;
  let stride = 1;
  for (const axis of [0, 1] as const) {
    const spans = new Map<string, FieldSpan>([...inputTensors(spec.input).keys()].map((name) => [name, { scale: [1, 1], low: 0, high: 0 }]));
    spec.layers.forEach((layer, index) => {
      const where = `layers[${index}] ("${layer.name}")`;
      // Every registry kind must declare `field` (LayerKindDef requires it); an unknown kind is refused here.
      const span = layerKind(layer.kind, `${where}.kind`).field(layer, layer.inputs.map((t) => spans.get(t)!), axis, { where });
      // A tensor at n/d input pixels per pixel repeats its phase every n input pixels.
      stride = lcm(stride, span.scale[0]);
      spans.set(layer.name, span);
    });
    const out = spans.get(spec.output)!;
    if (out.scale[0] !== 1 || out.scale[1] !== 1) {
      throw invalid('an output at the input\'s scale', 'spec.output', `${spec.output} at scale ${out.scale[0]}/${out.scale[1]}`);
    }
    // Bounds are fractions when upsampling does not divide evenly: round outwards.
    low = Math.min(low, Math.floor(out.low + 1e-9));
    high = Math.max(high, Math.ceil(out.high - 1e-9));
  }
  return { ...receptiveFieldOf(low, high), stride };
}
