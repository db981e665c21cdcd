// The classical baselines against brute-force loops: a direct 2-D Gaussian convolution and a sorted 3x3 window.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../../runtime-common/rng.js';
import { checkFloatImage, gaussianBlur, gaussianTaps, goldenMax, median3x3, padReflect, reflectIndex, type FloatImage } from '../../../tools/eval/baselines.js';

function image(width: number, height: number, channels: number, seed: number): FloatImage {
  const rng = new Rng(seed);
  const data = Float32Array.from({ length: width * height * channels }, () => rng.nextFloat());
  return { data, width, height, channels };
}
const at = (img: FloatImage, x: number, y: number, c: number) => {
  const cx = Math.min(img.width - 1, Math.max(0, x));
  const cy = Math.min(img.height - 1, Math.max(0, y));
  return img.data[(cy * img.width + cx) * img.channels + c]!;
};

describe('baselines: bad calls', () => {
  it('rejects a sigma that is not a positive number', () => {
    expect(() => gaussianTaps(0)).toThrow('Expected a finite number > 0 and <= 100 for sigma but received 0');
    expect(() => gaussianBlur(image(4, 4, 1, 1), Number.NaN)).toThrow('for sigma but received NaN');
  });
  it('rejects images whose fields do not fit together', () => {
    expect(() => checkFloatImage(null as unknown as FloatImage)).toThrow('Expected an image with Float32Array data for image but received null');
    expect(() => checkFloatImage({ ...image(4, 4, 1, 1), width: 0 }, 'photo')).toThrow('Expected a width and height of integers >= 1 for photo size but received "0x4"');
    expect(() => checkFloatImage({ ...image(4, 4, 1, 1), channels: 2 })).toThrow('Expected 32 samples (4x4x2) for image.data but received 16');
  });
  it('rejects an empty search interval', () => {
    expect(() => goldenMax((x) => x, 2, 1)).toThrow('Expected hi > lo (2) for hi but received 1');
  });
});

describe('baselines', () => {
  it('Gaussian taps are normalised, symmetric and as wide as 3 sigma', () => {
    const taps = gaussianTaps(1.2);
    expect(taps).toHaveLength(2 * 4 + 1);
    expect(taps.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    for (let i = 0; i < taps.length; i++) expect(taps[i]).toBeCloseTo(taps[taps.length - 1 - i]!, 15);
    expect(taps[4]! / taps[5]!).toBeCloseTo(Math.exp(1 / (2 * 1.44)), 12);
  });

  it('Gaussian blur equals a direct 2-D convolution with replicated edges (odd sizes, 1 and 3 channels)', () => {
    for (const [w, h, c, sigma] of [[7, 5, 1, 0.8], [13, 9, 3, 1.5], [3, 3, 1, 2]] as const) {
      const img = image(w, h, c, w * h);
      const out = gaussianBlur(img, sigma);
      const taps = gaussianTaps(sigma);
      const r = (taps.length - 1) / 2;
      let worst = 0;
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) {
        let sum = 0;
        for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) sum += taps[dy + r]! * taps[dx + r]! * at(img, x + dx, y + dy, k);
        worst = Math.max(worst, Math.abs(sum - out.data[(y * w + x) * c + k]!));
      }
      expect(worst, `${w}x${h}x${c}`).toBeLessThan(1e-6);
    }
  });

  it('a blur keeps a constant image constant', () => {
    const flat = { data: new Float32Array(30).fill(0.25), width: 6, height: 5, channels: 1 };
    for (const v of gaussianBlur(flat, 1).data) expect(v).toBeCloseTo(0.25, 6);
  });

  it('the median equals the middle of the sorted 3x3 window with replicated edges', () => {
    for (const [w, h, c] of [[5, 4, 1], [6, 7, 3], [1, 1, 1]] as const) {
      const img = image(w, h, c, 3);
      const out = median3x3(img);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) {
        const window: number[] = [];
        for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) window.push(at(img, x + dx, y + dy, k));
        window.sort((a, b) => a - b);
        expect(out.data[(y * w + x) * c + k], `${w}x${h}x${c} at ${x},${y},${k}`).toBe(window[4]);
      }
    }
  });

  it('the median removes a lone outlier', () => {
    const img = { data: new Float32Array(25).fill(0.5), width: 5, height: 5, channels: 1 };
    img.data[12] = 1;
    expect(Array.from(median3x3(img).data).every((v) => v === 0.5)).toBe(true);
  });

  it('reflects indices about the edge samples without repeating them, at any distance', () => {
    expect([-3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => reflectIndex(i, 4))).toEqual([3, 2, 1, 0, 1, 2, 3, 2, 1, 0, 1, 2, 3]);
    expect([-2, 0, 5].map((i) => reflectIndex(i, 1))).toEqual([0, 0, 0]);
    const small = { data: Float32Array.from([1, 2, 3, 4, 5, 6]), width: 3, height: 2, channels: 1 };
    const padded = padReflect(small, 2);
    expect([padded.width, padded.height]).toEqual([7, 6]);
    for (let y = 0; y < 6; y++) for (let x = 0; x < 7; x++) expect(padded.data[y * 7 + x]).toBe(small.data[reflectIndex(y - 2, 2) * 3 + reflectIndex(x - 2, 3)]);
  });

  it('golden-section search finds the maximum of a parabola', () => {
    const { x, value } = goldenMax((s) => -((s - 1.37) ** 2) + 4, 0.3, 3, 1e-4);
    expect(x).toBeCloseTo(1.37, 3);
    expect(value).toBeCloseTo(4, 6);
  });
});
