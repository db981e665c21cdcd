// Estimates an image's Gaussian noise level from its own pixels (PCA of weak-texture patches), for models that take a noise map.
import { hasEqualColourChannels, type PixelImage, pixelPeak } from './image-ops.js';

/** The first-pass level (sigma 25.5 on 0..255) above which clipping at the scale's ends is worth a second pass. */
export const CLIPPING_LEVEL = 0.1;

/** Patch side of the estimator: 7x7 patches, 49 dimensions. */
const SIDE = 7;
const DIMS = SIDE * SIDE;

/** Patches sampled at most (over all colour channels): enough for the noise eigenvalues' mean to settle within about 1%. */
const MAX_PATCHES = 12_000;

/**
 * Eigenvalues of a symmetric matrix (row-major, `n` x `n`, overwritten) by cyclic Jacobi rotations, ascending.
 * Exact to float64 rounding for the 49 x 49 covariances used here, in a few milliseconds.
 */
export function symmetricEigenvalues(matrix: Float64Array, n: number): Float64Array {
  const a = matrix;
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q]! ** 2;
    let diagonal = 0;
    for (let p = 0; p < n; p++) diagonal += a[p * n + p]! ** 2;
    if (off <= 1e-24 * diagonal || off === 0) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (apq === 0) continue;
        const theta = (a[q * n + q]! - a[p * n + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!;
          const akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!;
          const aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
      }
    }
  }
  return Float64Array.from({ length: n }, (_, i) => a[i * n + i]!).sort();
}

/**
 * The noise variance in a covariance's ascending eigenvalues (Chen, Zhu and Heng, "An Efficient Statistical Method
 * for Image Noise Level Estimation", ICCV 2015): the largest eigenvalues carry image structure, so they are dropped
 * one by one until the rest look like noise alone, i.e. as many of them lie above their mean as below it; that mean
 * is the variance.
 */
export function noiseVarianceOfEigenvalues(ascending: Float64Array): number {
  for (let count = ascending.length; count > 0; count--) {
    let sum = 0;
    for (let i = 0; i < count; i++) sum += ascending[i]!;
    const mean = sum / count;
    let above = 0;
    let below = 0;
    for (let i = 0; i < count; i++) {
      if (ascending[i]! > mean) above++;
      else if (ascending[i]! < mean) below++;
    }
    if (above === below) return Math.max(0, mean);
  }
  return Math.max(0, ascending[0] ?? 0);
}

/** Which patches one pass of the estimator takes: none with a sample at the scale's ends, or those whose mean lies within [low, high]. */
type PatchFilter = { kind: 'unclipped' } | { kind: 'mean'; low: number; high: number };

/**
 * How far a 7x7 patch of pure noise can reach in gradient energy (the sum of its 84 squared differences between
 * horizontal and vertical neighbours), in units of the noise variance: 99% of such patches stay under this (Liu,
 * Tanaka and Okutomi, "Single-Image Noise Level Estimation for Blind Denoising", 2013). The energy is the quadratic
 * form of the 7x7 grid's Laplacian L, so its mean is tr(L) = 168 and its variance 2 tr(L^2) = 1528 (a sample's row of
 * L holds its degree d and d neighbours' -1: (L^2)_ii = d^2 + d); it is taken as the Gamma law of that mean and
 * variance, whose 99% quantile comes from the Wilson-Hilferty cube-root approximation (z = 2.326): about 272.
 */
export const WEAK_TEXTURE_THRESHOLD = (() => {
  let trace = 0;
  let traceOfSquare = 0;
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const degree = (x > 0 ? 1 : 0) + (x < SIDE - 1 ? 1 : 0) + (y > 0 ? 1 : 0) + (y < SIDE - 1 ? 1 : 0);
      trace += degree;
      traceOfSquare += degree * degree + degree;
    }
  }
  // Gamma(shape, scale) = scale / 2 * chi-square(2 shape).
  const shape = (trace * trace) / (2 * traceOfSquare);
  const scale = (2 * traceOfSquare) / trace;
  const degrees = 2 * shape;
  const z = 2.326;
  return (scale / 2) * degrees * (1 - 2 / (9 * degrees) + z * Math.sqrt(2 / (9 * degrees))) ** 3;
})();

/** Weak-texture refinements at most; they settle in two to four. */
const MAX_REFINEMENTS = 6;

/** The patches one pass samples: where each starts in the data, its gradient energy (0..1 scale), how many passed the filter and how many were looked at. */
interface PatchSample {
  starts: Float64Array;
  energy: Float64Array;
  count: number;
  sampled: number;
}

/** Samples 7x7 patches of the first `colours` channels on a regular grid, keeping those that pass `filter`. */
function samplePatches(image: PixelImage, colours: number, filter: PatchFilter): PatchSample {
  const { data, width, height, channels } = image;
  const peak = pixelPeak(data);
  const positions = (width - SIDE + 1) * (height - SIDE + 1) * colours;
  const step = Math.max(1, Math.ceil(Math.sqrt(positions / MAX_PATCHES)));
  const capacity = Math.ceil((width - SIDE + 1) / step) * Math.ceil((height - SIDE + 1) / step) * colours;
  const starts = new Float64Array(capacity);
  const energy = new Float64Array(capacity);
  const patch = new Float64Array(DIMS);
  let count = 0;
  let sampled = 0;
  for (let c = 0; c < colours; c++) {
    for (let y = 0; y + SIDE <= height; y += step) {
      for (let x = 0; x + SIDE <= width; x += step) {
        const start = (y * width + x) * channels + c;
        let clipped = false;
        let total = 0;
        for (let dy = 0, k = 0; dy < SIDE; dy++) {
          for (let dx = 0, at = start + dy * width * channels; dx < SIDE; dx++, k++, at += channels) {
            const v = data[at]!;
            if (v <= 0 || v >= peak) clipped = true;
            patch[k] = v / peak;
            total += v / peak;
          }
        }
        sampled++;
        if (filter.kind === 'unclipped' ? clipped : total < filter.low * DIMS || total > filter.high * DIMS) continue;
        let gradient = 0;
        for (let a = 0; a < SIDE; a++) {
          for (let b = 0; b + 1 < SIDE; b++) {
            gradient += (patch[a * SIDE + b + 1]! - patch[a * SIDE + b]!) ** 2 + (patch[(b + 1) * SIDE + a]! - patch[b * SIDE + a]!) ** 2;
          }
        }
        starts[count] = start;
        energy[count] = gradient;
        count++;
      }
    }
  }
  return { starts, energy, count, sampled };
}

/** @internal The dot product of `values[a, a + n)` and `values[b, b + n)`, in four independent sums (which the CPU overlaps); exported for its test. */
export function dotProduct(values: Float64Array, a: number, b: number, n: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let k = 0;
  for (; k + 3 < n; k += 4) {
    s0 += values[a + k]! * values[b + k]!;
    s1 += values[a + k + 1]! * values[b + k + 1]!;
    s2 += values[a + k + 2]! * values[b + k + 2]!;
    s3 += values[a + k + 3]! * values[b + k + 3]!;
  }
  for (; k < n; k++) s0 += values[a + k]! * values[b + k]!;
  return s0 + s1 + (s2 + s3);
}

/** The noise variance (0..1 scale) of the sampled patches whose gradient energy is under `maxEnergy`; undefined when too few are. */
function varianceOfPatches(image: PixelImage, sample: PatchSample, maxEnergy: number): number | undefined {
  const { data, width, channels } = image;
  const peak = pixelPeak(data);
  let count = 0;
  for (let p = 0; p < sample.count; p++) if (sample.energy[p]! <= maxEnergy) count++;
  if (count < 2 * DIMS) return undefined;
  // The patches as columns (DIMS rows of `count` values: pixel k of every patch side by side), so that each entry of
  // the covariance is one dot product of two contiguous rows: 10,000 patches took 40 ms as a sum of outer products
  // into the matrix, about 10 this way.
  const rows = new Float64Array(DIMS * count);
  for (let p = 0, n = 0; p < sample.count; p++) {
    if (!(sample.energy[p]! <= maxEnergy)) continue;
    const start = sample.starts[p]!;
    for (let dy = 0, k = 0; dy < SIDE; dy++) {
      for (let dx = 0, at = start + dy * width * channels; dx < SIDE; dx++, k++, at += channels) rows[k * count + n] = data[at]! / peak;
    }
    n++;
  }
  const sum = new Float64Array(DIMS);
  for (let i = 0; i < DIMS; i++) {
    let total = 0;
    for (let n = i * count, end = n + count; n < end; n++) total += rows[n]!;
    sum[i] = total;
  }
  const covariance = new Float64Array(DIMS * DIMS);
  for (let i = 0; i < DIMS; i++) {
    for (let j = i; j < DIMS; j++) {
      const value = (dotProduct(rows, i * count, j * count, count) - (sum[i]! * sum[j]!) / count) / (count - 1);
      covariance[i * DIMS + j] = value;
      covariance[j * DIMS + i] = value;
    }
  }
  return noiseVarianceOfEigenvalues(symmetricEigenvalues(covariance, DIMS));
}

/**
 * One pass over the first `colours` channels: the noise variance of the sampled 7x7 patches that pass `filter`
 * (undefined when too few pass) and the share that passed. The first estimate takes every such patch; then, as Liu
 * et al. do, only the weak-texture ones (gradient energy under {@link WEAK_TEXTURE_THRESHOLD} times the estimate),
 * re-estimated until the estimate settles: fine texture (foliage, gravel) otherwise reads as noise.
 */
function patchNoiseVariance(image: PixelImage, colours: number, filter: PatchFilter): { variance: number | undefined; share: number } {
  const sample = samplePatches(image, colours, filter);
  const share = sample.count / Math.max(1, sample.sampled);
  let variance = varianceOfPatches(image, sample, Infinity);
  for (let round = 0; variance !== undefined && round < MAX_REFINEMENTS; round++) {
    const next = varianceOfPatches(image, sample, WEAK_TEXTURE_THRESHOLD * variance);
    if (next === undefined) break;
    const settled = Math.abs(next - variance) <= 1e-3 * variance;
    variance = next;
    if (settled) break;
  }
  return { variance, share };
}

/**
 * Estimates the standard deviation of additive white Gaussian noise in an image, as a fraction of the full scale
 * (sigma 25 on 0..255 gives about 0.098), from 7x7 patches of its colour channels (alpha is ignored; channels are
 * pooled, as the noise is taken to be the same in each; an RGB image whose channels are equal everywhere is read as
 * grey), keeping the weak-texture ones (see {@link WEAK_TEXTURE_THRESHOLD}). A first pass takes only patches with no
 * sample at 0 or full scale. Under heavy noise (above {@link CLIPPING_LEVEL}) that favours patches whose noise happened to be small, so a
 * second pass takes the patches whose mean lies at least 2.5 first-pass sigmas from either end, clipped samples and
 * all; its answer may raise the first by at most 10% (clipped highlights in the window would otherwise read as
 * noise), or without limit when most patches were clipped. Deterministic; at most about 12,000 patches per pass
 * (with three colour channels, each a third), on a regular grid, so a 12 MP photo costs about as much as a 1 MP one. Returns 0 for an image under 7x7.
 * `grey`: whether the colour channels are equal everywhere, when the caller has checked already (undefined: checked here).
 */
export function estimateNoiseLevel(image: PixelImage, grey?: boolean): number {
  if (image.width < SIDE || image.height < SIDE) return 0;
  // A grey picture stored as colour is read as grey: its estimate is its grey version's.
  const colours = (grey ?? hasEqualColourChannels(image)) ? 1 : image.channels === 2 || image.channels === 4 ? image.channels - 1 : image.channels;
  const unclipped = patchNoiseVariance(image, colours, { kind: 'unclipped' });
  const first = Math.sqrt(unclipped.variance ?? patchNoiseVariance(image, colours, { kind: 'mean', low: 0, high: 1 }).variance!);
  if (unclipped.variance !== undefined && first <= CLIPPING_LEVEL) return first;
  const margin = 2.5 * first;
  const second = margin < 0.5 ? patchNoiseVariance(image, colours, { kind: 'mean', low: margin, high: 1 - margin }).variance : undefined;
  if (second === undefined) return first;
  // When most patches were clipped, the first pass saw only the luckiest few: the second is the better guess.
  if (unclipped.share < 0.5) return Math.max(Math.sqrt(second), first);
  return Math.min(Math.max(Math.sqrt(second), first), 1.1 * first);
}

/**
 * How much of its estimate `auto` tells a model, by estimated level (8-bit levels): 0.95 up to sigma 25, rising
 * linearly to 1 at sigma 50 and above. A model told slightly less than the noise keeps more of a photo's own grain and
 * fine detail. Measured with the shipped photo-denoiser on 384x384 crops of the training photos (never the validation
 * ones), sigma 5 to 50 in colour and grey: 0.95 scored best from 5 to 25 (by 0.01 to 0.03 dB over 0.9 and 1) and 1 at
 * 50 (`tools eval --estimate-scales`; the table is in the README's Photos section).
 */
export const AUTO_LEVEL_SCALE = Object.freeze({ low: { sigma: 25, scale: 0.95 }, high: { sigma: 50, scale: 1 } });

/** The factor {@link autoNoiseLevel} applies to an estimate of `level` (a fraction of the full scale). */
export function autoLevelScale(level: number): number {
  const { low, high } = AUTO_LEVEL_SCALE;
  const sigma = level * 255;
  if (sigma <= low.sigma) return low.scale;
  if (sigma >= high.sigma) return high.scale;
  return low.scale + ((sigma - low.sigma) / (high.sigma - low.sigma)) * (high.scale - low.scale);
}

/**
 * The noise level `auto` tells a model with a noise map (a fraction of the full scale): {@link estimateNoiseLevel}
 * scaled by {@link autoLevelScale}; `grey` as for {@link estimateNoiseLevel}.
 */
export function autoNoiseLevel(image: PixelImage, grey?: boolean): number {
  const level = estimateNoiseLevel(image, grey);
  return level * autoLevelScale(level);
}
