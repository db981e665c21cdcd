// What an ONNX file holds: inputs, outputs, opset and IR, producer, metadata (via the shared reader), nodes and parameters.
import onnxProto, { type onnx as Onnx } from 'onnx-proto';
import { decodeDenoiserMetadata, describeNoise, type DenoiserMetadata } from 'onnx-denoiser-common';
import { decodeOnnxModel, int64ToNumber, type OnnxModelSummary, type TensorSummary } from 'onnx-denoiser-common/onnx-model';
import { parseSpec, receptiveField, weightDefs } from '../layers/spec.js';
import { rangeDefs } from '../layers/quantization.js';
import { contentHash, hashedInitializers } from './emit.js';
import { structureProblems } from './structure.js';

const { onnx } = onnxProto;

/** One node as listed. */
export interface NodeSummary {
  opType: string;
  name: string;
  inputs: string[];
  outputs: string[];
  /** Attributes as `name=value`. */
  attributes: string[];
}

/** One initializer as listed. */
export interface InitializerSummary {
  name: string;
  type: string;
  dims: number[];
  /** Number of values. */
  count: number;
}

/** Everything `tools inspect` prints. */
export interface InspectReport {
  source: string;
  bytes: number;
  model: OnnxModelSummary;
  /** The onnx-denoiser metadata, when the model carries valid metadata. */
  metadata?: DenoiserMetadata;
  /** Why the metadata could not be read (a foreign model or invalid values). */
  metadataError?: string;
  nodes: NodeSummary[];
  initializers: InitializerSummary[];
  /** Values in floating-point initializers: the network's parameters. */
  parameters: number;
  /** Values in integer initializers: shape arithmetic of the padding. */
  constants: number;
  /** Structural problems; empty for a well-formed graph. */
  structure: string[];
  /** Whether the metadata's content hash matches the spec and initializers (undefined when it cannot be checked). */
  hashMatches?: boolean;
  /** The receptive field the layer registry works out for the spec in the metadata (undefined when it does not parse). */
  specField?: { low: number; high: number };
}

const FLOAT_TYPES = new Set(['FLOAT', 'FLOAT16', 'DOUBLE', 'BFLOAT16']);

function typeName(type: number | null | undefined): string {
  return (type !== null && type !== undefined && (onnx.TensorProto.DataType as unknown as Record<number, string>)[type]) || `type ${type}`;
}

function attributeText(a: Onnx.IAttributeProto): string {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case T.INT:
      return `${a.name}=${int64ToNumber(a.i)}`;
    case T.INTS:
      return `${a.name}=[${(a.ints ?? []).map(int64ToNumber).join(',')}]`;
    case T.FLOAT:
      return `${a.name}=${Number((a.f ?? 0).toPrecision(7))}`;
    case T.FLOATS:
      return `${a.name}=[${(a.floats ?? []).map((f) => Number(f.toPrecision(7))).join(',')}]`;
    case T.STRING:
      return `${a.name}=${JSON.stringify(new TextDecoder().decode(a.s ?? new Uint8Array()))}`;
    default:
      return `${a.name}=(${a.type === undefined || a.type === null ? '?' : (T as unknown as Record<number, string>)[a.type]})`;
  }
}

function valueCount(tensor: Onnx.ITensorProto): number {
  return (tensor.dims ?? []).map(int64ToNumber).reduce((a, b) => a * b, 1);
}

/**
 * Decodes and describes an ONNX file. Any ONNX model is described; the onnx-denoiser metadata is read with the shared
 * reader (runtime-common/model-metadata.ts) and, when it is valid, its content hash is checked against the spec and
 * the initializers.
 * @throws ModelFormatError naming `source` for bytes that are no ONNX model.
 */
export function inspectOnnx(bytes: Uint8Array, source: string): InspectReport {
  const { proto, model } = decodeOnnxModel(bytes, source);
  const graph = proto.graph!;
  const report: InspectReport = {
    source,
    bytes: bytes.length,
    model,
    nodes: (graph.node ?? []).map((n) => ({
      opType: n.opType ?? '',
      name: n.name ?? '',
      inputs: [...(n.input ?? [])],
      outputs: [...(n.output ?? [])],
      attributes: (n.attribute ?? []).map(attributeText),
    })),
    initializers: (graph.initializer ?? []).map((t) => ({ name: t.name ?? '', type: typeName(t.dataType), dims: (t.dims ?? []).map(int64ToNumber), count: valueCount(t) })),
    parameters: 0,
    constants: 0,
    structure: structureProblems(proto),
  };
  for (const init of report.initializers) {
    if (FLOAT_TYPES.has(init.type)) report.parameters += init.count;
    else report.constants += init.count;
  }
  try {
    report.metadata = decodeDenoiserMetadata(model.metadataProps, source);
  } catch (error) {
    report.metadataError = (error as Error).message;
  }
  if (report.metadata) {
    try {
      const spec = parseSpec(report.metadata.spec);
      const tensors = hashedInitializers([...weightDefs(spec), ...rangeDefs(spec)], graph.initializer ?? []);
      report.hashMatches = contentHash(model.metadataProps.spec!, tensors) === report.metadata.contentHash;
      const { low, high } = receptiveField(spec);
      report.specField = { low, high };
    } catch {
      report.hashMatches = undefined;
    }
  }
  return report;
}

const n = (value: number) => value.toLocaleString('en-US');

function tensorLine(t: TensorSummary): string {
  return `  ${t.name}  ${t.type} [${t.dims.join(', ')}]`;
}

/** Renders an {@link InspectReport} as the text `tools inspect` prints. */
export function formatInspect(report: InspectReport): string {
  const { model } = report;
  const lines: string[] = [];
  lines.push(`${report.source}: ONNX model, ${n(report.bytes)} bytes`);
  lines.push(`  IR version ${model.irVersion}, opset ${model.opsets.map((o) => `${o.domain} ${o.version}`).join(', ') || 'none'}`);
  lines.push(`  producer ${model.producerName || '(none)'} ${model.producerVersion}; domain ${model.domain || '(none)'}; model version ${model.modelVersion}`);
  lines.push(`  graph "${model.graphName}"${model.docString ? `: ${model.docString}` : ''}`);
  lines.push('inputs:', ...model.inputs.map(tensorLine));
  lines.push('outputs:', ...model.outputs.map(tensorLine));
  lines.push('metadata:');
  const width = Math.max(0, ...Object.keys(model.metadataProps).map((k) => k.length));
  for (const [key, value] of Object.entries(model.metadataProps)) {
    const shown = key === 'spec' && value.length > 100 ? `${value.slice(0, 97)}...` : value;
    lines.push(`  ${key.padEnd(width)}  ${shown}`);
  }
  if (report.metadata) {
    const m = report.metadata;
    lines.push(`  -> ${m.name}: ${m.channels} channel(s), values ${m.valueRange.join('..')}, size multiple ${m.sizeMultiple}, ${m.precision}` + (m.noise ? `, trained for ${describeNoise(m.noise, m.noiseMap)} noise` : ', no training noise recorded'));
    lines.push(`  content hash: ${report.hashMatches === undefined ? 'not checked (the spec in the metadata does not parse)' : report.hashMatches ? 'matches the spec and weights' : 'DOES NOT MATCH the spec and weights'}`);
    const stated = m.receptiveField ? `[${m.receptiveField.low}, ${m.receptiveField.high}]` : `not stated (format version ${m.formatVersion}: the runtimes tile with a default and warn)`;
    const field = report.specField;
    const check = !field || !m.receptiveField ? '' : field.low === m.receptiveField.low && field.high === m.receptiveField.high ? ', as the spec works out' : `, BUT THE SPEC WORKS OUT [${field.low}, ${field.high}]`;
    lines.push(`  receptive field: ${stated}${check}`);
  } else {
    lines.push(`  (no onnx-denoiser metadata: ${report.metadataError})`);
  }
  lines.push(`nodes (${report.nodes.length}):`);
  report.nodes.forEach((node, i) => {
    const attrs = node.attributes.length ? `  {${node.attributes.join(' ')}}` : '';
    lines.push(`  ${String(i).padStart(3)} ${node.opType.padEnd(13)} ${node.name}: ${node.inputs.join(', ')} -> ${node.outputs.join(', ')}${attrs}`);
  });
  lines.push(`initializers (${report.initializers.length}):`);
  const nameWidth = Math.max(0, ...report.initializers.map((t) => t.name.length));
  for (const t of report.initializers) lines.push(`  ${t.name.padEnd(nameWidth)}  ${t.type.padEnd(7)} [${t.dims.join(', ')}]  ${n(t.count)}`);
  lines.push(`parameters: ${n(report.parameters)} (floating-point initializers)${report.constants ? `; plus ${n(report.constants)} integer constants for the padding and cropping arithmetic` : ''}`);
  lines.push(report.structure.length ? `structure: ${report.structure.length} problem(s):\n${report.structure.map((p) => `  - ${p}`).join('\n')}` : 'structure: ok (unique names, topological order, every initializer and node used)');
  return `${lines.join('\n')}\n`;
}
