// Wavelet denoising: orthonormal filters, a Haar transform worked by hand, perfect reconstruction, BayesShrink and the MAD noise estimate.
import { describe, expect, it } from 'vitest';
import { psnr } from '../../../../runtime-common/metrics.js';
import { estimateNoiseSigma, waveletDenoise, waveletForward2d, waveletInverse2d, WAVELETS, type WaveletName } from '../../../../tools/eval/classical/wavelet.js';
import { Rng } from '../../../../runtime-common/rng.js';
import { maxDifference, randomImage, smoothImage, withNoise } from './test-images.js';

const NAMES = Object.keys(WAVELETS) as WaveletName[];

function randomPlane(n: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: n }, () => rng.nextNormal());
}

describe('wavelets: bad calls', () => {
  it('the transform rejects sizes the levels do not divide, unknown wavelets and levels', () => {
    expect(() => waveletForward2d(new Float64Array(48), 12, 4, 3)).toThrow('Expected a positive multiple of 8 (2^levels) for width but received 12');
    expect(() => waveletForward2d(new Float64Array(32), 8, 4, 1, 'db9' as WaveletName)).toThrow('Expected one of "haar", "db2", "db4", "sym4" for wavelet but received "db9"');
    expect(() => waveletInverse2d(new Float64Array(32), 8, 4, 0)).toThrow('Expected an integer >= 1 and <= 16 for levels but received 0');
    expect(() => waveletForward2d(new Float64Array(31), 8, 4, 1)).toThrow('Expected 32 values (8x4) for plane but received 31');
    expect(() => waveletForward2d(new Float32Array(32) as unknown as Float64Array, 8, 4, 1)).toThrow('Expected a Float64Array for plane');
  });
  it('denoising rejects bad options', () => {
    const image = randomImage(8, 8, 3, 1);
    expect(() => waveletDenoise(image, { sigma: -1 })).toThrow('Expected a finite number >= 0 for sigma but received -1');
    expect(() => waveletDenoise(image, { thresholdScale: Number.NaN })).toThrow('Expected a finite number >= 0 for thresholdScale but received NaN');
    expect(() => waveletDenoise(image, { cycleShift: 9 })).toThrow('Expected an integer >= 0 and <= 8 for cycleShift but received 9');
    expect(() => waveletDenoise(image, { colourSpace: 'lab' as 'rgb' })).toThrow('Expected one of "ycbcr", "rgb" for colourSpace but received "lab"');
    expect(() => waveletDenoise(image, { levels: 0 })).toThrow('Expected an integer >= 1 and <= 10 for levels but received 0');
  });
});

describe('wavelets', () => {
  it.each(NAMES)('%s: the filter is orthonormal (sum sqrt 2, unit norm, orthogonal to its even shifts)', (name) => {
    const h = WAVELETS[name];
    expect(h.reduce((a, b) => a + b, 0)).toBeCloseTo(Math.SQRT2, 10);
    for (let shift = 0; shift < h.length; shift += 2) {
      let dot = 0;
      for (let k = 0; k + shift < h.length; k++) dot += h[k]! * h[k + shift]!;
      expect(dot, `shift ${shift}`).toBeCloseTo(shift === 0 ? 1 : 0, 10);
    }
  });

  it('Haar on a 2x2 block, by hand: [[1, 2], [3, 4]] -> approximation 5, details -1 (across), -2 (down), 0 (diagonal)', () => {
    const plane = Float64Array.from([1, 2, 3, 4]);
    waveletForward2d(plane, 2, 2, 1, 'haar');
    expect(maxDifference(plane, [5, -1, -2, 0])).toBeLessThan(1e-12);
  });

  it.each(NAMES)('%s: reconstructs every plane exactly and keeps its energy (sizes 16x8, 24x40, 2x2, 4x12; 1 to 3 levels)', (name) => {
    for (const [w, h, levels] of [[16, 8, 3], [24, 40, 3], [2, 2, 1], [4, 12, 2]] as const) {
      const original = randomPlane(w * h, w * h);
      const plane = Float64Array.from(original);
      waveletForward2d(plane, w, h, levels, name);
      const energy = (p: Float64Array) => p.reduce((a, v) => a + v * v, 0);
      expect(energy(plane) / energy(original), `${w}x${h}`).toBeCloseTo(1, 10);
      waveletInverse2d(plane, w, h, levels, name);
      expect(maxDifference(plane, original), `${w}x${h}`).toBeLessThan(1e-10);
    }
  });

  it('a constant plane has no detail: every coefficient outside the approximation is 0', () => {
    const plane = new Float64Array(16 * 16).fill(0.5);
    waveletForward2d(plane, 16, 16, 2, 'db4');
    for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) if (x >= 4 || y >= 4) expect(Math.abs(plane[y * 16 + x]!)).toBeLessThan(1e-12);
  });

  it('threshold scale 0 gives the image back, in RGB and in YCbCr, with and without cycle spinning', () => {
    const image = randomImage(13, 11, 3, 7);
    for (const colourSpace of ['rgb', 'ycbcr'] as const) {
      for (const cycleShift of [0, 2]) {
        const out = waveletDenoise(image, { sigma: 0.1, thresholdScale: 0, colourSpace, cycleShift });
        expect(maxDifference(out.data, image.data), `${colourSpace}, shift ${cycleShift}`).toBeLessThan(1e-6);
      }
    }
  });

  it('estimates the noise sigma of white Gaussian noise within 10% (MAD of the finest diagonal details)', () => {
    const flat = { data: new Float32Array(64 * 64 * 3).fill(0.5), width: 64, height: 64, channels: 3 };
    const noisy = withNoise(flat, 0.08, 9);
    for (const sigma of estimateNoiseSigma(noisy)) expect(Math.abs(sigma - 0.08)).toBeLessThan(0.008);
    for (const sigma of estimateNoiseSigma(flat)) expect(sigma).toBeLessThan(1e-12);
  });

  it('denoises: the PSNR of a noisy smooth image increases (grey and RGB, known and estimated sigma)', () => {
    for (const channels of [1, 3]) {
      const clean = smoothImage(48, 40, channels);
      const noisy = withNoise(clean, 0.1, channels);
      for (const sigma of [0.1, undefined]) {
        const out = waveletDenoise(noisy, { sigma });
        expect(psnr(out.data, clean.data), `${channels} channels, sigma ${sigma}`).toBeGreaterThan(psnr(noisy.data, clean.data) + 4);
      }
    }
  });
});
