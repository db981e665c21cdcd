// Non-local means, the fast box-filter form, against the triple loop of its definition (pixel, search offset, patch pixel).
import { describe, expect, it } from 'vitest';
import { psnr } from '../../../../runtime-common/metrics.js';
import type { FloatImage } from '../../../../tools/eval/baselines.js';
import { NLM_DISTANCE_CUTOFF, NLM_EXP_STEPS, nonLocalMeans } from '../../../../tools/eval/classical/non-local-means.js';
import { maxDifference, randomImage, reflectedAt, smoothImage, withNoise } from './test-images.js';

/** The weight of a distance as documented: exp(-t), its table's last step falling linearly to 0 at the cutoff. */
function weightOf(t: number): number {
  const last = NLM_DISTANCE_CUTOFF - 1 / NLM_EXP_STEPS;
  if (t >= NLM_DISTANCE_CUTOFF) return 0;
  if (t > last) return Math.exp(-last) * (NLM_DISTANCE_CUTOFF - t) * NLM_EXP_STEPS;
  return Math.exp(-t);
}

/** Non-local means as defined: for every pixel, every offset of the search window, the whole patch compared. */
function naiveNlm(image: FloatImage, h: number, sigma: number, patchSize: number, searchSize: number): Float32Array {
  const { width, height, channels } = image;
  const pr = (patchSize - 1) / 2;
  const sr = (searchSize - 1) / 2;
  const out = new Float32Array(image.data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const sums = new Array<number>(channels).fill(0);
      let total = 0;
      for (let oy = -sr; oy <= sr; oy++) {
        for (let ox = -sr; ox <= sr; ox++) {
          let d2 = 0;
          for (let py = -pr; py <= pr; py++) {
            for (let px = -pr; px <= pr; px++) {
              for (let c = 0; c < channels; c++) d2 += (reflectedAt(image, x + px, y + py, c) - reflectedAt(image, x + ox + px, y + oy + py, c)) ** 2;
            }
          }
          const mean = d2 / (patchSize * patchSize * channels);
          const w = weightOf(Math.max(mean - 2 * sigma * sigma, 0) / (h * h));
          for (let c = 0; c < channels; c++) sums[c] += w * reflectedAt(image, x + ox, y + oy, c);
          total += w;
        }
      }
      for (let c = 0; c < channels; c++) out[(y * width + x) * channels + c] = sums[c]! / total;
    }
  }
  return out;
}

describe('nonLocalMeans: bad calls', () => {
  const image = randomImage(5, 4, 1, 1);
  it.each([
    [{ h: 0 }, 'Expected a finite number > 0 for h but received 0'],
    [{ h: 0.1, sigma: -0.1 }, 'Expected a finite number >= 0 for sigma but received -0.1'],
    [{ h: 0.1, patchSize: 4 }, 'Expected an odd integer for patchSize but received 4'],
    [{ h: 0.1, patchSize: 0 }, 'Expected an integer >= 1 and <= 31 for patchSize but received 0'],
    [{ h: 0.1, searchSize: 20 }, 'Expected an odd integer for searchSize but received 20'],
    [{ h: 0.1, searchSize: 103 }, 'Expected an integer >= 1 and <= 101 for searchSize but received 103'],
  ])('%j', (options, message) => {
    expect(() => nonLocalMeans(image, options)).toThrow(message);
  });
  it('rejects an image whose data does not match its size', () => {
    expect(() => nonLocalMeans({ ...image, height: 3 }, { h: 0.1 })).toThrow('Expected 15 samples (5x3x1) for image.data but received 20');
  });
});

describe('nonLocalMeans', () => {
  it.each([
    [12, 10, 1, 0.2, 0, 3, 5],
    [12, 10, 1, 0.15, 0.1, 5, 7],
    [12, 10, 3, 0.25, 0.05, 3, 7],
    [9, 11, 3, 0.1, 0, 5, 5],
    [7, 6, 2, 0.3, 0.1, 3, 9],
    [4, 3, 1, 0.2, 0.05, 5, 7],
  ] as const)('equals the triple loop: %ix%ix%i, h %f, sigma %f, patch %i, search %i', (w, hgt, c, h, sigma, patchSize, searchSize) => {
    const image = withNoise(smoothImage(w, hgt, c), 0.1, w + c);
    const out = nonLocalMeans(image, { h, sigma, patchSize, searchSize });
    expect(maxDifference(out.data, naiveNlm(image, h, sigma, patchSize, searchSize))).toBeLessThan(1e-5);
  });

  it('a search window of 1 leaves the image as it is; a constant image stays constant', () => {
    const image = randomImage(6, 5, 3, 4);
    expect(maxDifference(nonLocalMeans(image, { h: 0.1, searchSize: 1 }).data, image.data)).toBe(0);
    const flat = { data: new Float32Array(40).fill(0.7), width: 8, height: 5, channels: 1 };
    for (const v of nonLocalMeans(flat, { h: 0.1 }).data) expect(v).toBeCloseTo(0.7, 6);
  });

  it('denoises: the PSNR of a noisy smooth image increases (grey and RGB)', () => {
    for (const channels of [1, 3]) {
      const clean = smoothImage(48, 40, channels);
      const noisy = withNoise(clean, 0.1, channels);
      const out = nonLocalMeans(noisy, { h: 0.08, sigma: 0.1 });
      expect(psnr(out.data, clean.data), `${channels} channels`).toBeGreaterThan(psnr(noisy.data, clean.data) + 4);
    }
  });
});
