// Total-variation denoising: the ROF minimiser worked by hand on two pixels, lower energy than any nearby image, channels coupled or apart.
import { describe, expect, it } from 'vitest';
import { psnr } from '../../../../runtime-common/metrics.js';
import type { FloatImage } from '../../../../tools/eval/baselines.js';
import { totalVariation, totalVariationDetailed } from '../../../../tools/eval/classical/total-variation.js';
import { Rng } from '../../../../runtime-common/rng.js';
import { maxDifference, randomImage, smoothImage, withNoise } from './test-images.js';

/**
 * The energy the algorithm minimises: 1/2 |u - f|^2 + weight TV(u), TV the isotropic total variation with forward
 * differences (0 past the last row and column); coupled: one gradient norm per pixel over all channels.
 */
function energy(u: FloatImage, f: FloatImage, weight: number, coupled: boolean): number {
  const { width, height, channels } = u;
  const at = (x: number, y: number, c: number) => u.data[(y * width + x) * channels + c]!;
  let fidelity = 0;
  for (let i = 0; i < u.data.length; i++) fidelity += (u.data[i]! - f.data[i]!) ** 2 / 2;
  let tv = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let coupledSum = 0;
      for (let c = 0; c < channels; c++) {
        const gy = y < height - 1 ? at(x, y + 1, c) - at(x, y, c) : 0;
        const gx = x < width - 1 ? at(x + 1, y, c) - at(x, y, c) : 0;
        if (coupled) coupledSum += gy * gy + gx * gx;
        else tv += Math.hypot(gy, gx);
      }
      if (coupled) tv += Math.sqrt(coupledSum);
    }
  }
  return fidelity + weight * tv;
}

describe('totalVariation: bad calls', () => {
  const image = randomImage(4, 3, 1, 2);
  it.each([
    [{ weight: 0 }, 'Expected a finite number > 0 for weight but received 0'],
    [{ weight: 0.1, iterations: 0 }, 'Expected an integer >= 1 and <= 100000 for iterations but received 0'],
    [{ weight: 0.1, eps: -1 }, 'Expected a finite number >= 0 for eps but received -1'],
    [{ weight: 0.1, coupled: 'yes' as unknown as boolean }, 'Expected a boolean for coupled but received "yes"'],
  ])('%j', (options, message) => {
    expect(() => totalVariation(image, options)).toThrow(message);
  });
  it('rejects an image that is not a float image', () => {
    expect(() => totalVariation({ ...image, data: new Uint8Array(12) as unknown as Float32Array }, { weight: 0.1 })).toThrow('Expected an image with Float32Array data for image');
  });
});

describe('totalVariation', () => {
  it('two pixels 0 and 1: the minimiser of (u1^2 + (u2 - 1)^2) / 2 + w |u2 - u1| is (w, 1 - w), or both 1/2 once w >= 1/2', () => {
    const pair = { data: Float32Array.from([0, 1]), width: 2, height: 1, channels: 1 };
    for (const [weight, expected] of [[0.1, [0.1, 0.9]], [0.3, [0.3, 0.7]], [0.8, [0.5, 0.5]]] as const) {
      const out = totalVariation(pair, { weight, eps: 0, iterations: 3000 });
      expect(maxDifference(out.data, expected), `weight ${weight}`).toBeLessThan(1e-4);
    }
    // The pair as a column; and in three equal coupled channels, where 3 a^2 + w sqrt 3 (1 - 2a) is least at a = w / sqrt 3.
    const column = totalVariation({ ...pair, width: 1, height: 2 }, { weight: 0.2, eps: 0, iterations: 3000 });
    expect(maxDifference(column.data, [0.2, 0.8])).toBeLessThan(1e-4);
    const rgb = totalVariation({ data: Float32Array.from([0, 0, 0, 1, 1, 1]), width: 2, height: 1, channels: 3 }, { weight: 0.3, eps: 0, iterations: 3000 });
    const move = 0.3 / Math.sqrt(3);
    expect(maxDifference(rgb.data, [move, move, move, 1 - move, 1 - move, 1 - move])).toBeLessThan(1e-4);
  });

  it.each([
    [1, true],
    [3, true],
    [3, false],
  ])('lowers the ROF energy below the input and below random nearby images (%i channels, coupled %s)', (channels, coupled) => {
    const f = randomImage(7, 6, channels, 10 + channels);
    const weight = 0.15;
    const u = totalVariation(f, { weight, coupled, eps: 0, iterations: 2000 });
    const best = energy(u, f, weight, coupled);
    expect(best).toBeLessThan(energy(f, f, weight, coupled));
    const rng = new Rng(5);
    for (let trial = 0; trial < 20; trial++) {
      const nearby = { ...u, data: u.data.map((v) => v + 0.01 * rng.nextNormal()) };
      expect(energy(nearby, f, weight, coupled)).toBeGreaterThan(best - 1e-6);
    }
  });

  it('coupled: false denoises each channel exactly as that channel alone', () => {
    const image = randomImage(6, 5, 3, 21);
    const apart = totalVariationDetailed(image, { weight: 0.2, coupled: false });
    expect(apart.iterations).toHaveLength(3);
    for (let c = 0; c < 3; c++) {
      const plane = { data: Float32Array.from({ length: 30 }, (_, i) => image.data[i * 3 + c]!), width: 6, height: 5, channels: 1 };
      const alone = totalVariation(plane, { weight: 0.2 });
      expect(maxDifference(Float32Array.from({ length: 30 }, (_, i) => apart.image.data[i * 3 + c]!), alone.data)).toBe(0);
    }
  });

  it("stops on skimage's rule: the energy's change under eps times the first iteration's", () => {
    const image = withNoise(smoothImage(24, 20, 1), 0.1, 3);
    const loose = totalVariationDetailed(image, { weight: 0.1, eps: 1e-2 });
    const strict = totalVariationDetailed(image, { weight: 0.1, eps: 1e-6 });
    expect(loose.iterations[0]).toBeLessThan(strict.iterations[0]!);
    expect(totalVariationDetailed(image, { weight: 0.1, eps: 0, iterations: 37 }).iterations).toEqual([37]);
  });

  it('denoises: the PSNR of a noisy smooth image increases (grey and RGB)', () => {
    for (const channels of [1, 3]) {
      const clean = smoothImage(48, 40, channels);
      const noisy = withNoise(clean, 0.1, channels);
      const out = totalVariation(noisy, { weight: 0.08 });
      expect(psnr(out.data, clean.data), `${channels} channels`).toBeGreaterThan(psnr(noisy.data, clean.data) + 4);
    }
  });
});
