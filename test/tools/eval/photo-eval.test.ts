// The pieces of the photo evaluation: 8-bit noise, colour shift, centre crops, and baseline tuning against a fine grid.
import { describe, expect, it } from 'vitest';
import { psnr } from '../../../runtime-common/metrics.js';
import { Rng } from '../../../runtime-common/rng.js';
import { gaussianBlur } from '../../../tools/eval/baselines.js';
import { addPhotoNoise, centreCrop } from '../../../tools/eval/photo-eval.js';
import { BASELINE_NAMES, BASELINES, clipImage, tuneBaseline } from '../../../tools/eval/tune-baselines.js';
import { smoothImage, withNoise } from './classical/test-images.js';

describe('photo evaluation: bad calls', () => {
  it('tuning needs as many clean as noisy images, at least one', () => {
    const image = smoothImage(8, 8, 1);
    expect(() => tuneBaseline(BASELINES.blur, [image], [], 0.1)).toThrow('Expected as many clean as noisy tuning images (1), at least one for clean but received 0');
    expect(() => tuneBaseline(BASELINES.blur, [], [], 0.1)).toThrow('at least one for clean but received 0');
  });
});

describe('photo evaluation', () => {
  it('noise is clip(x + sigma/255 N(0, 1), 0, 1) rounded to 8 bits, from the seeded stream', () => {
    const image = { data: Float32Array.from({ length: 300 }, (_, i) => (i % 256) / 255), width: 10, height: 10, channels: 3 };
    const noisy = addPhotoNoise(image, 25, new Rng(4));
    const rng = new Rng(4);
    noisy.data.forEach((v, i) => {
      expect(v * 255).toBeCloseTo(Math.round(v * 255), 3);
      expect(v).toBe(Math.fround(Math.round(Math.min(1, Math.max(0, image.data[i]! + (25 / 255) * rng.nextNormal())) * 255) / 255));
    });
    expect(addPhotoNoise(image, 0, new Rng(1)).data).toEqual(image.data.map((v) => Math.round(v * 255) / 255));
  });

  it('centre crops: the middle square, or the whole side when it is smaller', () => {
    const image = { data: Float32Array.from({ length: 7 * 4 }, (_, i) => i), width: 7, height: 4, channels: 1 };
    expect(Array.from(centreCrop(image, 2).data)).toEqual([9, 10, 16, 17]);
    const tall = centreCrop(image, 5);
    expect([tall.width, tall.height]).toEqual([5, 4]);
    expect(Array.from(tall.data.subarray(0, 5))).toEqual([1, 2, 3, 4, 5]);
  });

  it('tuning the blur finds the sigma of a fine grid (to its tolerance), and every baseline tunes to above the noisy input', () => {
    const clean = [smoothImage(32, 28, 1), smoothImage(28, 32, 1)];
    const noisy = clean.map((c, i) => withNoise(c, 0.1, i));
    const mean = (sigma: number) => clean.reduce((sum, c, i) => sum + psnr(clipImage(gaussianBlur(noisy[i]!, sigma)).data, c.data), 0) / clean.length;
    let grid = { sigma: 0, value: -Infinity };
    for (let s = 0.3; s <= 5; s += 0.005) if (mean(s) > grid.value) grid = { sigma: s, value: mean(s) };
    const tuned = tuneBaseline(BASELINES.blur, noisy, clean, 0.1);
    expect(Math.abs(Math.log(tuned.params.sigma! / grid.sigma))).toBeLessThan(0.05);
    expect(tuned.psnr).toBeGreaterThan(grid.value - 0.01);
    const input = clean.reduce((sum, c, i) => sum + psnr(noisy[i]!.data, c.data), 0) / clean.length;
    for (const name of BASELINE_NAMES) expect(tuneBaseline(BASELINES[name], noisy, clean, 0.1).psnr, name).toBeGreaterThan(input + 3);
  });
});
