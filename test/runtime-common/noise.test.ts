// Demo noise: seeded, Gaussian with the asked standard deviation, clipped, alpha untouched.
import { describe, expect, it } from 'vitest';
import { addGaussianNoise, seededNormal, seededUniform } from '../../runtime-common/noise.js';

describe('noise: bad calls', () => {
  it('rejects negative factors and bad seeds', () => {
    const image = { data: new Uint8Array(4), width: 2, height: 2, channels: 1 };
    expect(() => addGaussianNoise(image, -0.1, 1)).toThrow('Expected a finite number >= 0 for noise factor but received -0.1');
    expect(() => addGaussianNoise(image, 0.1, 1.5)).toThrow('Expected an integer >= 0 and <= 4294967295 for seed but received 1.5');
  });
});

describe('noise', () => {
  it('is reproducible from its seed and differs between seeds', () => {
    const a = seededUniform(42);
    const b = seededUniform(42);
    const c = seededUniform(43);
    const xs = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c())).not.toEqual(xs);
    for (const x of xs) expect(x >= 0 && x < 1).toBe(true);
  });

  it('draws standard normal numbers (mean 0, variance 1 over 200,000 draws)', () => {
    const normal = seededNormal(7);
    let sum = 0;
    let squares = 0;
    const n = 200_000;
    for (let i = 0; i < n; i++) {
      const v = normal();
      sum += v;
      squares += v * v;
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.01);
    expect(Math.abs(squares / n - 1)).toBeLessThan(0.01);
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
