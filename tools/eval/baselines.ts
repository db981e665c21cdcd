// Classical denoisers to measure models against: Gaussian blur (separable) and the 3x3 median on float images in [0, 1], with the image check and border rule the classical/ filters share.
import { check, checkNumber } from 'onnx-denoiser-common';

/** An image of interleaved float samples in [0, 1] (HWC). */
export interface FloatImage {
  data: Float32Array;
  width: number;
  height: number;
  channels: number;
}

/** The normalised 1-D Gaussian taps for `sigma`: radius ceil(3 sigma), at least 1. */
export function gaussianTaps(sigma: number): Float64Array {
  checkNumber(sigma, 'sigma', { above: 0, max: 100 });
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const taps = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) sum += taps[i + radius] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < taps.length; i++) taps[i]! /= sum;
  return taps;
}

const clampIndex = (i: number, n: number) => (i < 0 ? 0 : i >= n ? n - 1 : i);

/**
 * Checks that `image` is a {@link FloatImage} whose data holds width x height x channels samples
 * (1 to 4 channels); `name` names it in the standard error.
 */
export function checkFloatImage(image: FloatImage, name = 'image'): FloatImage {
  check(typeof image === 'object' && image !== null && image.data instanceof Float32Array, 'an image with Float32Array data', name, image);
  const { width, height, channels } = image;
  check(Number.isInteger(width) && width >= 1 && Number.isInteger(height) && height >= 1, 'a width and height of integers >= 1', `${name} size`, `${width}x${height}`);
  check(Number.isInteger(channels) && channels >= 1 && channels <= 4, 'an integer from 1 to 4', `${name}.channels`, channels);
  check(image.data.length === width * height * channels, `${width * height * channels} samples (${width}x${height}x${channels})`, `${name}.data`, image.data.length);
  return image;
}

/**
 * Index `i` folded into [0, n) by mirroring about the edge samples without repeating them (OpenCV's
 * BORDER_REFLECT_101, numpy's "reflect"): -1 -> 1, n -> n - 2; any distance folds; n = 1 gives 0.
 */
export function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let k = i % period;
  if (k < 0) k += period;
  return k < n ? k : period - k;
}

/** Gaussian blur with standard deviation `sigma` pixels, per channel, edges replicated; a new image. */
export function gaussianBlur(image: FloatImage, sigma: number): FloatImage {
  const { width, height, channels, data } = image;
  const taps = gaussianTaps(sigma);
  const radius = (taps.length - 1) / 2;
  const rows = new Float32Array(data.length);
  // Horizontal pass, then vertical: the 2-D Gaussian is the outer product of the 1-D one.
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        let sum = 0;
        for (let k = -radius; k <= radius; k++) sum += taps[k + radius]! * data[(y * width + clampIndex(x + k, width)) * channels + c]!;
        rows[(y * width + x) * channels + c] = sum;
      }
    }
  }
  const out = new Float32Array(data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        let sum = 0;
        for (let k = -radius; k <= radius; k++) sum += taps[k + radius]! * rows[(clampIndex(y + k, height) * width + x) * channels + c]!;
        out[(y * width + x) * channels + c] = sum;
      }
    }
  }
  return { data: out, width, height, channels };
}

/** The 3x3 median filter, per channel, edges replicated; a new image. */
export function median3x3(image: FloatImage): FloatImage {
  const { width, height, channels, data } = image;
  const out = new Float32Array(data.length);
  const window = new Float32Array(9);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        let n = 0;
        for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) window[n++] = data[(clampIndex(y + dy, height) * width + clampIndex(x + dx, width)) * channels + c]!;
        // Insertion sort of 9 values: fewer operations than a general sort at this size.
        for (let i = 1; i < 9; i++) {
          const v = window[i]!;
          let j = i - 1;
          while (j >= 0 && window[j]! > v) {
            window[j + 1] = window[j]!;
            j--;
          }
          window[j + 1] = v;
        }
        out[(y * width + x) * channels + c] = window[4]!;
      }
    }
  }
  return { data: out, width, height, channels };
}

/**
 * The argument in [lo, hi] that maximises a unimodal `score`, by golden-section search to `tolerance`.
 * Used for the blur baseline's best sigma.
 */
export function goldenMax(score: (x: number) => number, lo: number, hi: number, tolerance = 0.01): { x: number; value: number } {
  check(hi > lo, `hi > lo (${lo})`, 'hi', hi);
  const ratio = (Math.sqrt(5) - 1) / 2;
  let a = lo;
  let b = hi;
  let c = b - ratio * (b - a);
  let d = a + ratio * (b - a);
  let fc = score(c);
  let fd = score(d);
  while (b - a > tolerance) {
    if (fc >= fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - ratio * (b - a);
      fc = score(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + ratio * (b - a);
      fd = score(d);
    }
  }
  return fc >= fd ? { x: c, value: fc } : { x: d, value: fd };
}

/**
 * A copy of `image` with `pad` extra pixels on every side filled by {@link reflectIndex} (mirrored, edge samples
 * not repeated), as Float32Array of (width + 2 pad) x (height + 2 pad) x channels; any pad works on any size.
 */
export function padReflect(image: FloatImage, pad: number): FloatImage {
  const { width, height, channels, data } = image;
  const pw = width + 2 * pad;
  const ph = height + 2 * pad;
  const out = new Float32Array(pw * ph * channels);
  const columns = Int32Array.from({ length: pw }, (_, x) => reflectIndex(x - pad, width));
  for (let y = 0; y < ph; y++) {
    const row = reflectIndex(y - pad, height) * width;
    for (let x = 0; x < pw; x++) {
      const from = (row + columns[x]!) * channels;
      const to = (y * pw + x) * channels;
      for (let c = 0; c < channels; c++) out[to + c] = data[from + c]!;
    }
  }
  return { data: out, width: pw, height: ph, channels };
}
