// Total-variation denoising (Rudin-Osher-Fatemi) by Chambolle's projection algorithm, as skimage's denoise_tv_chambolle, with colour channels coupled or apart.
import { checkBoolean, checkInteger, checkNumber } from 'onnx-denoiser-common';
import { checkFloatImage, type FloatImage } from '../baselines.js';

/** Parameters of {@link totalVariation}. */
export interface TotalVariationOptions {
  /** The ROF weight lambda in min 1/2 |u - f|^2 + lambda TV(u): larger is smoother (> 0; skimage's `weight`). */
  weight: number;
  /** Most iterations (default 200, skimage's `max_num_iter`). */
  iterations?: number;
  /** Stop when the energy changes by less than eps times the first iteration's (default 2e-4, skimage's `eps`; 0 runs every iteration). */
  eps?: number;
  /**
   * Colour images: true (default) couples the channels, TV(u) = sum over pixels of the norm of all channels'
   * gradients together (vectorial TV, which keeps colour edges aligned); false denoises each channel on its own,
   * as skimage's denoise_tv_chambolle with channel_axis does.
   */
  coupled?: boolean;
}

/** What {@link totalVariation} did besides the image: the iterations it ran per group of channels. */
export interface TotalVariationResult {
  image: FloatImage;
  iterations: number[];
}

/**
 * One dual step in place: p <- (p - tau grad u) / (1 + (tau / weight) |grad u|), the norm taken over all planes'
 * gradients at a pixel (forward differences, 0 past the last row and column); returns the total variation of u.
 * Written out for one and three planes, the cases that run on photos.
 */
function updateDual(out: Float64Array[], py: Float64Array[], px: Float64Array[], width: number, height: number, tau: number, weight: number): number {
  const k = out.length;
  const scale = tau / weight;
  let tv = 0;
  if (k === 1) {
    const u = out[0]!;
    const qy = py[0]!;
    const qx = px[0]!;
    for (let y = 0; y < height; y++) {
      const row = y * width;
      const down = y < height - 1 ? width : 0;
      for (let x = 0; x < width; x++) {
        const at = row + x;
        const v = u[at]!;
        const gy = u[at + down]! - v;
        const gx = x < width - 1 ? u[at + 1]! - v : 0;
        const norm = Math.sqrt(gy * gy + gx * gx);
        tv += norm;
        const inverse = 1 / (1 + norm * scale);
        qy[at] = (qy[at]! - tau * gy) * inverse;
        qx[at] = (qx[at]! - tau * gx) * inverse;
      }
    }
    return tv;
  }
  if (k === 3) {
    const [u0, u1, u2] = out as [Float64Array, Float64Array, Float64Array];
    const [y0, y1, y2] = py as [Float64Array, Float64Array, Float64Array];
    const [x0, x1, x2] = px as [Float64Array, Float64Array, Float64Array];
    for (let y = 0; y < height; y++) {
      const row = y * width;
      const down = y < height - 1 ? width : 0;
      for (let x = 0; x < width; x++) {
        const at = row + x;
        const right = x < width - 1 ? 1 : 0;
        const a = u0[at]!;
        const b = u1[at]!;
        const c = u2[at]!;
        const gy0 = u0[at + down]! - a;
        const gy1 = u1[at + down]! - b;
        const gy2 = u2[at + down]! - c;
        const gx0 = u0[at + right]! - a;
        const gx1 = u1[at + right]! - b;
        const gx2 = u2[at + right]! - c;
        const norm = Math.sqrt(gy0 * gy0 + gy1 * gy1 + gy2 * gy2 + gx0 * gx0 + gx1 * gx1 + gx2 * gx2);
        tv += norm;
        const inverse = 1 / (1 + norm * scale);
        y0[at] = (y0[at]! - tau * gy0) * inverse;
        y1[at] = (y1[at]! - tau * gy1) * inverse;
        y2[at] = (y2[at]! - tau * gy2) * inverse;
        x0[at] = (x0[at]! - tau * gx0) * inverse;
        x1[at] = (x1[at]! - tau * gx1) * inverse;
        x2[at] = (x2[at]! - tau * gx2) * inverse;
      }
    }
    return tv;
  }
  const gy = new Float64Array(k);
  const gx = new Float64Array(k);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    const down = y < height - 1 ? width : 0;
    for (let x = 0; x < width; x++) {
      const at = row + x;
      const right = x < width - 1 ? 1 : 0;
      let norm2 = 0;
      for (let c = 0; c < k; c++) {
        const u = out[c]!;
        gy[c] = u[at + down]! - u[at]!;
        gx[c] = u[at + right]! - u[at]!;
        norm2 += gy[c]! * gy[c]! + gx[c]! * gx[c]!;
      }
      const norm = Math.sqrt(norm2);
      tv += norm;
      const inverse = 1 / (1 + norm * scale);
      for (let c = 0; c < k; c++) {
        py[c]![at] = (py[c]![at]! - tau * gy[c]!) * inverse;
        px[c]![at] = (px[c]![at]! - tau * gx[c]!) * inverse;
      }
    }
  }
  return tv;
}

/**
 * Chambolle's algorithm on `planes` (each width x height, denoised together with one TV norm over all of them):
 * the dual field p is updated by p <- (p - tau grad u) / (1 + tau |grad u| / weight) with tau = 1/4 and
 * u = f + d, d the negative divergence of p (forward differences, Neumann borders), until the energy settles.
 */
function chambolle(planes: Float64Array[], width: number, height: number, weight: number, iterations: number, eps: number): { out: Float64Array[]; iterations: number } {
  const n = width * height;
  const k = planes.length;
  const py = planes.map(() => new Float64Array(n));
  const px = planes.map(() => new Float64Array(n));
  const out = planes.map((p) => Float64Array.from(p));
  const tau = 0.25;
  let first = 0;
  let previous = 0;
  let i = 0;
  while (i < iterations) {
    let energy = 0;
    if (i > 0) {
      for (let c = 0; c < k; c++) {
        const f = planes[c]!;
        const u = out[c]!;
        const qy = py[c]!;
        const qx = px[c]!;
        for (let y = 0; y < height; y++) {
          const row = y * width;
          for (let x = 0; x < width; x++) {
            const at = row + x;
            let d = -(qy[at]! + qx[at]!);
            if (y > 0) d += qy[at - width]!;
            if (x > 0) d += qx[at - 1]!;
            u[at] = f[at]! + d;
            energy += d * d;
          }
        }
      }
    }
    const tv = updateDual(out, py, px, width, height, tau, weight);
    energy = (energy + weight * tv) / (n * k);
    if (i === 0) {
      first = energy;
      previous = energy;
    } else if (Math.abs(previous - energy) < eps * first) {
      break;
    } else {
      previous = energy;
    }
    i++;
  }
  return { out, iterations: Math.min(i + 1, iterations) };
}

/**
 * Total-variation denoising with a per-call report of iterations; see {@link totalVariation}.
 */
export function totalVariationDetailed(image: FloatImage, options: TotalVariationOptions): TotalVariationResult {
  checkFloatImage(image);
  const weight = checkNumber(options.weight, 'weight', { above: 0 });
  const iterations = checkInteger(options.iterations ?? 200, 'iterations', { min: 1, max: 100_000 });
  const eps = checkNumber(options.eps ?? 2e-4, 'eps', { min: 0 });
  const coupled = checkBoolean(options.coupled ?? true, 'coupled');
  const { width, height, channels, data } = image;
  const n = width * height;
  const planes = Array.from({ length: channels }, (_, c) => {
    const plane = new Float64Array(n);
    for (let i = 0; i < n; i++) plane[i] = data[i * channels + c]!;
    return plane;
  });
  const groups = coupled ? [planes] : planes.map((p) => [p]);
  const out = new Float32Array(data.length);
  const counts: number[] = [];
  let c0 = 0;
  for (const group of groups) {
    const result = chambolle(group, width, height, weight, iterations, eps);
    counts.push(result.iterations);
    result.out.forEach((plane, j) => {
      for (let i = 0; i < n; i++) out[i * channels + c0 + j] = plane[i]!;
    });
    c0 += group.length;
  }
  return { image: { data: out, width, height, channels }, iterations: counts };
}

/**
 * Total-variation denoising (Rudin, Osher and Fatemi 1992) by Chambolle's projection algorithm (2004): the
 * minimiser of 1/2 |u - f|^2 + weight TV(u), TV the isotropic total variation with forward differences. The
 * iteration, step (1/4), energy and stopping rule are skimage's `denoise_tv_chambolle`. A new image.
 */
export function totalVariation(image: FloatImage, options: TotalVariationOptions): FloatImage {
  return totalVariationDetailed(image, options).image;
}
