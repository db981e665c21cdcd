// Image sets as flat typed arrays (NHWC bytes + labels), the Dataset shape, and float batch extraction.
import { check, checkInteger, checkObject, invalid } from 'onnx-denoiser-common';

/**
 * A set of images as one flat byte array, never arrays of arrays, so 70,000 images load in a blink.
 * Image `i` occupies `pixels[i * size, (i + 1) * size)` with `size = height * width * channels`, in NHWC
 * order (row-major, channels last), values 0..255.
 */
export interface ImageSet {
  /** `count * height * width * channels` bytes, NHWC, 0..255. */
  readonly pixels: Uint8Array;
  /** One class label per image (the class index). */
  readonly labels: Uint8Array;
  /** Number of images. */
  readonly count: number;
  /** Image height in pixels. */
  readonly height: number;
  /** Image width in pixels. */
  readonly width: number;
  /** Channels per pixel (1 for MNIST-style grayscale). */
  readonly channels: number;
}

/** A loaded dataset: two image sets plus what the run config and the CLI should record and print. */
export interface Dataset {
  /** The name it was loaded by, e.g. `fashion-mnist`, `mnist`, `idx:data/x`. */
  readonly name: string;
  /** Where the bytes came from (package and version, folder, URL), for the run config. */
  readonly source: string;
  /** One line on how train and test were formed. */
  readonly split: string;
  /** The training images. */
  readonly train: ImageSet;
  /** The test (validation) images. */
  readonly test: ImageSet;
  /** When set, refills `train` in place with epoch `epoch`'s images (1-based), deterministically (photo patches). */
  readonly resampleTrain?: (epoch: number) => void;
  /** Class names by label, when known. */
  readonly classNames?: readonly string[];
  /** Messages for the CLI to print, e.g. rows that were dropped. */
  readonly notes: string[];
}

/** Bytes per image: `height * width * channels`. */
export function imageSize(set: ImageSet): number {
  return set.height * set.width * set.channels;
}

/** Throws the standard error unless `set` is a consistent {@link ImageSet} (sizes and array lengths agree). */
export function checkImageSet(set: unknown, name = 'image set'): ImageSet {
  const object = checkObject(set, name);
  check(object.pixels instanceof Uint8Array, 'a Uint8Array', `${name}.pixels`, object.pixels);
  check(object.labels instanceof Uint8Array, 'a Uint8Array', `${name}.labels`, object.labels);
  const count = checkInteger(object.count, `${name}.count`, { min: 0 });
  const height = checkInteger(object.height, `${name}.height`, { min: 1 });
  const width = checkInteger(object.width, `${name}.width`, { min: 1 });
  const channels = checkInteger(object.channels, `${name}.channels`, { min: 1 });
  const expected = count * height * width * channels;
  check(object.pixels.length === expected, `${expected} bytes (${count}x${height}x${width}x${channels})`, `the length of ${name}.pixels`, object.pixels.length);
  check(object.labels.length === count, `${count} labels`, `the length of ${name}.labels`, object.labels.length);
  return set as ImageSet;
}

// 0..255 -> [0, 1] by table: one load per pixel instead of a division.
const BYTE_TO_UNIT = new Float32Array(256).map((_, v) => v / 255);

/**
 * Copies the images at `indices` (in that order) into a Float32Array scaled to [0, 1], NHWC, and returns it.
 * With `out`, writes into it and returns `out` (or its first `indices.length * size` values as a view when
 * it is longer); without, allocates. Training calls this once per shuffled batch with a reused buffer.
 */
export function toFloatBatch(set: ImageSet, indices: ArrayLike<number>, out?: Float32Array): Float32Array {
  const size = imageSize(set);
  const n = indices.length;
  const needed = n * size;
  let target: Float32Array;
  if (out === undefined) target = new Float32Array(needed);
  else {
    check(out instanceof Float32Array, 'a Float32Array', 'out', out);
    check(out.length >= needed, `at least ${needed} values (${n} images of ${size})`, 'the length of out', out.length);
    target = out.length === needed ? out : out.subarray(0, needed);
  }
  const { pixels, count } = set;
  for (let b = 0; b < n; b++) {
    const index = indices[b];
    if (!(Number.isInteger(index) && index >= 0 && index < count)) throw invalid(`an image index in 0..${count - 1}`, `indices[${b}]`, index);
    const from = index * size;
    const to = b * size;
    for (let j = 0; j < size; j++) target[to + j] = BYTE_TO_UNIT[pixels[from + j]];
  }
  return target;
}

/** The first `limit` images of `set` (all of them if it has fewer), sharing its buffers. */
export function limitImageSet(set: ImageSet, limit: number): ImageSet {
  checkInteger(limit, 'limit', { min: 1 });
  const count = Math.min(limit, set.count);
  return { ...set, pixels: set.pixels.subarray(0, count * imageSize(set)), labels: set.labels.subarray(0, count), count };
}
