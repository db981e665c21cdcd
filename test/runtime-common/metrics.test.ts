// Metrics: MSE and PSNR against values worked out by hand.
import { describe, expect, it } from 'vitest';
import { meanPsnr, mse, psnr, psnrFromMse } from '../../runtime-common/metrics.js';

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
