// safetensors files: an 8-byte little-endian header length, a JSON header, then raw little-endian tensor data (F32 here).
import { readFile } from 'node:fs/promises';
import { cannot, described, fileErrorReason, invalid } from 'onnx-denoiser-common';
import type { WeightTensor } from './build-tfjs.js';

/** The one dtype this project stores (float32); other dtypes are rejected with a clear error. */
export const SAFETENSORS_DTYPE = 'F32';

/** Largest header accepted (as the reference implementation: 100 MB), so a corrupt length cannot ask for gigabytes. */
export const MAX_HEADER_BYTES = 100_000_000;

/** What a safetensors file holds: named float32 tensors in file order and the `__metadata__` strings. */
export interface Safetensors {
  tensors: Map<string, WeightTensor>;
  metadata: Record<string, string>;
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function isShape(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 0);
}

/**
 * Serialises float32 tensors (in map order) and string metadata as safetensors bytes. The header is padded with
 * spaces so the data starts 8-byte aligned, as the reference writer does.
 * @throws ValidationError for an empty name, a bad shape, data whose length is not the shape's size, or non-string metadata.
 */
export function serializeSafetensors(tensors: ReadonlyMap<string, WeightTensor>, metadata: Readonly<Record<string, string>> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') throw invalid('a string', `metadata "${key}" in safetensors metadata`, value, { argument: key });
  }
  if (Object.keys(metadata).length > 0) header.__metadata__ = { ...metadata };
  let offset = 0;
  for (const [name, tensor] of tensors) {
    if (name.length === 0 || name === '__metadata__') throw invalid('a non-empty tensor name other than "__metadata__"', 'a tensor name in safetensors tensors', name, { argument: 'name' });
    if (!isShape(tensor.shape)) throw invalid('a shape of integers >= 0', `tensor "${name}" in safetensors tensors`, tensor.shape, { argument: name });
    const count = elementCount(tensor.shape);
    if (!(tensor.data instanceof Float32Array) || tensor.data.length !== count) {
      throw invalid(`a Float32Array of ${count} values (shape [${tensor.shape.join(', ')}])`, `tensor "${name}" in safetensors tensors`, tensor.data, { argument: name });
    }
    header[name] = { dtype: SAFETENSORS_DTYPE, shape: [...tensor.shape], data_offsets: [offset, offset + count * 4] };
    offset += count * 4;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil((8 + json.length) / 8) * 8 - 8;
  if (padded !== json.length) {
    const spaced = new Uint8Array(padded).fill(0x20);
    spaced.set(json);
    json = spaced;
  }
  const bytes = new Uint8Array(8 + json.length + offset);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, BigInt(json.length), true);
  bytes.set(json, 8);
  let at = 8 + json.length;
  for (const tensor of tensors.values()) {
    for (let i = 0; i < tensor.data.length; i++, at += 4) view.setFloat32(at, tensor.data[i]!, true);
  }
  return bytes;
}

/**
 * Parses safetensors bytes, validating everything: the header length against the file size, the JSON, each tensor's
 * dtype (F32), shape and data offsets (inside the data, sized for the shape, contiguous without holes or overlaps) and
 * the metadata (strings only). Every error names `source` (the file) and, where one is at fault, the tensor.
 */
export function parseSafetensors(bytes: Uint8Array, source: string): Safetensors {
  if (bytes.length < 8) throw invalid('a safetensors file (8-byte header length, JSON header, data)', `the file in ${source}`, described(`${bytes.length} byte(s)`), { argument: source });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  const available = bytes.length - 8;
  if (headerLength < 2n || headerLength > BigInt(Math.min(available, MAX_HEADER_BYTES))) {
    throw invalid(`a header length from 2 to ${Math.min(available, MAX_HEADER_BYTES)} bytes (the file has ${bytes.length})`, `the header length in ${source}`, described(`${headerLength} (not a safetensors file, or a truncated one)`), { argument: source });
  }
  const length = Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + length)));
  } catch (error) {
    throw invalid('a JSON header', `the header in ${source}`, described(`bytes that do not parse (${(error as Error).message})`), { argument: source });
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw invalid('a JSON object', `the header in ${source}`, header, { argument: source });
  const dataStart = 8 + length;
  const dataLength = bytes.length - dataStart;

  const metadata: Record<string, string> = {};
  const rawMetadata = (header as Record<string, unknown>).__metadata__;
  if (rawMetadata !== undefined) {
    if (typeof rawMetadata !== 'object' || rawMetadata === null || Array.isArray(rawMetadata)) throw invalid('an object of strings', `"__metadata__" in ${source}`, rawMetadata, { argument: source });
    for (const [key, value] of Object.entries(rawMetadata)) {
      if (typeof value !== 'string') throw invalid('a string', `metadata "${key}" in ${source}`, value, { argument: source });
      metadata[key] = value;
    }
  }

  const entries: { name: string; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') continue;
    const what = `tensor "${name}"`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw invalid('an object {dtype, shape, data_offsets}', `${what} in ${source}`, entry, { argument: name });
    const { dtype, shape, data_offsets: offsets, ...rest } = entry as Record<string, unknown>;
    const extra = Object.keys(rest)[0];
    if (extra !== undefined) throw invalid('only the keys "dtype", "shape", "data_offsets"', `${what} in ${source}`, described(`unknown key "${extra}"`), { argument: name });
    if (dtype !== SAFETENSORS_DTYPE) throw invalid(`dtype "${SAFETENSORS_DTYPE}" (float32)`, `${what} in ${source}`, dtype, { argument: name });
    if (!isShape(shape)) throw invalid('a shape of integers >= 0', `${what} in ${source}`, shape, { argument: name });
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => typeof o === 'number' && Number.isInteger(o) && o >= 0)) {
      throw invalid('data_offsets [begin, end] of integers >= 0', `${what} in ${source}`, offsets, { argument: name });
    }
    const [begin, end] = offsets as [number, number];
    const size = elementCount(shape) * 4;
    if (end < begin || end > dataLength) throw invalid(`data_offsets within the ${dataLength} data bytes`, `${what} in ${source}`, described(`[${begin}, ${end}] (a truncated file?)`), { argument: name });
    if (end - begin !== size) throw invalid(`${size} bytes for shape [${shape.join(', ')}]`, `${what} in ${source}`, described(`${end - begin} bytes (data_offsets [${begin}, ${end}])`), { argument: name });
    entries.push({ name, shape, begin, end });
  }

  // The data must be covered exactly once: sorted by begin, each tensor starts where the previous ended.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const entry of sorted) {
    if (entry.begin !== covered) {
      const problem = entry.begin < covered ? 'overlaps the tensor before it' : `leaves bytes ${covered}..${entry.begin} unused`;
      throw invalid('tensors that cover the data contiguously', `tensor "${entry.name}" in ${source}`, described(`data_offsets [${entry.begin}, ${entry.end}], which ${problem}`), { argument: entry.name });
    }
    covered = entry.end;
  }
  if (covered !== dataLength) throw invalid(`${covered} data bytes (what the header describes)`, `the data in ${source}`, described(`${dataLength} bytes`), { argument: source });

  const tensors = new Map<string, WeightTensor>();
  for (const { name, shape, begin, end } of entries) {
    const data = new Float32Array((end - begin) / 4);
    for (let i = 0, at = dataStart + begin; i < data.length; i++, at += 4) data[i] = view.getFloat32(at, true);
    tensors.set(name, { shape, data });
  }
  return { tensors, metadata };
}

/** Reads and parses a safetensors file; errors name the file (and the tensor at fault). */
export async function readSafetensors(path: string): Promise<Safetensors> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw cannot(`read weights file ${path}`, fileErrorReason(error), path);
  }
  return parseSafetensors(bytes, path);
}
