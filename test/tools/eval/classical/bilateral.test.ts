// The bilateral filter against a direct double loop over the circular window, on grey, two- and three-channel images.
import { describe, expect, it } from 'vitest';
import { psnr } from '../../../../runtime-common/metrics.js';
import type { FloatImage } from '../../../../tools/eval/baselines.js';
import { bilateralFilter, bilateralRadius } from '../../../../tools/eval/classical/bilateral.js';
import { maxDifference, randomImage, reflectedAt, smoothImage, withNoise } from './test-images.js';

/** The filter as its definition reads: every pixel, every neighbour in the disc, Math.exp for both weights. */
function naiveBilateral(image: FloatImage, spatialSigma: number, rangeSigma: number, radius: number, distance: 'l1' | 'l2'): Float32Array {
  const { width, height, channels } = image;
  const out = new Float32Array(image.data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const sums = new Array<number>(channels).fill(0);
      let total = 0;
      for (let dy = -radius; dy <= radius; dy++) {
        for (let dx = -radius; dx <= radius; dx++) {
          if (dx * dx + dy * dy > radius * radius) continue;
          let d1 = 0;
          let d2 = 0;
          for (let c = 0; c < channels; c++) {
            const d = reflectedAt(image, x + dx, y + dy, c) - reflectedAt(image, x, y, c);
            d1 += Math.abs(d);
            d2 += d * d;
          }
          const t = (distance === 'l2' ? d2 : d1 * d1) / (2 * rangeSigma * rangeSigma);
          if (t >= 24) continue;
          const w = Math.exp(-(dx * dx + dy * dy) / (2 * spatialSigma * spatialSigma)) * Math.exp(-t);
          for (let c = 0; c < channels; c++) sums[c] += w * reflectedAt(image, x + dx, y + dy, c);
          total += w;
        }
      }
      for (let c = 0; c < channels; c++) out[(y * width + x) * channels + c] = sums[c]! / total;
    }
  }
  return out;
}

describe('bilateralFilter: bad calls', () => {
  const image = randomImage(5, 4, 1, 1);
  it.each([
    [{ spatialSigma: 0, rangeSigma: 0.1 }, 'Expected a finite number > 0 and <= 100 for spatialSigma but received 0'],
    [{ spatialSigma: 1, rangeSigma: Number.NaN }, 'Expected a finite number > 0 for rangeSigma but received NaN'],
    [{ spatialSigma: 1, rangeSigma: 0.1, radius: 0 }, 'Expected an integer >= 1 and <= 200 for radius but received 0'],
    [{ spatialSigma: 1, rangeSigma: 0.1, radius: 1.5 }, 'Expected an integer >= 1 and <= 200 for radius but received 1.5'],
    [{ spatialSigma: 1, rangeSigma: 0.1, distance: 'l3' as 'l1' }, 'Expected one of "l2", "l1" for distance but received "l3"'],
  ])('%j', (options, message) => {
    expect(() => bilateralFilter(image, options)).toThrow(message);
  });
  it('rejects an image whose data does not match its size', () => {
    expect(() => bilateralFilter({ ...image, width: 6 }, { spatialSigma: 1, rangeSigma: 0.1 })).toThrow('Expected 24 samples (6x4x1) for image.data but received 20');
    expect(() => bilateralFilter({ ...image, channels: 5 }, { spatialSigma: 1, rangeSigma: 0.1 })).toThrow('Expected an integer from 1 to 4 for image.channels but received 5');
  });
});

describe('bilateralFilter', () => {
  it('the window radius defaults to round(2 spatialSigma), at least 1', () => {
    expect(bilateralRadius({ spatialSigma: 1.3, rangeSigma: 1 })).toBe(3);
    expect(bilateralRadius({ spatialSigma: 0.2, rangeSigma: 1 })).toBe(1);
    expect(bilateralRadius({ spatialSigma: 2, rangeSigma: 1, radius: 5 })).toBe(5);
  });

  it.each([
    [9, 7, 1, 1.2, 0.15, undefined, 'l2'],
    [8, 6, 3, 1, 0.3, 2, 'l2'],
    [8, 6, 3, 1.5, 0.2, undefined, 'l1'],
    [5, 9, 2, 0.8, 0.25, 4, 'l2'],
    [3, 2, 4, 2, 0.5, 3, 'l1'],
  ] as const)('equals the direct double loop: %ix%ix%i, spatial %f, range %f, radius %s, %s', (w, h, c, spatialSigma, rangeSigma, radius, distance) => {
    const image = randomImage(w, h, c, w * h * c);
    const out = bilateralFilter(image, { spatialSigma, rangeSigma, radius, distance });
    const reference = naiveBilateral(image, spatialSigma, rangeSigma, radius ?? Math.max(1, Math.round(2 * spatialSigma)), distance);
    expect(maxDifference(out.data, reference)).toBeLessThan(1e-5);
  });

  it('keeps a constant image and a sharp edge whose step is far above the range sigma', () => {
    const flat = { data: new Float32Array(48).fill(0.3), width: 4, height: 4, channels: 3 };
    for (const v of bilateralFilter(flat, { spatialSigma: 2, rangeSigma: 0.1 }).data) expect(v).toBeCloseTo(0.3, 6);
    const edge = { data: Float32Array.from({ length: 64 }, (_, i) => (i % 8 < 4 ? 0.1 : 0.9)), width: 8, height: 8, channels: 1 };
    expect(maxDifference(bilateralFilter(edge, { spatialSigma: 2, rangeSigma: 0.05 }).data, edge.data)).toBeLessThan(1e-9);
  });

  it('denoises: the PSNR of a noisy smooth image increases (grey and RGB)', () => {
    for (const channels of [1, 3]) {
      const clean = smoothImage(48, 40, channels);
      const noisy = withNoise(clean, 0.1, channels);
      const out = bilateralFilter(noisy, { spatialSigma: 1.5, rangeSigma: 0.25 });
      expect(psnr(out.data, clean.data), `${channels} channels`).toBeGreaterThan(psnr(noisy.data, clean.data) + 4);
    }
  });
});
