// Wavelet denoising: an orthogonal Daubechies transform, BayesShrink soft thresholds per subband, cycle spinning, colour in YCbCr.
import { check, checkInteger, checkNumber, checkOneOf } from 'onnx-denoiser-common';
import { checkFloatImage, type FloatImage } from '../baselines.js';

/** Orthogonal wavelets by name: their scaling (low-pass reconstruction) filters, PyWavelets' `rec_lo`. */
export const WAVELETS: Readonly<Record<'haar' | 'db2' | 'db4' | 'sym4', readonly number[]>> = Object.freeze({
  haar: Object.freeze([Math.SQRT1_2, Math.SQRT1_2]),
  db2: Object.freeze([0.48296291314453416, 0.8365163037378079, 0.2241438680420134, -0.12940952255126037]),
  db4: Object.freeze([
    0.2303778133088965, 0.7148465705529157, 0.6308807679298589, -0.027983769416859854, -0.18703481171909309, 0.030841381835560764, 0.0328830116668852,
    -0.010597401785069032,
  ]),
  sym4: Object.freeze([
    0.0322231006040427, -0.012603967262037833, -0.09921954357684722, 0.29785779560527736, 0.8037387518059161, 0.49761866763201545, -0.02963552764599851,
    -0.07576571478927333,
  ]),
});

/** A wavelet's name in {@link WAVELETS}. */
export type WaveletName = keyof typeof WAVELETS;
const WAVELET_NAMES = Object.keys(WAVELETS) as WaveletName[];
/** Colour spaces {@link waveletDenoise} thresholds a 3-channel image in. */
export const WAVELET_COLOUR_SPACES = Object.freeze(['ycbcr', 'rgb'] as const);

/** The low-pass filter h and the high-pass g[k] = (-1)^k h[L - 1 - k]. */
function filters(name: WaveletName): { h: Float64Array; g: Float64Array } {
  const h = Float64Array.from(WAVELETS[name]);
  const g = h.map((_, k) => (k % 2 === 0 ? 1 : -1) * h[h.length - 1 - k]!);
  return { h, g };
}

/** One periodised analysis step of `n` samples (n even): approximations then details into `out`. */
function analyse(line: Float64Array, n: number, h: Float64Array, g: Float64Array, out: Float64Array): void {
  const half = n / 2;
  const taps = h.length;
  for (let i = 0; i < half; i++) {
    let a = 0;
    let d = 0;
    const start = 2 * i;
    if (start + taps <= n) {
      for (let k = 0; k < taps; k++) {
        const v = line[start + k]!;
        a += h[k]! * v;
        d += g[k]! * v;
      }
    } else {
      for (let k = 0; k < taps; k++) {
        const v = line[(start + k) % n]!;
        a += h[k]! * v;
        d += g[k]! * v;
      }
    }
    out[i] = a;
    out[half + i] = d;
  }
}

/** The inverse (transpose) of {@link analyse}. */
function synthesise(line: Float64Array, n: number, h: Float64Array, g: Float64Array, out: Float64Array): void {
  const half = n / 2;
  const taps = h.length;
  out.fill(0, 0, n);
  for (let i = 0; i < half; i++) {
    const a = line[i]!;
    const d = line[half + i]!;
    const start = 2 * i;
    if (start + taps <= n) for (let k = 0; k < taps; k++) out[start + k]! += h[k]! * a + g[k]! * d;
    else for (let k = 0; k < taps; k++) out[(start + k) % n]! += h[k]! * a + g[k]! * d;
  }
}

function checkTransform(plane: Float64Array, width: number, height: number, levels: number, wavelet: WaveletName): void {
  check(plane instanceof Float64Array, 'a Float64Array', 'plane', plane);
  checkInteger(levels, 'levels', { min: 1, max: 16 });
  checkOneOf(wavelet, 'wavelet', WAVELET_NAMES);
  const unit = 2 ** levels;
  check(Number.isInteger(width) && width > 0 && width % unit === 0, `a positive multiple of ${unit} (2^levels)`, 'width', width);
  check(Number.isInteger(height) && height > 0 && height % unit === 0, `a positive multiple of ${unit} (2^levels)`, 'height', height);
  check(plane.length === width * height, `${width * height} values (${width}x${height})`, 'plane', plane.length);
}

/** Rows then columns of the top-left w x h block, through `step` (analyse or synthesise), in place. */
function separable(plane: Float64Array, stride: number, w: number, h: number, step: typeof analyse, f: { h: Float64Array; g: Float64Array }, rowsFirst: boolean): void {
  const line = new Float64Array(Math.max(w, h));
  const out = new Float64Array(Math.max(w, h));
  const rows = () => {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) line[x] = plane[y * stride + x]!;
      step(line, w, f.h, f.g, out);
      for (let x = 0; x < w; x++) plane[y * stride + x] = out[x]!;
    }
  };
  const columns = () => {
    for (let x = 0; x < w; x++) {
      for (let y = 0; y < h; y++) line[y] = plane[y * stride + x]!;
      step(line, h, f.h, f.g, out);
      for (let y = 0; y < h; y++) plane[y * stride + x] = out[y]!;
    }
  };
  if (rowsFirst) {
    rows();
    columns();
  } else {
    columns();
    rows();
  }
}

/**
 * The orthonormal 2-D discrete wavelet transform of a `width` x `height` plane (row-major), `levels` deep, in
 * place with periodic borders, in Mallat's layout: at each level the top-left block splits into its
 * approximation (top-left quarter) and the horizontal-detail (top-right), vertical-detail (bottom-left) and
 * diagonal (bottom-right) quarters. Width and height must be multiples of 2^levels. Energy is preserved.
 */
export function waveletForward2d(plane: Float64Array, width: number, height: number, levels: number, wavelet: WaveletName = 'db4'): void {
  checkTransform(plane, width, height, levels, wavelet);
  const f = filters(wavelet);
  for (let l = 0; l < levels; l++) separable(plane, width, width >> l, height >> l, analyse, f, true);
}

/** The inverse of {@link waveletForward2d}, in place: reconstructs the plane exactly (up to float rounding). */
export function waveletInverse2d(plane: Float64Array, width: number, height: number, levels: number, wavelet: WaveletName = 'db4'): void {
  checkTransform(plane, width, height, levels, wavelet);
  const f = filters(wavelet);
  for (let l = levels - 1; l >= 0; l--) separable(plane, width, width >> l, height >> l, synthesise, f, false);
}

/** Parameters of {@link waveletDenoise}. */
export interface WaveletDenoiseOptions {
  /** The noise's standard deviation in image units (per RGB channel); default: estimated per channel ({@link estimateNoiseSigma}). */
  sigma?: number;
  /** Default `db4`. */
  wavelet?: WaveletName;
  /** Decomposition levels (default 4, fewer for images too small for them). */
  levels?: number;
  /** Multiplies every BayesShrink threshold (default 1). */
  thresholdScale?: number;
  /** Cycle spinning: the result is the mean over shifts 0..cycleShift in x and y ((cycleShift + 1)^2 transforms); default 1. */
  cycleShift?: number;
  /** 3-channel images: `ycbcr` (default; JPEG's full-range YCbCr, each channel with its own noise sigma, as skimage's convert2ycbcr) or `rgb` (per channel). */
  colourSpace?: (typeof WAVELET_COLOUR_SPACES)[number];
}

/** JPEG's full-range RGB -> YCbCr matrix (offsets dropped: they cancel). */
const YCBCR = [
  [0.299, 0.587, 0.114],
  [-0.168736, -0.331264, 0.5],
  [0.5, -0.418688, -0.081312],
] as const;

function invert3(m: readonly (readonly number[])[]): number[][] {
  const [a, b, c] = m[0]!;
  const [d, e, f] = m[1]!;
  const [g, h, i] = m[2]!;
  const A = e! * i! - f! * h!;
  const B = -(d! * i! - f! * g!);
  const C = d! * h! - e! * g!;
  const det = a! * A + b! * B + c! * C;
  return [
    [A / det, -(b! * i! - c! * h!) / det, (b! * f! - c! * e!) / det],
    [B / det, (a! * i! - c! * g!) / det, -(a! * f! - c! * d!) / det],
    [C / det, -(a! * h! - b! * g!) / det, (a! * e! - b! * d!) / det],
  ];
}
const RGB_FROM_YCBCR = invert3(YCBCR);

/** Index folded into [0, n) by half-sample symmetry (the edge sample repeated, PyWavelets' "symmetric"). */
function symmetricIndex(i: number, n: number): number {
  const period = 2 * n;
  let k = i % period;
  if (k < 0) k += period;
  return k < n ? k : period - 1 - k;
}

/** The most levels worth taking for a side of `side` pixels: PyWavelets' dwt_max_level, at least 1. */
function maxLevels(side: number, taps: number): number {
  return Math.max(1, Math.floor(Math.log2(side / (taps - 1))));
}

/** BayesShrink: soft-thresholds each detail subband at scale sigma^2 / sqrt(max(var - sigma^2, eps)) in place. */
function shrink(plane: Float64Array, width: number, height: number, levels: number, sigma: number, scale: number): void {
  const variance = sigma * sigma;
  for (let l = 0; l < levels; l++) {
    const w = width >> l;
    const h = height >> l;
    const hw = w / 2;
    const hh = h / 2;
    for (const [x0, y0] of [[hw, 0], [0, hh], [hw, hh]] as const) {
      let sum = 0;
      for (let y = y0; y < y0 + hh; y++) for (let x = x0; x < x0 + hw; x++) sum += plane[y * width + x]! ** 2;
      const spread = sum / (hw * hh);
      const threshold = (scale * variance) / Math.sqrt(Math.max(spread - variance, Number.EPSILON));
      for (let y = y0; y < y0 + hh; y++) {
        for (let x = x0; x < x0 + hw; x++) {
          const v = plane[y * width + x]!;
          const m = Math.abs(v) - threshold;
          plane[y * width + x] = m > 0 ? Math.sign(v) * m : 0;
        }
      }
    }
  }
}

/**
 * The noise's standard deviation in each channel of `image`, robustly: the median absolute value of the finest
 * diagonal db2 wavelet coefficients over 0.6745 (Donoho and Johnstone's MAD estimate, as skimage's estimate_sigma).
 */
export function estimateNoiseSigma(image: FloatImage): number[] {
  checkFloatImage(image);
  const { width, height, channels, data } = image;
  const w = width + (width % 2);
  const h = height + (height % 2);
  const sigmas: number[] = [];
  for (let c = 0; c < channels; c++) {
    const plane = new Float64Array(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) plane[y * w + x] = data[(symmetricIndex(y, height) * width + symmetricIndex(x, width)) * channels + c]!;
    waveletForward2d(plane, w, h, 1, 'db2');
    const diagonal: number[] = [];
    for (let y = h / 2; y < h; y++) for (let x = w / 2; x < w; x++) diagonal.push(Math.abs(plane[y * w + x]!));
    diagonal.sort((a, b) => a - b);
    const mid = diagonal.length / 2;
    const median = diagonal.length % 2 ? diagonal[Math.floor(mid)]! : (diagonal[mid - 1]! + diagonal[mid]!) / 2;
    sigmas.push(median / 0.6745);
  }
  return sigmas;
}

/**
 * Wavelet denoising with BayesShrink (Chang, Yu and Vetterli 2000): every detail subband of an orthogonal
 * transform is soft-thresholded at sigma^2 / sigma_x, sigma_x^2 the subband's variance less the noise's; the
 * approximation is kept. The image is mirrored to a size the levels divide (plus a margin so the periodic
 * transform's wrap falls outside it), and the result is averaged over cycle spins (shifted placements). Colour
 * images are thresholded in YCbCr (the known RGB sigma carried through the matrix). A new image.
 */
export function waveletDenoise(image: FloatImage, options: WaveletDenoiseOptions = {}): FloatImage {
  checkFloatImage(image);
  const wavelet = checkOneOf(options.wavelet ?? 'db4', 'wavelet', WAVELET_NAMES);
  const sigma = options.sigma === undefined ? undefined : checkNumber(options.sigma, 'sigma', { min: 0 });
  const scale = checkNumber(options.thresholdScale ?? 1, 'thresholdScale', { min: 0 });
  const cycleShift = checkInteger(options.cycleShift ?? 1, 'cycleShift', { min: 0, max: 8 });
  const colourSpace = checkOneOf(options.colourSpace ?? 'ycbcr', 'colourSpace', WAVELET_COLOUR_SPACES);
  const { width, height, channels, data } = image;
  const taps = WAVELETS[wavelet].length;
  const levels = options.levels === undefined ? Math.min(4, maxLevels(Math.min(width, height), taps)) : checkInteger(options.levels, 'levels', { min: 1, max: 10 });
  const n = width * height;
  const ycbcr = channels === 3 && colourSpace === 'ycbcr';
  // The channels to threshold, as planes, and each one's noise sigma.
  const planes = Array.from({ length: channels }, () => new Float64Array(n));
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < channels; c++) {
      if (!ycbcr) planes[c]![p] = data[p * channels + c]!;
      else {
        const row = YCBCR[c]!;
        planes[c]![p] = row[0] * data[p * 3]! + row[1] * data[p * 3 + 1]! + row[2] * data[p * 3 + 2]!;
      }
    }
  }
  const sigmas =
    sigma === undefined
      ? estimateNoiseSigma({ data: Float32Array.from(interleave(planes, n)), width, height, channels })
      : planes.map((_, c) => (ycbcr ? sigma * Math.hypot(...YCBCR[c]!) : sigma));
  const unit = 2 ** levels;
  const margin = taps + cycleShift;
  const pw = Math.ceil((width + 2 * margin) / unit) * unit;
  const ph = Math.ceil((height + 2 * margin) / unit) * unit;
  const work = new Float64Array(pw * ph);
  const spins = (cycleShift + 1) ** 2;
  const results = planes.map((plane, c) => {
    const sum = new Float64Array(n);
    for (let sy = 0; sy <= cycleShift; sy++) {
      for (let sx = 0; sx <= cycleShift; sx++) {
        const left = margin - sx;
        const top = margin - sy;
        for (let y = 0; y < ph; y++) {
          const row = symmetricIndex(y - top, height) * width;
          for (let x = 0; x < pw; x++) work[y * pw + x] = plane[row + symmetricIndex(x - left, width)]!;
        }
        waveletForward2d(work, pw, ph, levels, wavelet);
        shrink(work, pw, ph, levels, sigmas[c]!, scale);
        waveletInverse2d(work, pw, ph, levels, wavelet);
        for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) sum[y * width + x]! += work[(y + top) * pw + x + left]!;
      }
    }
    for (let p = 0; p < n; p++) sum[p]! /= spins;
    return sum;
  });
  const out = new Float32Array(n * channels);
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < channels; c++) {
      if (!ycbcr) out[p * channels + c] = results[c]![p]!;
      else {
        const row = RGB_FROM_YCBCR[c]!;
        out[p * 3 + c] = row[0]! * results[0]![p]! + row[1]! * results[1]![p]! + row[2]! * results[2]![p]!;
      }
    }
  }
  return { data: out, width, height, channels };
}

function interleave(planes: Float64Array[], n: number): Float64Array {
  const k = planes.length;
  const out = new Float64Array(n * k);
  for (let p = 0; p < n; p++) for (let c = 0; c < k; c++) out[p * k + c] = planes[c]![p]!;
  return out;
}
