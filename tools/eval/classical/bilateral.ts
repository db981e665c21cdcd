// The bilateral filter (Tomasi and Manduchi 1998): a spatial Gaussian times a Gaussian of the colour distance over all channels.
import { checkInteger, checkNumber, checkOneOf } from 'onnx-denoiser-common';
import { checkFloatImage, type FloatImage, padReflect } from '../baselines.js';

/** Colour distances of {@link bilateralFilter}: Euclidean over the channels, or OpenCV's sum of absolute differences. */
export const BILATERAL_DISTANCES = Object.freeze(['l2', 'l1'] as const);

/** Parameters of {@link bilateralFilter}. */
export interface BilateralOptions {
  /** Standard deviation of the spatial Gaussian in pixels (> 0). */
  spatialSigma: number;
  /** Standard deviation of the range Gaussian in image units (samples in [0, 1]), > 0. */
  rangeSigma: number;
  /** Radius of the circular window in pixels; default round(2 spatialSigma), at least 1. */
  radius?: number;
  /** `l2` (default): Euclidean distance over the channels; `l1`: the sum of absolute differences, as OpenCV's colour bilateral. */
  distance?: (typeof BILATERAL_DISTANCES)[number];
}

/** Range weights exp(-t), t = distance^2 / (2 rangeSigma^2), are tabulated in steps of 1 / LUT_STEPS and interpolated linearly. */
const LUT_STEPS = 256;
/** Past t = 24 (exp(-24) = 4e-11) a neighbour's weight is 0. */
const RANGE_CUTOFF = 24;
const RANGE_LUT = (() => {
  const lut = new Float64Array(RANGE_CUTOFF * LUT_STEPS + 2);
  for (let i = 0; i < lut.length; i++) lut[i] = Math.exp(-i / LUT_STEPS);
  return lut;
})();

/** The window radius {@link bilateralFilter} uses for `options`. */
export function bilateralRadius(options: BilateralOptions): number {
  return options.radius ?? Math.max(1, Math.round(2 * options.spatialSigma));
}

/**
 * The bilateral filter: each output pixel is the mean of the pixels in a circular window weighted by
 * exp(-r^2 / (2 spatialSigma^2)) exp(-d^2 / (2 rangeSigma^2)), r the distance in pixels and d the colour distance to
 * the centre pixel over all channels (so colour edges are kept jointly); borders mirrored (OpenCV's
 * BORDER_REFLECT_101). Range weights come from a table (relative error below 1e-5). A new image.
 */
export function bilateralFilter(image: FloatImage, options: BilateralOptions): FloatImage {
  checkFloatImage(image);
  const spatialSigma = checkNumber(options.spatialSigma, 'spatialSigma', { above: 0, max: 100 });
  const rangeSigma = checkNumber(options.rangeSigma, 'rangeSigma', { above: 0 });
  const radius = checkInteger(bilateralRadius(options), 'radius', { min: 1, max: 200 });
  const distance = checkOneOf(options.distance ?? 'l2', 'distance', BILATERAL_DISTANCES);
  const { width, height, channels } = image;
  const padded = padReflect(image, radius).data;
  const pw = width + 2 * radius;
  const offsets: number[] = [];
  const weights: number[] = [];
  for (let dy = -radius; dy <= radius; dy++) {
    for (let dx = -radius; dx <= radius; dx++) {
      if (dy * dy + dx * dx > radius * radius) continue;
      offsets.push((dy * pw + dx) * channels);
      weights.push(Math.exp(-(dy * dy + dx * dx) / (2 * spatialSigma * spatialSigma)));
    }
  }
  const offset = Int32Array.from(offsets);
  const spatial = Float64Array.from(weights);
  const taps = offset.length;
  const scale = LUT_STEPS / (2 * rangeSigma * rangeSigma);
  const cutoff = RANGE_CUTOFF * LUT_STEPS;
  const lut = RANGE_LUT;
  const out = new Float32Array(image.data.length);
  const sums = new Float64Array(channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const centre = ((y + radius) * pw + x + radius) * channels;
      const o = (y * width + x) * channels;
      if (channels === 1) {
        const v0 = padded[centre]!;
        let sum = 0;
        let total = 0;
        for (let k = 0; k < taps; k++) {
          const v = padded[centre + offset[k]!]!;
          const d = v - v0;
          const t = d * d * scale;
          if (t >= cutoff) continue;
          const i = t | 0;
          const w = spatial[k]! * (lut[i]! + (t - i) * (lut[i + 1]! - lut[i]!));
          sum += w * v;
          total += w;
        }
        out[o] = sum / total;
      } else if (channels === 3) {
        const r0 = padded[centre]!;
        const g0 = padded[centre + 1]!;
        const b0 = padded[centre + 2]!;
        let sr = 0;
        let sg = 0;
        let sb = 0;
        let total = 0;
        for (let k = 0; k < taps; k++) {
          const at = centre + offset[k]!;
          const r = padded[at]!;
          const g = padded[at + 1]!;
          const b = padded[at + 2]!;
          let d2: number;
          if (distance === 'l2') d2 = (r - r0) * (r - r0) + (g - g0) * (g - g0) + (b - b0) * (b - b0);
          else {
            const d = Math.abs(r - r0) + Math.abs(g - g0) + Math.abs(b - b0);
            d2 = d * d;
          }
          const t = d2 * scale;
          if (t >= cutoff) continue;
          const i = t | 0;
          const w = spatial[k]! * (lut[i]! + (t - i) * (lut[i + 1]! - lut[i]!));
          sr += w * r;
          sg += w * g;
          sb += w * b;
          total += w;
        }
        out[o] = sr / total;
        out[o + 1] = sg / total;
        out[o + 2] = sb / total;
      } else {
        sums.fill(0);
        let total = 0;
        for (let k = 0; k < taps; k++) {
          const at = centre + offset[k]!;
          let d2 = 0;
          let d1 = 0;
          for (let c = 0; c < channels; c++) {
            const d = padded[at + c]! - padded[centre + c]!;
            d2 += d * d;
            d1 += Math.abs(d);
          }
          const t = (distance === 'l2' ? d2 : d1 * d1) * scale;
          if (t >= cutoff) continue;
          const i = t | 0;
          const w = spatial[k]! * (lut[i]! + (t - i) * (lut[i + 1]! - lut[i]!));
          for (let c = 0; c < channels; c++) sums[c]! += w * padded[at + c]!;
          total += w;
        }
        for (let c = 0; c < channels; c++) out[o + c] = sums[c]! / total;
      }
    }
  }
  return { data: out, width, height, channels };
}
