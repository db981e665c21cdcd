// Image quality metrics shared by training, evaluation and both runtimes: MSE and PSNR.
import { check } from './validate.js';

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
