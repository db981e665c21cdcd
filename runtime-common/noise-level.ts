// Estimates an image's Gaussian noise level from its own pixels (PCA of small patches), for models that take a noise map.
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
 * One pass over the first `colours` channels: the noise variance of the sampled 7x7 patches that pass `filter`
 * (undefined when too few pass) and the share that passed.
 */
function patchNoiseVariance(image: PixelImage, colours: number, filter: PatchFilter): { variance: number | undefined; share: number } {
  const { data, width, height, channels } = image;
  const peak = pixelPeak(data);
  const positions = (width - SIDE + 1) * (height - SIDE + 1) * colours;
  const step = Math.max(1, Math.ceil(Math.sqrt(positions / MAX_PATCHES)));
  const sum = new Float64Array(DIMS);
  const products = new Float64Array(DIMS * DIMS);
  const patch = new Float64Array(DIMS);
  let count = 0;
  let sampled = 0;
  for (let c = 0; c < colours; c++) {
    for (let y = 0; y + SIDE <= height; y += step) {
      for (let x = 0; x + SIDE <= width; x += step) {
        let clipped = false;
        let total = 0;
        for (let dy = 0, k = 0; dy < SIDE; dy++) {
          let at = ((y + dy) * width + x) * channels + c;
          for (let dx = 0; dx < SIDE; dx++, k++, at += channels) {
            const v = data[at]!;
            if (v <= 0 || v >= peak) clipped = true;
            patch[k] = v / peak;
            total += v / peak;
          }
        }
        sampled++;
        if (filter.kind === 'unclipped' ? clipped : total < filter.low * DIMS || total > filter.high * DIMS) continue;
        count++;
        for (let i = 0; i < DIMS; i++) {
          const pi = patch[i]!;
          sum[i] += pi;
          // Upper triangle only; mirrored below.
          for (let j = i; j < DIMS; j++) products[i * DIMS + j] += pi * patch[j]!;
        }
      }
    }
  }
  const share = count / Math.max(1, sampled);
  if (count < 2 * DIMS) return { variance: undefined, share };
  const covariance = new Float64Array(DIMS * DIMS);
  for (let i = 0; i < DIMS; i++) {
    for (let j = i; j < DIMS; j++) {
      const value = (products[i * DIMS + j]! - (sum[i]! * sum[j]!) / count) / (count - 1);
      covariance[i * DIMS + j] = value;
      covariance[j * DIMS + i] = value;
    }
  }
  return { variance: noiseVarianceOfEigenvalues(symmetricEigenvalues(covariance, DIMS)), share };
}

/**
 * Estimates the standard deviation of additive white Gaussian noise in an image, as a fraction of the full scale
 * (sigma 25 on 0..255 gives about 0.098), from 7x7 patches of its colour channels (alpha is ignored; channels are
 * pooled, as the noise is taken to be the same in each; an RGB image whose channels are equal everywhere is read as
 * grey). A first pass takes only patches with no sample at 0 or full
 * scale. Under heavy noise (above {@link CLIPPING_LEVEL}) that favours patches whose noise happened to be small, so a
 * second pass takes the patches whose mean lies at least 2.5 first-pass sigmas from either end, clipped samples and
 * all; its answer may raise the first by at most 10% (clipped highlights in the window would otherwise read as
 * noise), or without limit when most patches were clipped. Deterministic; at most about 30,000 patches per pass, on a regular grid, so a 12 MP photo costs about as
 * much as a 1 MP one. Returns 0 for an image under 7x7.
 */
export function estimateNoiseLevel(image: PixelImage): number {
  if (image.width < SIDE || image.height < SIDE) return 0;
  // A grey picture stored as colour is read as grey: its estimate is its grey version's.
  const colours = hasEqualColourChannels(image) ? 1 : image.channels === 2 || image.channels === 4 ? image.channels - 1 : image.channels;
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
 * How much of its estimate `auto` tells a model, by estimated level (8-bit levels): 0.9 up to sigma 15, rising
 * linearly to 1 at sigma 50 and above. The estimate also reads a photo's own grain and texture as noise, and a model
 * told slightly less keeps that detail. Measured with the shipped photo-denoiser on crops of the training photos
 * (never the validation ones), sigma 5 to 50 in colour and grey: 0.9 scored best from 5 to 25 (+0.02 to +0.06 dB
 * over the plain estimate) and 1 at 50 (`tools eval --estimate-scales`; the table is in the README's Photos section).
 */
export const AUTO_LEVEL_SCALE = Object.freeze({ low: { sigma: 15, scale: 0.9 }, high: { sigma: 50, scale: 1 } });

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
 * scaled by {@link autoLevelScale}.
 */
export function autoNoiseLevel(image: PixelImage): number {
  const level = estimateNoiseLevel(image);
  return level * autoLevelScale(level);
}
