// IDX reader (the MNIST file format), raw or gzip, with checks that name the file and what was wrong.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { described, invalid } from 'onnx-denoiser-common';
import type { ImageSet } from './image-set.js';

const gunzipAsync = promisify(gunzip);

/** IDX type codes (third magic byte) and their element types; only 0x08 is read. */
export const IDX_TYPE_NAMES: Readonly<Record<number, string>> = Object.freeze({
  0x08: 'unsigned byte',
  0x09: 'signed byte',
  0x0b: 'int16',
  0x0c: 'int32',
  0x0d: 'float32',
  0x0e: 'float64',
});

/** The official file names of an IDX dataset (each may also be present with a `.gz` suffix). */
export const IDX_FILE_NAMES = Object.freeze({
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
});

/** A decoded IDX file: its dimensions and its unsigned-byte data (a view on the file's bytes, no copy). */
export interface IdxArray {
  /** Sizes of the dimensions, outermost first (e.g. [60000, 28, 28]). */
  readonly dims: number[];
  /** The `product(dims)` data bytes. */
  readonly data: Uint8Array;
}

function hex(bytes: Uint8Array, count: number): string {
  return Array.from(bytes.subarray(0, count), (b) => b.toString(16).padStart(2, '0')).join(' ') || 'nothing';
}

/** True when `bytes` start with the gzip magic 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Decodes an IDX file already in memory (not gzip). Checks the two zero magic bytes, the type code (only
 * 0x08, unsigned byte), the number of dimensions (`expectedDims` when given), and that the data length is
 * exactly the product of the dimensions. `file` names the source in every error.
 */
export function parseIdx(bytes: Uint8Array, file: string, expectedDims?: number): IdxArray {
  if (bytes.length < 4) throw invalid('an IDX file (a 4-byte magic number, then the dimensions)', file, described(`${bytes.length} bytes`));
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw invalid('an IDX file starting with the bytes 00 00', file, described(`${hex(bytes, 4)}${isGzip(bytes) ? ' (gzip data)' : ' (not an IDX file)'}`));
  }
  const type = bytes[2];
  if (type !== 0x08) {
    const known = IDX_TYPE_NAMES[type];
    throw invalid('type code 0x08 (unsigned byte; other IDX element types are not supported)', file, described(`0x${type.toString(16).padStart(2, '0')} (${known ?? 'not an IDX type'})`));
  }
  const ndims = bytes[3];
  if (expectedDims !== undefined && ndims !== expectedDims) {
    throw invalid(`${expectedDims} dimension${expectedDims === 1 ? '' : 's'} (an idx${expectedDims} file)`, file, ndims);
  }
  if (ndims === 0) throw invalid('at least 1 dimension', file, 0);
  const header = 4 + 4 * ndims;
  if (bytes.length < header) throw invalid(`a header of ${header} bytes (${ndims} dimension${ndims === 1 ? '' : 's'})`, file, described(`${bytes.length} bytes`));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let d = 0; d < ndims; d++) dims.push(view.getUint32(4 + 4 * d, false));
  if (dims.some((size) => size === 0)) throw invalid('dimension sizes >= 1', file, described(dims.join('x')));
  const dataLength = dims.reduce((a, b) => a * b, 1);
  const expected = header + dataLength;
  if (bytes.length !== expected) {
    const surplus = bytes.length - expected;
    const why = surplus < 0 ? 'the file is truncated' : `${surplus} byte${surplus === 1 ? '' : 's'} too many`;
    throw invalid(`${expected} bytes (${header} header bytes and ${dims.join('x')} data bytes)`, file, described(`${bytes.length} bytes (${why})`));
  }
  return { dims, data: new Uint8Array(bytes.buffer, bytes.byteOffset + header, dataLength) };
}

/** Reads and decodes an IDX file, gunzipping it first when it starts with the gzip magic (whatever its name). */
export async function readIdxFile(path: string, expectedDims?: number): Promise<IdxArray> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw invalid('a readable IDX file', path, described(`an error: ${(error as Error).message}`));
  }
  if (isGzip(bytes)) {
    try {
      bytes = await gunzipAsync(bytes);
    } catch (error) {
      throw invalid('a valid gzip stream', path, described(`a corrupt one (${(error as Error).message})`));
    }
  }
  return parseIdx(bytes, path, expectedDims);
}

/**
 * Reads an image file (idx3: count x height x width) and its label file (idx1: count) into an {@link ImageSet}
 * with one channel; the two counts must agree.
 */
export async function readIdxImageSet(imagesPath: string, labelsPath: string): Promise<ImageSet> {
  const images = await readIdxFile(imagesPath, 3);
  const labels = await readIdxFile(labelsPath, 1);
  const [count, height, width] = images.dims;
  if (labels.dims[0] !== count) throw invalid(`${count} labels (one per image in ${imagesPath})`, labelsPath, labels.dims[0]);
  return { pixels: images.data, labels: labels.data, count, height, width, channels: 1 };
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isFile(), () => false);
}

/** Finds `<dir>/<name>` or `<dir>/<name>.gz` (raw first), or throws naming both. */
export async function findIdxFile(dir: string, name: string): Promise<string> {
  for (const candidate of [join(dir, name), join(dir, `${name}.gz`)]) if (await isFile(candidate)) return candidate;
  throw invalid(`a file ${name} or ${name}.gz`, `the IDX folder ${dir}`, described('a folder without either'));
}

/** The train and test sets of an IDX folder with the official file names, and the files they came from. */
export interface IdxFolder {
  /** The training images. */
  train: ImageSet;
  /** The test images. */
  test: ImageSet;
  /** The four files read, train images and labels then test images and labels. */
  files: string[];
}

/** Reads the four official IDX files (raw or gzip) from `dir`; the train and test image sizes must agree. */
export async function readIdxFolder(dir: string): Promise<IdxFolder> {
  const files = [
    await findIdxFile(dir, IDX_FILE_NAMES.trainImages),
    await findIdxFile(dir, IDX_FILE_NAMES.trainLabels),
    await findIdxFile(dir, IDX_FILE_NAMES.testImages),
    await findIdxFile(dir, IDX_FILE_NAMES.testLabels),
  ];
  const train = await readIdxImageSet(files[0], files[1]);
  const test = await readIdxImageSet(files[2], files[3]);
  if (test.height !== train.height || test.width !== train.width) {
    throw invalid(`${train.height}x${train.width} images (as in ${files[0]})`, files[2], described(`${test.height}x${test.width}`));
  }
  return { train, test, files };
}
