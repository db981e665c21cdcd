// The one Gaussian noise: bad calls, the raw and clipped distribution, and the demos' pixel-image form (seeded, alpha untouched).
import { describe, expect, it } from 'vitest';
import { addGaussianNoise, gaussianNoise } from '../../runtime-common/noise.js';
import { Rng } from '../../runtime-common/rng.js';

describe('noise: bad calls', () => {
  it('rejects negative factors and bad seeds', () => {
    const image = { data: new Uint8Array(4), width: 2, height: 2, channels: 1 };
    expect(() => addGaussianNoise(image, -0.1, 1)).toThrow('Expected a finite number >= 0 for noise factor but received -0.1');
    expect(() => addGaussianNoise(image, 0.1, 1.5)).toThrow('Expected an integer >= 0 and <= 4294967295 for seed but received 1.5');
  });

  it.each([
    ['a negative factor', () => gaussianNoise(new Float32Array(2), new Float32Array(2), -1, new Rng(1)), 'Expected a finite number >= 0 for noise factor but received -1'],
    ['a plain-array input', () => gaussianNoise([0.5] as unknown as Float32Array, new Float32Array(1), 0.1, new Rng(1)), 'Expected a Float32Array for noise input but received [0.5]'],
    ['a plain-array output', () => gaussianNoise(new Float32Array(1), [0] as unknown as Float32Array, 0.1, new Rng(1)), 'Expected a Float32Array for noise output but received [0]'],
    ['an output of another length', () => gaussianNoise(new Float32Array(3), new Float32Array(2), 0.1, new Rng(1)), "Expected 3 (the input's length) for the noise output length but received 2"],
    ['no Rng', () => gaussianNoise(new Float32Array(1), new Float32Array(1), 0.1, Math.random as unknown as Rng), 'Expected an Rng for rng but received function random'],
  ])('gaussianNoise rejects %s', (_, call, message) => {
    expect(call).toThrow(message);
  });
});

describe('noise', () => {
  it('adds f * N(0, 1) to each value in order from the Rng, unclipped on request, clipped to [0, 1] by default, in place too', () => {
    const n = 100_000;
    const input = new Float32Array(n).fill(0.5);
    const raw = gaussianNoise(input, new Float32Array(n), 0.3, new Rng(11), { clip: false });
    const normals = new Rng(11);
    expect(Array.from(raw.subarray(0, 5))).toEqual(Array.from({ length: 5 }, () => Math.fround(0.5 + 0.3 * normals.nextNormal())));
    let sum = 0;
    let squares = 0;
    for (const v of raw) {
      sum += v - 0.5;
      squares += (v - 0.5) ** 2;
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.003);
    expect(Math.sqrt(squares / n)).toBeCloseTo(0.3, 2);
    expect(raw.some((v) => v < 0 || v > 1)).toBe(true);
    const clipped = gaussianNoise(input, new Float32Array(n), 0.3, new Rng(11));
    expect(clipped.every((v, i) => v === Math.min(1, Math.max(0, raw[i]!)))).toBe(true);
    const inPlace = Float32Array.from(input);
    expect(gaussianNoise(inPlace, inPlace, 0.3, new Rng(11))).toEqual(clipped);
  });

  it('is reproducible from its seed and differs between seeds', () => {
    const image = { data: new Float32Array(64).fill(0.5), width: 8, height: 8, channels: 1 };
    const a = addGaussianNoise(image, 0.2, 42).data;
    expect(addGaussianNoise(image, 0.2, 42).data).toEqual(a);
    expect(addGaussianNoise(image, 0.2, 43).data).not.toEqual(a);
    // The demo noise is the one noise: gaussianNoise on the [0, 1] samples, drawn from new Rng(seed).
    expect(a).toEqual(gaussianNoise(image.data, new Float32Array(64), 0.2, new Rng(42)));
  });

  it('adds noise of standard deviation f to colour, clips, and keeps alpha', () => {
    const count = 100_000;
    const data = new Float32Array(count * 2);
    for (let i = 0; i < count; i++) {
      data[2 * i] = 0.5;
      data[2 * i + 1] = 0.25;
    }
    const noisy = addGaussianNoise({ data, width: count, height: 1, channels: 2 }, 0.1, 3);
    let sum = 0;
    let squares = 0;
    let alphaChanged = 0;
    for (let i = 0; i < count; i++) {
      const d = noisy.data[2 * i]! - 0.5;
      sum += d;
      squares += d * d;
      if (noisy.data[2 * i + 1] !== 0.25) alphaChanged++;
    }
    expect(alphaChanged).toBe(0);
    expect(Math.abs(sum / count)).toBeLessThan(0.002);
    expect(Math.sqrt(squares / count)).toBeCloseTo(0.1, 2);
    const bright = addGaussianNoise({ data: new Uint8Array(1000).fill(255), width: 1000, height: 1, channels: 1 }, 0.5, 1);
    expect(Math.max(...bright.data)).toBe(255);
    expect(bright.data).toBeInstanceOf(Uint8Array);
    expect(addGaussianNoise({ data: new Uint8Array(50).fill(9), width: 50, height: 1, channels: 1 }, 0.2, 5).data).toEqual(addGaussianNoise({ data: new Uint8Array(50).fill(9), width: 50, height: 1, channels: 1 }, 0.2, 5).data);
  });
});
