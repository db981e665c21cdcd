// The ONNX file as onnx-proto decodes it: the model-level summary (IR, opsets, I/O, metadata_props) and the strict metadata read, for the tools (browser-safe: onnx-proto only).
import onnxProto, { type onnx as Onnx } from 'onnx-proto';
import { decodeDenoiserMetadata, ModelFormatError, type DenoiserMetadata } from './model-metadata.js';
import { described, invalidMessage } from './validate.js';

const { onnx } = onnxProto;

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

/** Converts a protobufjs int64 (number or Long) to a number. */
export function int64ToNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (value && typeof value === 'object' && 'low' in value && 'high' in value) {
    const { low, high, unsigned } = value as { low: number; high: number; unsigned?: boolean };
    return (unsigned ? high >>> 0 : high) * 2 ** 32 + (low >>> 0);
  }
  return value === null || value === undefined ? 0 : Number(value);
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
    throw new ModelFormatError(invalidMessage('an ONNX model file', source, described(`bytes that are not one (${(error as Error).message})`)), source);
  }
  const irVersion = int64ToNumber(proto.irVersion);
  if (!proto.graph || irVersion < 1) {
    const what = bytes.length === 0 ? 'an empty file' : !proto.graph ? 'bytes without an ONNX graph' : 'a graph without an IR version';
    throw new ModelFormatError(invalidMessage('an ONNX model file', source, described(what)), source);
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
 * Reads an onnx-denoiser model's facts and typed metadata from its bytes, strictly ({@link decodeDenoiserMetadata}).
 * @throws ModelFormatError naming `source` for a file that is no ONNX model, a foreign ONNX model (no onnx-denoiser
 * metadata) or missing or invalid metadata values (the message names the key).
 */
export function readModelMetadata(bytes: Uint8Array, source: string): ModelMetadata {
  const { model } = decodeOnnxModel(bytes, source);
  return { model, metadata: decodeDenoiserMetadata(model.metadataProps, source) };
}
