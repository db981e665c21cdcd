// Noise kinds: bad calls, the distributions (gaussian before clipping, salt-pepper fraction, poisson moments), seeds (speed: npm run bench:noise).
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../runtime-common/validate.js';
import { NOISE_KINDS, NOISE_KIND_NAMES, POISSON_EXACT_BELOW, applyNoise, applyNoiseToImages, checkNoiseFactor, checkNoiseKind, parseNoiseFactor, samplePoisson, type NoiseKind } from '../../../tools/data/noise.js';
import { Rng } from '../../../runtime-common/rng.js';

const filled = (n: number, value: number) => new Float32Array(n).fill(value);

function moments(values: Float32Array, minus = 0): { mean: number; variance: number } {
  let s1 = 0;
  let s2 = 0;
  for (const v of values) {
    s1 += v - minus;
    s2 += (v - minus) ** 2;
  }
  const mean = s1 / values.length;
  return { mean, variance: s2 / values.length - mean * mean };
}

describe('noise rejects', () => {
  const x = filled(10, 0.5);
  it.each([
    ['an unknown kind', () => applyNoise('speckle' as NoiseKind, x, x, 0.1, new Rng(1)), /Expected one of "gaussian", "salt-pepper" or "poisson" for noise kind but received "speckle"/],
    ['a negative gaussian factor', () => applyNoise('gaussian', x, x, -0.1, new Rng(1)), /Expected a finite number >= 0 for noise factor \(gaussian noise\) but received -0\.1/],
    ['a salt-pepper factor above 1', () => applyNoise('salt-pepper', x, x, 1.5, new Rng(1)), /Expected a finite number >= 0 and <= 1 for noise factor \(salt-pepper noise\) but received 1\.5/],
    ['a zero poisson factor', () => applyNoise('poisson', x, x, 0, new Rng(1)), /Expected a finite number > 0 for noise factor \(poisson noise\) but received 0/],
    ['a NaN factor', () => applyNoise('gaussian', x, x, Number.NaN, new Rng(1)), /but received NaN/],
    ['an output of another length', () => applyNoise('gaussian', x, new Float32Array(9), 0.1, new Rng(1)), /Expected 10 \(the input's length\) for the noise output length but received 9/],
    ['a plain-array input', () => applyNoise('gaussian', [0.5] as unknown as Float32Array, x, 0.1, new Rng(1)), /Expected a Float32Array for noise input but received \[0\.5\]/],
    ['a missing rng', () => applyNoise('gaussian', x, x, 0.1, undefined as unknown as Rng), /Expected an Rng for rng but received undefined/],
    ['checkNoiseFactor with a flag name', () => checkNoiseFactor('poisson', -1, '--noise-factor'), /for --noise-factor \(poisson noise\) but received -1/],
    ['checkNoiseKind of a number', () => checkNoiseKind(3, '--noise'), /for --noise but received 3/],
  ])('%s', (_, call, pattern) => {
    expect(call).toThrow(ValidationError);
    expect(call).toThrow(pattern);
  });
});

describe('noise kinds', () => {
  it('are data: a frozen table with a description and default factor each', () => {
    expect(NOISE_KIND_NAMES).toEqual(['gaussian', 'salt-pepper', 'poisson']);
    expect(Object.isFrozen(NOISE_KINDS)).toBe(true);
    for (const name of NOISE_KIND_NAMES) {
      expect(Object.isFrozen(NOISE_KINDS[name])).toBe(true);
      expect(NOISE_KINDS[name].description.length).toBeGreaterThan(10);
      expect(checkNoiseFactor(name, NOISE_KINDS[name].defaultFactor)).toBe(NOISE_KINDS[name].defaultFactor);
    }
    expect(NOISE_KINDS.gaussian.defaultFactor).toBe(0.4);
  });

  it('gaussian: x + f*N(0,1) has mean x and std f before clipping, and clipping is clamp of the same draws', () => {
    const n = 200_000;
    const x = filled(n, 0.5);
    const raw = applyNoise('gaussian', x, new Float32Array(n), 0.3, new Rng(11), { clip: false });
    const { mean, variance } = moments(raw, 0.5);
    expect(Math.abs(mean)).toBeLessThan(0.003);
    expect(Math.sqrt(variance)).toBeCloseTo(0.3, 2);
    expect(raw.some((v) => v < 0 || v > 1)).toBe(true);

    const clipped = applyNoise('gaussian', x, new Float32Array(n), 0.3, new Rng(11));
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(clipped[i] - Math.min(1, Math.max(0, raw[i]))));
    expect(worst).toBeLessThan(1e-7);
    expect(Math.min(...clipped.subarray(0, 50_000))).toBe(0);
    expect(Math.max(...clipped.subarray(0, 50_000))).toBe(1);
  });

  it('same seed gives the same noise, another seed other noise, and in place equals out of place', () => {
    const x = new Float32Array(5000).map((_, i) => (i % 256) / 255);
    for (const kind of NOISE_KIND_NAMES) {
      const a = applyNoise(kind, x, new Float32Array(x.length), 0.3, new Rng(5));
      const b = applyNoise(kind, x, new Float32Array(x.length), 0.3, new Rng(5));
      const c = applyNoise(kind, x, new Float32Array(x.length), 0.3, new Rng(6));
      const inPlace = x.slice();
      applyNoise(kind, inPlace, inPlace, 0.3, new Rng(5));
      expect(b, kind).toEqual(a);
      expect(c, kind).not.toEqual(a);
      expect(inPlace, kind).toEqual(a);
      expect(a.every((v) => v >= 0 && v <= 1), kind).toBe(true);
    }
    const zero = applyNoise('gaussian', x, new Float32Array(x.length), 0, new Rng(5));
    expect(zero).toEqual(x);
  });

  it('salt-pepper: a fraction f of pixels becomes 0 or 1 with equal odds, the rest unchanged', () => {
    const n = 200_000;
    const out = applyNoise('salt-pepper', filled(n, 0.5), new Float32Array(n), 0.2, new Rng(8));
    let zeros = 0;
    let ones = 0;
    let others = 0;
    for (const v of out) {
      if (v === 0) zeros++;
      else if (v === 1) ones++;
      else if (v !== 0.5) others++;
    }
    expect(others).toBe(0);
    expect((zeros + ones) / n).toBeCloseTo(0.2, 2);
    expect(Math.abs(zeros - ones) / n).toBeLessThan(0.005);
    expect(applyNoise('salt-pepper', filled(100, 0.5), new Float32Array(100), 1, new Rng(1)).every((v) => v === 0 || v === 1)).toBe(true);
  });

  it.each([
    ['exact sampling, off the byte levels', 0.3, 0.4],
    ['exact sampling, a byte level (tabulated)', 77 / 255, 0.4],
    ['exact sampling, peak 25', 100 / 255, 0.2],
    [`the normal approximation (mean >= ${POISSON_EXACT_BELOW})`, 0.5, 0.1],
  ])('poisson, %s: mean x and variance x*f^2 before clipping', (_, x, f) => {
    const n = 200_000;
    const input = filled(n, x);
    const xf = input[0];
    const { mean, variance } = moments(applyNoise('poisson', input, new Float32Array(n), f, new Rng(21), { clip: false }));
    expect(Math.abs(mean - xf)).toBeLessThan(0.004);
    expect(Math.abs(variance / (xf * f * f) - 1)).toBeLessThan(0.03);
  });

  it('poisson: zero stays zero, clipping caps at 1, and the tabulated levels match the direct sampler draw for draw', () => {
    const zero = applyNoise('poisson', filled(1000, 0), new Float32Array(1000), 0.4, new Rng(2));
    expect(zero.every((v) => v === 0)).toBe(true);
    const bright = applyNoise('poisson', filled(10_000, 1), new Float32Array(10_000), 0.4, new Rng(2));
    expect(Math.max(...bright)).toBe(1);

    const levels = new Float32Array(256 * 40).map((_, i) => (i % 256) / 255);
    for (const f of [0.4, 0.2, 0.1]) {
      const peak = 1 / (f * f);
      const viaTable = applyNoise('poisson', levels, new Float32Array(levels.length), f, new Rng(4), { clip: false });
      const rng = new Rng(4);
      const direct = levels.map((x) => samplePoisson(x * peak, rng) / peak);
      expect(viaTable).toEqual(direct);
    }
  });
});

describe('blind noise: a factor range drawn per image', () => {
  it('rejects ranges that are not LOW:HIGH with valid factors and LOW <= HIGH', () => {
    expect(() => parseNoiseFactor('gaussian', '0.6:0.1', '--noise-factor')).toThrow('Expected a range LOW:HIGH with LOW <= HIGH for --noise-factor but received "0.6:0.1"');
    expect(() => parseNoiseFactor('gaussian', 'a:0.1', '--noise-factor')).toThrow('for --noise-factor (gaussian noise) but received NaN');
    expect(() => parseNoiseFactor('salt-pepper', '0.1:1.5', '--noise-factor')).toThrow('for --noise-factor (salt-pepper noise) but received 1.5');
    expect(() => parseNoiseFactor('gaussian', '0.1:0.2:0.3', '--noise-factor')).toThrow('for --noise-factor (gaussian noise) but received "0.1:0.2:0.3"');
  });

  it('parses one factor or a range', () => {
    expect(parseNoiseFactor('gaussian', '0.4')).toEqual({ factor: 0.4 });
    expect(parseNoiseFactor('gaussian', 0.2)).toEqual({ factor: 0.2 });
    expect(parseNoiseFactor('gaussian', '0.05:0.6')).toEqual({ factor: 0.05, maxFactor: 0.6 });
    expect(parseNoiseFactor('gaussian', '0.3:0.3')).toEqual({ factor: 0.3 });
  });

  it('gives each image its own level within the range, reproducibly', () => {
    const size = 4000;
    const count = 40;
    const clean = new Float32Array(size * count).fill(0.5);
    const noisy = applyNoiseToImages({ kind: 'gaussian', factor: 0.05, maxFactor: 0.3 }, clean, new Float32Array(clean.length), size, new Rng(3));
    const deviations = Array.from({ length: count }, (_, i) => {
      const part = noisy.subarray(i * size, (i + 1) * size);
      return Math.sqrt(part.reduce((a, v) => a + (v - 0.5) ** 2, 0) / size);
    });
    // Clipping at 0 and 1 is rare at 0.5 +- 0.3 * z: each image's spread is its own factor.
    expect(Math.min(...deviations)).toBeGreaterThan(0.045);
    expect(Math.max(...deviations)).toBeLessThan(0.31);
    expect(Math.max(...deviations) - Math.min(...deviations)).toBeGreaterThan(0.15);
    const again = applyNoiseToImages({ kind: 'gaussian', factor: 0.05, maxFactor: 0.3 }, clean, new Float32Array(clean.length), size, new Rng(3));
    expect(again).toEqual(noisy);
    expect(() => applyNoiseToImages({ kind: 'gaussian', factor: 0.1, maxFactor: 0.2 }, clean.subarray(0, 10), new Float32Array(10), 3, new Rng(1))).toThrow('Expected a whole number of images of 3 values for the noise input length but received 10');
  });

  it('draws light noise more often with a power above 1: f = LOW + (HIGH - LOW) u^p', () => {
    const size = 2000;
    const count = 400;
    const clean = new Float32Array(size * count).fill(0.5);
    // Each image's realized spread is its factor (0.5 +- 0.1 * z never clips); the median factor is (1/2)^p of the range.
    const medianSpread = (power?: number) => {
      const noisy = applyNoiseToImages({ kind: 'gaussian', factor: 0, maxFactor: 0.1, ...(power ? { power } : {}) }, clean, new Float32Array(clean.length), size, new Rng(11));
      const spreads = Array.from({ length: count }, (_, i) => Math.sqrt(noisy.subarray(i * size, (i + 1) * size).reduce((a, v) => a + (v - 0.5) ** 2, 0) / size)).sort((a, b) => a - b);
      return (spreads[count / 2 - 1]! + spreads[count / 2]!) / 2;
    };
    expect(medianSpread()).toBeCloseTo(0.05, 2);
    expect(medianSpread(1)).toBeCloseTo(0.05, 2);
    expect(medianSpread(2)).toBeCloseTo(0.025, 2);
    expect(medianSpread(0.5)).toBeCloseTo(0.1 * 0.5 ** 0.5, 2);
  });

  it('records each image\'s factor when asked (0 for a clean one), without changing the noise drawn', () => {
    const size = 4000;
    const count = 30;
    const clean = new Float32Array(size * count).fill(0.5);
    const settings = { kind: 'gaussian' as const, factor: 0.05, maxFactor: 0.15, cleanShare: 0.3 };
    const factors = new Float32Array(count);
    const noisy = applyNoiseToImages(settings, clean, new Float32Array(clean.length), size, new Rng(4), factors);
    expect(noisy).toEqual(applyNoiseToImages(settings, clean, new Float32Array(clean.length), size, new Rng(4)));
    for (let i = 0; i < count; i++) {
      const spread = Math.sqrt(noisy.subarray(i * size, (i + 1) * size).reduce((a, v) => a + (v - 0.5) ** 2, 0) / size);
      // The recorded factor is the image's spread (within sampling error); clean images are exactly 0 for both.
      if (factors[i] === 0) expect(spread).toBe(0);
      else expect(Math.abs(spread - factors[i]!) / factors[i]!).toBeLessThan(0.05);
    }
    expect(factors.filter((f) => f === 0).length).toBeGreaterThan(3);
    const fixed = new Float32Array(3);
    applyNoiseToImages({ kind: 'gaussian', factor: 0.2 }, new Float32Array(300), new Float32Array(300), 100, new Rng(8), fixed);
    expect(Array.from(fixed)).toEqual(Array.from(new Float32Array([0.2, 0.2, 0.2])));
  });

  it('without a range is the plain noise over the whole batch', () => {
    const clean = new Float32Array(300).fill(0.5);
    const a = applyNoiseToImages({ kind: 'gaussian', factor: 0.2 }, clean, new Float32Array(300), 100, new Rng(8));
    const b = applyNoise('gaussian', clean, new Float32Array(300), 0.2, new Rng(8));
    expect(a).toEqual(b);
  });
});

describe('shareGreyNoise', () => {
  it('gives a grey image (equal channels) one noise for all channels and leaves colour images alone', async () => {
    const { shareGreyNoise } = await import('../../../tools/data/noise.js');
    // Two 2-pixel RGB images: the first grey, the second with one channel off by 1/255.
    const clean = new Float32Array([0.2, 0.2, 0.2, 0.7, 0.7, 0.7, 0.2, 0.2, 0.2, 0.7, 0.7, 0.7 + 1 / 255]);
    const noisy = new Float32Array([0.25, 0.1, 0.3, 0.6, 0.8, 0.75, 0.25, 0.1, 0.3, 0.6, 0.8, 0.75]);
    shareGreyNoise(clean, noisy, 6, 3);
    expect(Array.from(noisy)).toEqual(Array.from(new Float32Array([0.25, 0.25, 0.25, 0.6, 0.6, 0.6, 0.25, 0.1, 0.3, 0.6, 0.8, 0.75])));
    const one = new Float32Array([0.5, 0.4]);
    shareGreyNoise(new Float32Array([0.5, 0.5]), one, 2, 1);
    expect(Array.from(one)).toEqual(Array.from(new Float32Array([0.5, 0.4])));
  });

  it('keeps the noise of images left clean by the clean share, and rounds to 8 bits with quantize', () => {
    // An 8-bit level, so a clean copy survives the rounding unchanged.
    const level = Math.fround(102 / 255);
    const clean = new Float32Array(4000).fill(level);
    const out = new Float32Array(4000);
    applyNoiseToImages({ kind: 'gaussian', factor: 0.1, maxFactor: 0.2, cleanShare: 0.5, quantize: true }, clean, out, 4, new Rng(3));
    let untouched = 0;
    for (let i = 0; i < 1000; i++) if (out.subarray(i * 4, i * 4 + 4).every((v) => v === level)) untouched++;
    // Half of 1000 images, binomial sd 16.
    expect(untouched).toBeGreaterThan(440);
    expect(untouched).toBeLessThan(560);
    for (const v of out) expect(Math.abs(v * 255 - Math.round(v * 255))).toBeLessThan(1e-4);
  });
});
