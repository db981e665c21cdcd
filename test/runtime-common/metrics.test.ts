// Metrics: MSE, PSNR and SSIM against values worked out by hand and a brute-force SSIM.
import { describe, expect, it } from 'vitest';
import { colourShift, meanPsnr, mse, psnr, psnrFromMse, ssim } from '../../runtime-common/metrics.js';
import { Rng } from '../../runtime-common/rng.js';

describe('metrics: bad calls', () => {
  it('rejects arrays of different or zero length', () => {
    expect(() => mse([1, 2], [1])).toThrow('Expected two non-empty arrays of the same length (2) for reference but received 1');
    expect(() => psnr([], [])).toThrow(/for reference but received 0/);
  });

  it('rejects an image size that does not divide the batch', () => {
    expect(() => meanPsnr([0, 0, 0], [0, 0, 0], 2)).toThrow('Expected a divisor of 3 for imageSize but received 2');
  });
});

describe('metrics', () => {
  it('computes MSE and PSNR by hand', () => {
    // differences 0.1, -0.1, 0, 0 -> MSE (0.01 + 0.01) / 4 = 0.005 -> PSNR 10 log10(1 / 0.005) = 23.0103 dB
    expect(mse([0.1, 0.5, 1, 0], [0.2, 0.4, 1, 0])).toBeCloseTo(0.005, 12);
    expect(psnr([0.1, 0.5, 1, 0], [0.2, 0.4, 1, 0])).toBeCloseTo(23.0103, 4);
    // 8-bit peak: MSE 1 -> 48.1308 dB
    expect(psnrFromMse(1, 255)).toBeCloseTo(48.1308, 4);
    expect(psnr([1, 2], [1, 2])).toBe(Infinity);
  });

  it('averages per-image PSNR, capping identical images at 100 dB', () => {
    // image 1: MSE 0.01 -> 20 dB; image 2: MSE 0.0001 -> 40 dB; image 3 identical -> 100 dB
    const a = [0.1, 0.1, 0.01, 0.01, 0.5, 0.5];
    const b = [0, 0, 0, 0, 0.5, 0.5];
    expect(meanPsnr(a, b, 2)).toBeCloseTo((20 + 40 + 100) / 3, 10);
  });
});

// SSIM's 1-D Gaussian taps worked out by hand: exp(-k^2 / 4.5) for k = 0..5 is 1, 0.800737, 0.411112, 0.135335,
// 0.028566, 0.003866; their sum over k = -5..5 is 3.759232, so the centre tap is 0.266012 and the centre of the
// 11x11 window weighs 0.266012^2 = 0.070762.
const CENTRE_WEIGHT = 0.070762;

/** SSIM straight from the definition: for every 11x11 window, weighted means, variances and covariance. */
function bruteForceSsim(a: number[], b: number[], width: number, height: number, channels: number, peak = 1): number {
  const g = Array.from({ length: 11 }, (_, i) => Math.exp(-((i - 5) ** 2) / 4.5));
  const s = g.reduce((x, y) => x + y, 0);
  const c1 = (0.01 * peak) ** 2;
  const c2 = (0.03 * peak) ** 2;
  let total = 0;
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    let count = 0;
    for (let y0 = 0; y0 + 11 <= height; y0++) {
      for (let x0 = 0; x0 + 11 <= width; x0++) {
        let mx = 0, my = 0;
        for (let i = 0; i < 11; i++) for (let j = 0; j < 11; j++) {
          const w = (g[i]! * g[j]!) / (s * s);
          mx += w * a[((y0 + i) * width + x0 + j) * channels + c]!;
          my += w * b[((y0 + i) * width + x0 + j) * channels + c]!;
        }
        let vx = 0, vy = 0, cov = 0;
        for (let i = 0; i < 11; i++) for (let j = 0; j < 11; j++) {
          const w = (g[i]! * g[j]!) / (s * s);
          const dx = a[((y0 + i) * width + x0 + j) * channels + c]! - mx;
          const dy = b[((y0 + i) * width + x0 + j) * channels + c]! - my;
          vx += w * dx * dx;
          vy += w * dy * dy;
          cov += w * dx * dy;
        }
        sum += ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
        count++;
      }
    }
    total += sum / count;
  }
  return total / channels;
}

describe('ssim: bad calls', () => {
  it('rejects images smaller than the 11x11 window, mismatched sizes and bad options', () => {
    expect(() => ssim(new Array(100).fill(0), new Array(100).fill(0), 10, 10)).toThrow('Expected an integer >= 11 for width but received 10');
    expect(() => ssim(new Array(121).fill(0), new Array(120).fill(0), 11, 11)).toThrow(/for reference but received 120/);
    expect(() => ssim(new Array(121).fill(0), new Array(121).fill(0), 11, 12)).toThrow('Expected 132 values (11x12x1) for image but received 121');
    expect(() => ssim(new Array(121).fill(0), new Array(121).fill(0), 11, 11, { peak: 0 })).toThrow('Expected a finite number > 0 for peak but received 0');
  });
});

describe('ssim', () => {
  it('is 1 for identical images', () => {
    const a = Array.from({ length: 15 * 13 }, (_, i) => (i * 37) % 101 / 100);
    expect(ssim(a, a, 15, 13)).toBeCloseTo(1, 12);
  });

  it('matches hand-worked values on 11x11 images (one window)', () => {
    // Constant 0.2 against constant 0.4: no variance, so SSIM = (2 * 0.2 * 0.4 + C1) / (0.2^2 + 0.4^2 + C1)
    // with C1 = 0.0001: 0.1601 / 0.2001 = 0.800100.
    expect(ssim(new Array(121).fill(0.2), new Array(121).fill(0.4), 11, 11)).toBeCloseTo(0.1601 / 0.2001, 6);
    // Constant 0.5 against 0.5 with the centre raised by d = 0.5: mu_y = 0.5 + w d, var_y = w (1 - w) d^2 with the
    // centre weight w = 0.070762, no covariance: mu_y = 0.535381, var_y = 0.016441, C2 = 0.0009, so
    // SSIM = (2 * 0.5 * 0.535381 + C1) / (0.25 + 0.286633 + C1) * C2 / (0.016441 + C2) = 0.997630 * 0.051900 = 0.051777.
    const b = new Array(121).fill(0.5);
    b[60] = 1;
    const muY = 0.5 + CENTRE_WEIGHT * 0.5;
    const varY = CENTRE_WEIGHT * (1 - CENTRE_WEIGHT) * 0.25;
    const byHand = ((2 * 0.5 * muY + 0.0001) / (0.25 + muY * muY + 0.0001)) * (0.0009 / (varY + 0.0009));
    expect(byHand).toBeCloseTo(0.051777, 4);
    expect(ssim(new Array(121).fill(0.5), b, 11, 11)).toBeCloseTo(byHand, 5);
  });

  it('matches a brute-force loop over every window, with channels and a peak of 255', () => {
    const rng = new Rng(7);
    const next = () => rng.nextFloat();
    const width = 19, height = 14, channels = 2;
    const a = Array.from({ length: width * height * channels }, () => next());
    const b = a.map((v) => Math.min(1, Math.max(0, v + (next() - 0.5) * 0.3)));
    expect(ssim(a, b, width, height, { channels })).toBeCloseTo(bruteForceSsim(a, b, width, height, channels), 10);
    const a255 = a.map((v) => v * 255);
    const b255 = b.map((v) => v * 255);
    expect(ssim(a255, b255, width, height, { channels, peak: 255 })).toBeCloseTo(bruteForceSsim(a, b, width, height, channels), 10);
  });
});

describe('colourShift', () => {
  it('is the largest per-channel mean difference in 8-bit levels', () => {
    // Two RGB pixels: R differs by +0.01 and +0.03 (mean 0.02 = 5.1 levels), G by -0.04 and 0 (-5.1), B by 0.
    const ref = new Float32Array([0.5, 0.5, 0.5, 0.2, 0.2, 0.2]);
    const out = new Float32Array([0.51, 0.46, 0.5, 0.23, 0.2, 0.2]);
    expect(colourShift(out, ref, 3)).toBeCloseTo(5.1, 4);
    expect(colourShift(ref, ref, 3)).toBe(0);
    // Opposite errors within one channel cancel: a shift is a change of the mean, not an error.
    expect(colourShift(new Float32Array([0.625, 0.375]), new Float32Array([0.5, 0.5]), 1)).toBe(0);
    // Interleaved RGB: channel means move by +1, +0.5 and -3 levels.
    const rgbClean = Float32Array.from([0.1, 0.2, 0.3, 0.5, 0.6, 0.7]);
    const rgbOut = Float32Array.from([0.1 + 2 / 255, 0.2, 0.3 - 3 / 255, 0.5, 0.6 + 1 / 255, 0.7 - 3 / 255]);
    expect(colourShift(rgbOut, rgbClean, 3)).toBeCloseTo(3, 4);
    expect(colourShift(rgbClean, rgbClean, 3)).toBe(0);
    // 8-bit samples with peak 255: a mean change of 2 levels in the one channel.
    expect(colourShift(new Uint8Array([10, 20]), new Uint8Array([8, 18]), 1, 255)).toBe(2);
  });
});
