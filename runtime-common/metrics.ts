// Image quality metrics shared by training, evaluation and both runtimes: MSE, PSNR and SSIM.
import { check, checkInteger, checkNumber } from './validate.js';

function checkPair(a: ArrayLike<number>, b: ArrayLike<number>): void {
  check(a.length === b.length && a.length > 0, `two non-empty arrays of the same length (${a.length})`, 'reference', b.length);
}

/** Mean squared error of two equally long arrays. */
export function mse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkPair(a, b);
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    sum += d * d;
  }
  return sum / a.length;
}

/**
 * Colour shift: the largest |mean(output_c) - mean(reference_c)| over the `channels` interleaved channels, in
 * 8-bit levels (a change of the mean, not an error: opposite errors within a channel cancel). Values in [0, peak].
 */
export function colourShift(output: ArrayLike<number>, reference: ArrayLike<number>, channels: number, peak = 1): number {
  let worst = 0;
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    for (let i = c; i < output.length; i += channels) sum += output[i]! - reference[i]!;
    worst = Math.max(worst, Math.abs(sum / (output.length / channels)));
  }
  return (worst / peak) * 255;
}

/** PSNR in dB for a mean squared error and a peak value (1 for images in [0, 1]); Infinity when identical. */
export function psnrFromMse(meanSquaredError: number, peak = 1): number {
  return meanSquaredError === 0 ? Infinity : 10 * Math.log10((peak * peak) / meanSquaredError);
}

/** PSNR in dB between two images with values in [0, peak]. */
export function psnr(a: ArrayLike<number>, b: ArrayLike<number>, peak = 1): number {
  return psnrFromMse(mse(a, b), peak);
}

/**
 * Mean of per-image PSNRs over a batch laid out image after image (`imageSize` values each), the usual way
 * denoising papers report PSNR over a test set. Identical images count as 100 dB so the mean stays finite.
 */
export function meanPsnr(a: ArrayLike<number>, b: ArrayLike<number>, imageSize: number, peak = 1): number {
  checkPair(a, b);
  check(Number.isInteger(imageSize) && imageSize > 0 && a.length % imageSize === 0, `a divisor of ${a.length}`, 'imageSize', imageSize);
  const count = a.length / imageSize;
  let total = 0;
  for (let n = 0; n < count; n++) {
    let sum = 0;
    for (let i = n * imageSize; i < (n + 1) * imageSize; i++) {
      const d = a[i]! - b[i]!;
      sum += d * d;
    }
    total += Math.min(100, psnrFromMse(sum / imageSize, peak));
  }
  return total / count;
}

/** Options for {@link ssim}. */
export interface SsimOptions {
  /** Interleaved channels per pixel (HWC); SSIM is the mean over channels. Default 1. */
  channels?: number;
  /** The dynamic range L (1 for images in [0, 1], 255 for 8-bit). Default 1. */
  peak?: number;
}

/** SSIM's Gaussian window: 11 taps, sigma 1.5, normalised to sum 1 (the 2-D window is its outer product). */
export const SSIM_WINDOW: readonly number[] = (() => {
  const taps = Array.from({ length: 11 }, (_, i) => Math.exp(-((i - 5) ** 2) / (2 * 1.5 * 1.5)));
  const sum = taps.reduce((a, b) => a + b, 0);
  return Object.freeze(taps.map((t) => t / sum));
})();

/**
 * Structural similarity (Wang et al. 2004) of two images of `width` x `height` pixels: an 11x11 Gaussian window
 * (sigma 1.5), K1 = 0.01, K2 = 0.03, C1 = (K1 L)^2, C2 = (K2 L)^2, averaged over every window position that lies
 * inside the image (no padding, as the reference implementation) and then over channels. Needs at least 11x11
 * pixels. Memory stays at a few rows of the image: the separable window slides down the image.
 */
export function ssim(a: ArrayLike<number>, b: ArrayLike<number>, width: number, height: number, options: SsimOptions = {}): number {
  const channels = checkInteger(options.channels ?? 1, 'channels', { min: 1 });
  const peak = checkNumber(options.peak ?? 1, 'peak', { above: 0 });
  checkInteger(width, 'width', { min: 11 });
  checkInteger(height, 'height', { min: 11 });
  checkPair(a, b);
  check(a.length === width * height * channels, `${width * height * channels} values (${width}x${height}x${channels})`, 'image', a.length);
  const c1 = (0.01 * peak) ** 2;
  const c2 = (0.03 * peak) ** 2;
  const w = SSIM_WINDOW;
  const outWidth = width - 10;
  const outHeight = height - 10;
  // Ring of 11 horizontally filtered rows for each of the five moments: x, y, x^2, y^2, xy.
  const ring = Array.from({ length: 5 }, () => new Float64Array(11 * outWidth));
  let total = 0;
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    for (let y = 0; y < height; y++) {
      const slot = (y % 11) * outWidth;
      const row = y * width;
      for (let x = 0; x < outWidth; x++) {
        let mx = 0, my = 0, xx = 0, yy = 0, xy = 0;
        for (let k = 0; k < 11; k++) {
          const i = (row + x + k) * channels + c;
          const va = a[i]!;
          const vb = b[i]!;
          const g = w[k]!;
          mx += g * va;
          my += g * vb;
          xx += g * va * va;
          yy += g * vb * vb;
          xy += g * va * vb;
        }
        ring[0]![slot + x] = mx;
        ring[1]![slot + x] = my;
        ring[2]![slot + x] = xx;
        ring[3]![slot + x] = yy;
        ring[4]![slot + x] = xy;
      }
      if (y < 10) continue;
      // Rows y-10 .. y are in the ring: filter them vertically for one row of the SSIM map.
      for (let x = 0; x < outWidth; x++) {
        let mx = 0, my = 0, xx = 0, yy = 0, xy = 0;
        for (let k = 0; k < 11; k++) {
          const s = ((y - 10 + k) % 11) * outWidth + x;
          const g = w[k]!;
          mx += g * ring[0]![s]!;
          my += g * ring[1]![s]!;
          xx += g * ring[2]![s]!;
          yy += g * ring[3]![s]!;
          xy += g * ring[4]![s]!;
        }
        const vx = xx - mx * mx;
        const vy = yy - my * my;
        const cov = xy - mx * my;
        sum += ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
      }
    }
    total += sum / (outWidth * outHeight);
  }
  return total / channels;
}
