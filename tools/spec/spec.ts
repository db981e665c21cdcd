// The network spec: plain JSON describing the denoiser, its validator, shape inference and weight list.
import { readFile } from 'node:fs/promises';
import {
  check,
  checkInteger,
  checkKnownKeys,
  checkObject,
  checkString,
  invalid,
  ValidationError,
} from '../../runtime-common/validate.js';
import { layerKind, type LayerSpec, type Shape, type WeightDef } from './layer-registry.js';

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
  checkKnownKeys(raw, 'spec', ['format', 'version', 'name', 'description', 'input', 'layers', 'output']);
  check(SPEC_VERSIONS.includes(raw.version as 1), `a supported version (${SPEC_VERSIONS.join(', ')})`, 'spec.version', raw.version);
  const name = checkString(raw.name, 'spec.name', MODEL_NAME_PATTERN);
  const description = raw.description === undefined ? '' : raw.description;
  check(typeof description === 'string', 'a string', 'spec.description', description);

  const rawInput = checkObject(raw.input, 'spec.input');
  checkKnownKeys(rawInput, 'spec.input', ['name', 'channels']);
  const input: InputSpec = {
    name: checkString(rawInput.name ?? 'image', 'spec.input.name', NAME_PATTERN),
    channels: checkInteger(rawInput.channels, 'spec.input.channels', { min: 1, max: 4 }),
  };

  check(Array.isArray(raw.layers) && raw.layers.length > 0, 'a non-empty array of layers', 'spec.layers', raw.layers);
  const shapes = new Map<string, Shape>([[input.name, { height: null, width: null, channels: input.channels }]]);
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
      kind.arity.min === kind.arity.max
        ? `an array of ${kind.arity.min} tensor name${kind.arity.min === 1 ? '' : 's'}`
        : `an array of ${kind.arity.min} to ${kind.arity.max} tensor names`,
      `${where}.inputs`,
      inputs,
    );
    for (const tensor of inputs as string[]) {
      if (!shapes.has(tensor)) {
        throw invalid(`the input's or an earlier layer's name (${[...shapes.keys()].map((n) => `"${n}"`).join(', ')})`, `${where}.inputs`, tensor);
      }
    }
    const layer = kind.resolve(object, { name: layerName, inputs: inputs as string[] }, { where });
    shapes.set(layerName, kind.outputShape(layer, layer.inputs.map((t) => shapes.get(t)!), { where }));
    layers.push(layer);
    previous = layerName;
  });

  const output = raw.output === undefined ? previous : raw.output;
  check(typeof output === 'string' && shapes.has(output) && output !== input.name, 'the name of a layer', 'spec.output', output);
  const outputShape = shapes.get(output)!;
  check(outputShape.channels === input.channels, `an output with ${input.channels} channel(s), as the input`, 'spec.output', `${outputShape.channels} channel(s) from layer ${output}`);

  const spec: NetworkSpec = { format: SPEC_FORMAT, version: 1, name, description: description as string, input, layers, output };
  const used = usedLayers(spec);
  const unused = layers.findIndex((layer) => !used.has(layer.name));
  if (unused >= 0) {
    throw invalid(`a layer that the output "${output}" depends on`, `layers[${unused}] ("${layers[unused]!.name}")`, 'an unused layer');
  }
  return spec;
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
    throw new ValidationError(`Cannot read spec file ${path}: ${(error as Error).message}`, path);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ValidationError(`Expected JSON for spec file ${path} but received text that does not parse: ${(error as Error).message}`, path);
  }
  return parseSpec(json, path);
}

/** Serialises a spec as JSON with every default spelled out; `parseSpec` of it returns an equal spec. */
export function serializeSpec(spec: NetworkSpec): string {
  return `${JSON.stringify(spec, null, 2)}\n`;
}

/** Per-layer output shapes for an input of the given size (null for free), keyed by tensor name in spec order. */
export function inferShapes(spec: NetworkSpec, height: number | null, width: number | null): Map<string, Shape> {
  if (height !== null) checkInteger(height, 'height', { min: 1 });
  if (width !== null) checkInteger(width, 'width', { min: 1 });
  const shapes = new Map<string, Shape>([[spec.input.name, { height, width, channels: spec.input.channels }]]);
  spec.layers.forEach((layer, index) => {
    const kind = layerKind(layer.kind, `layers[${index}].kind`);
    const where = `layers[${index}] ("${layer.name}") for input ${height}x${width}`;
    shapes.set(layer.name, kind.outputShape(layer, layer.inputs.map((t) => shapes.get(t)!), { where }));
  });
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
