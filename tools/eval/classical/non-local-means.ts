// Non-local means (Buades, Coll and Morel 2005), the fast form: one box-filtered difference image per search offset, each offset pair done once.
import { check, checkInteger, checkNumber } from 'onnx-denoiser-common';
import { checkFloatImage, type FloatImage, padReflect } from '../baselines.js';

/** Parameters of {@link nonLocalMeans}. */
export interface NonLocalMeansOptions {
  /** Filtering parameter h in image units (samples in [0, 1]), > 0: larger averages more. */
  h: number;
  /** The noise's standard deviation in image units (default 0): 2 sigma^2 is taken off every patch distance. */
  sigma?: number;
  /** Side of the square patches compared, odd (default 7). */
  patchSize?: number;
  /** Side of the square search window around each pixel, odd (default 21). */
  searchSize?: number;
}

/** Weights exp(-distance) of distances past this are 0, as in skimage (exp(-5) = 0.007). */
export const NLM_DISTANCE_CUTOFF = 5;

/**
 * Weights are tabulated: exp(-t) at t = i / NLM_EXP_STEPS up to the cutoff, interpolated linearly (relative error
 * below 2e-7), cheaper than Math.exp; the table's last step falls to 0 at the cutoff, so a distance clamped to the
 * cutoff reads weight 0 without a branch.
 */
export const NLM_EXP_STEPS = 1024;
const EXP_STEPS = NLM_EXP_STEPS;
const EXP_LAST = NLM_DISTANCE_CUTOFF * EXP_STEPS;
const EXP_TABLE = Float64Array.from({ length: EXP_LAST + 2 }, (_, i) => (i < EXP_LAST ? Math.exp(-i / EXP_STEPS) : 0));

/**
 * One row of an offset's difference image: the squared differences over the channels between `dw` pixels of the
 * padded image from sample `base` and the same pixels shifted by `shift` samples, summed over boxes of 2 pr + 1
 * pixels into `out` from `at` (box i centred on pixel i + pr of the row).
 */
function boxedDifferenceRow(padded: Float32Array, base: number, shift: number, dw: number, pr: number, channels: number, line: Float64Array, out: Float64Array, at: number): void {
  if (channels === 1) {
    for (let i = 0; i < dw; i++) {
      const d = padded[base + i]! - padded[base + i + shift]!;
      line[i] = d * d;
    }
  } else if (channels === 3) {
    for (let i = 0; i < dw; i++) {
      const a = base + 3 * i;
      const r = padded[a]! - padded[a + shift]!;
      const g = padded[a + 1]! - padded[a + 1 + shift]!;
      const b = padded[a + 2]! - padded[a + 2 + shift]!;
      line[i] = r * r + g * g + b * b;
    }
  } else {
    for (let i = 0; i < dw; i++) {
      let s = 0;
      for (let c = 0; c < channels; c++) {
        const d = padded[base + i * channels + c]! - padded[base + i * channels + c + shift]!;
        s += d * d;
      }
      line[i] = s;
    }
  }
  const bw = dw - 2 * pr;
  let s = 0;
  for (let i = 0; i < 2 * pr + 1; i++) s += line[i]!;
  out[at] = s;
  for (let i = 1; i < bw; i++) {
    s += line[i + 2 * pr]! - line[i - 1]!;
    out[at + i] = s;
  }
}

/** `column[i] += sign * rows[at + i]` for i in [0, count). */
function addRow(column: Float64Array, rows: Float64Array, at: number, count: number, sign: number): void {
  for (let i = 0; i < count; i++) column[i]! += sign * rows[at + i]!;
}

/** Adds `weights[i]` times the `channels` samples at `from + i * channels` to `acc` from pixel `at` on, and the weights to `total`. */
function accumulate(weights: Float64Array, i0: number, i1: number, at: number, from: number, channels: number, padded: Float32Array, acc: Float64Array, total: Float64Array): void {
  if (channels === 1) {
    for (let i = i0, a = at, f = from; i < i1; i++, a++, f++) {
      const w = weights[i]!;
      acc[a]! += w * padded[f]!;
      total[a]! += w;
    }
  } else if (channels === 3) {
    for (let i = i0, a = at, f = from; i < i1; i++, a++, f += 3) {
      const w = weights[i]!;
      acc[3 * a]! += w * padded[f]!;
      acc[3 * a + 1]! += w * padded[f + 1]!;
      acc[3 * a + 2]! += w * padded[f + 2]!;
      total[a]! += w;
    }
  } else {
    for (let i = i0, a = at, f = from; i < i1; i++, a++, f += channels) {
      const w = weights[i]!;
      for (let c = 0; c < channels; c++) acc[a * channels + c]! += w * padded[f + c]!;
      total[a]! += w;
    }
  }
}

/**
 * One row of pixel pairs p = (x0 + i, y), q = p + (dx, dy), i in [0, count): each pair's weight from its patch
 * distance (`column[i]`, the summed squared differences) is added to p and to q where they lie inside the image.
 */
function accumulateRow(
  column: Float64Array,
  weights: Float64Array,
  count: number,
  norm: number,
  bias: number,
  x0: number,
  y: number,
  dx: number,
  dy: number,
  width: number,
  height: number,
  channels: number,
  pad: number,
  pw: number,
  padded: Float32Array,
  acc: Float64Array,
  total: Float64Array,
): void {
  const table = EXP_TABLE;
  const scale = norm * EXP_STEPS;
  const offset = bias * EXP_STEPS;
  for (let i = 0; i < count; i++) {
    let t = column[i]! * scale - offset;
    t = t < 0 ? 0 : t > EXP_LAST ? EXP_LAST : t;
    const k = t | 0;
    weights[i] = table[k]! + (t - k) * (table[k + 1]! - table[k]!);
  }
  const yq = y + dy;
  // p inside for x0 + i in [0, width); q inside for x0 + i + dx in [0, width).
  if (y >= 0) {
    const i0 = Math.max(0, -x0);
    const i1 = Math.min(count, width - x0);
    if (i1 > i0) accumulate(weights, i0, i1, y * width + x0 + i0, ((yq + pad) * pw + x0 + i0 + dx + pad) * channels, channels, padded, acc, total);
  }
  if (yq < height) {
    const i0 = Math.max(0, -x0 - dx);
    const i1 = Math.min(count, width - x0 - dx);
    if (i1 > i0) accumulate(weights, i0, i1, yq * width + x0 + i0 + dx, ((y + pad) * pw + x0 + i0 + pad) * channels, channels, padded, acc, total);
  }
}

function checkOptions(options: NonLocalMeansOptions) {
  const h = checkNumber(options.h, 'h', { above: 0 });
  const sigma = checkNumber(options.sigma ?? 0, 'sigma', { min: 0 });
  const patchSize = checkInteger(options.patchSize ?? 7, 'patchSize', { min: 1, max: 31 });
  check(patchSize % 2 === 1, 'an odd integer', 'patchSize', patchSize);
  const searchSize = checkInteger(options.searchSize ?? 21, 'searchSize', { min: 1, max: 101 });
  check(searchSize % 2 === 1, 'an odd integer', 'searchSize', searchSize);
  return { h, sigma, patchRadius: (patchSize - 1) / 2, searchRadius: (searchSize - 1) / 2, patchSize };
}

/**
 * Non-local means: each pixel p becomes the mean of the pixels q in its search window weighted by
 * exp(-max(d^2(p, q) - 2 sigma^2, 0) / h^2), d^2 the mean squared difference of the patches around p and q over all
 * their pixels and channels (weights of distances past {@link NLM_DISTANCE_CUTOFF} are 0), the image mirrored at
 * its borders (BORDER_REFLECT_101). This is skimage's `denoise_nl_means(fast_mode=True)` formula with a centred
 * patch. Cost O(pixels x searchSize^2), independent of the patch size: for each offset o (half of them, since the
 * pair p, p + o serves both pixels) the squared difference image is box-filtered by running sums. A new image.
 */
export function nonLocalMeans(image: FloatImage, options: NonLocalMeansOptions): FloatImage {
  checkFloatImage(image);
  const { h, sigma, patchRadius: pr, searchRadius: sr, patchSize } = checkOptions(options);
  const { width, height, channels } = image;
  const pad = pr + sr;
  const padded = padReflect(image, pad).data;
  const pw = width + 2 * pad;
  const n = width * height;
  const acc = new Float64Array(n * channels);
  const total = new Float64Array(n);
  // The zero offset: every pixel with weight exp(-max(-2 sigma^2, 0) / h^2) = 1.
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = y * width + x;
      const from = ((y + pad) * pw + x + pad) * channels;
      for (let c = 0; c < channels; c++) acc[at * channels + c] = padded[from + c]!;
      total[at] = 1;
    }
  }
  const norm = 1 / (channels * patchSize * patchSize * h * h);
  const bias = (2 * sigma * sigma) / (h * h);
  // Scratch: one line of squared differences, its box sums along every row an offset needs, and a running column sum.
  const maxW = width + 2 * sr + 2 * pr;
  const boxSide = 2 * pr + 1;
  const line = new Float64Array(maxW);
  // The last 2 pr + 1 rows of box sums (a ring, small enough to stay in cache), their running column sum, and weights.
  const ring = new Float64Array(boxSide * maxW);
  const column = new Float64Array(maxW);
  const weights = new Float64Array(maxW);
  for (let dy = 0; dy <= sr; dy++) {
    for (let dx = -sr; dx <= sr; dx++) {
      if (dy === 0 && dx <= 0) continue;
      // Pixels p (image coordinates) with p or p + o inside the image: x in [x0, x1], y in [y0, y1].
      const x0 = Math.min(0, -dx);
      const x1 = width - 1 + Math.max(0, -dx);
      const y0 = -dy;
      const y1 = height - 1;
      // The difference image over that range grown by the patch radius; its origin is (x0 - pr, y0 - pr).
      const dw = x1 - x0 + 1 + 2 * pr;
      const dh = y1 - y0 + 1 + 2 * pr;
      const bw = dw - 2 * pr;
      const origin = ((y0 - pr + pad) * pw + x0 - pr + pad) * channels;
      const shift = (dy * pw + dx) * channels;
      column.fill(0, 0, bw);
      for (let j = 0; j < dh; j++) {
        const slot = (j % boxSide) * bw;
        if (j >= boxSide) addRow(column, ring, slot, bw, -1);
        boxedDifferenceRow(padded, origin + j * pw * channels, shift, dw, pr, channels, line, ring, slot);
        addRow(column, ring, slot, bw, 1);
        // The column now sums difference rows j - 2 pr .. j: the patches centred on pixel row y0 + j - 2 pr.
        if (j >= 2 * pr) accumulateRow(column, weights, bw, norm, bias, x0, y0 + j - 2 * pr, dx, dy, width, height, channels, pad, pw, padded, acc, total);
      }
    }
  }
  const out = new Float32Array(n * channels);
  for (let p = 0; p < n; p++) for (let c = 0; c < channels; c++) out[p * channels + c] = acc[p * channels + c]! / total[p]!;
  return { data: out, width, height, channels };
}
