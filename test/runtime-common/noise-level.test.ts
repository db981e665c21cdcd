// The noise-level estimator: its eigenvalue solver against hand-worked and determinant checks, its stopping rule by hand, its weak-texture threshold against simulated noise, its estimates on synthetic noise of known sigma (textured pictures too), and the share of it that `auto` tells a model.
import { describe, expect, it } from 'vitest';
import { autoLevelScale, autoNoiseLevel, dotProduct, estimateNoiseLevel, noiseVarianceOfEigenvalues, Rng, symmetricEigenvalues, WEAK_TEXTURE_THRESHOLD } from 'onnx-denoiser-common';

/** det(A) by Gaussian elimination with partial pivoting (plain loops). */
function determinant(matrix: number[][]): number {
  const a = matrix.map((row) => [...row]);
  const n = a.length;
  let det = 1;
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[pivot]![col]!)) pivot = r;
    if (a[pivot]![col] === 0) return 0;
    if (pivot !== col) {
      [a[pivot], a[col]] = [a[col]!, a[pivot]!];
      det = -det;
    }
    det *= a[col]![col]!;
    for (let r = col + 1; r < n; r++) {
      const f = a[r]![col]! / a[col]![col]!;
      for (let k = col; k < n; k++) a[r]![k]! -= f * a[col]![k]!;
    }
  }
  return det;
}

/** A smooth RGB test picture (gradients and a soft disc) with Gaussian noise of `sigma` (0..1 scale), as 8-bit. */
function noisyPicture(width: number, height: number, sigma: number, seed: number, channels = 3): Uint8Array {
  const rng = new Rng(seed);
  const data = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const disc = Math.exp(-((x - width / 2) ** 2 + (y - height / 2) ** 2) / (width * height * 0.05));
      for (let c = 0; c < channels; c++) {
        const clean = 0.2 + 0.4 * (c === 0 ? x / width : c === 1 ? y / height : disc) + 0.2 * disc;
        data[(y * width + x) * channels + c] = Math.round(255 * Math.min(1, Math.max(0, clean + sigma * rng.nextNormal())));
      }
    }
  }
  return data;
}

describe('estimateNoiseLevel: what it cannot measure', () => {
  it('gives 0 for images smaller than one 7x7 patch', () => {
    expect(estimateNoiseLevel({ data: new Uint8Array(6 * 40 * 3).fill(128), width: 6, height: 40, channels: 3 })).toBe(0);
    expect(estimateNoiseLevel({ data: new Uint8Array(40 * 6).fill(128), width: 40, height: 6, channels: 1 })).toBe(0);
  });

  it('gives 0 for a flat image, and for one saturated everywhere', () => {
    expect(estimateNoiseLevel({ data: new Uint8Array(32 * 32).fill(100), width: 32, height: 32, channels: 1 })).toBe(0);
    expect(estimateNoiseLevel({ data: new Uint8Array(32 * 32).fill(255), width: 32, height: 32, channels: 1 })).toBe(0);
  });
});

describe('dotProduct (the covariance entries)', () => {
  it('equals a plain loop for every length from 0 to 9 (the four sums and the tail), at any offsets', () => {
    const values = Float64Array.from({ length: 40 }, (_, i) => Math.sin(i * 1.7) * (i + 1));
    for (let n = 0; n <= 9; n++) {
      for (const [a, b] of [[0, 20], [3, 11], [7, 7]] as const) {
        let plain = 0;
        for (let k = 0; k < n; k++) plain += values[a + k]! * values[b + k]!;
        expect(dotProduct(values, a, b, n), `n ${n}, offsets ${a} and ${b}`).toBeCloseTo(plain, 12);
      }
    }
  });
});

describe('symmetricEigenvalues', () => {
  it('worked by hand: [[2, 1], [1, 2]] has 1 and 3; a diagonal matrix its diagonal, sorted', () => {
    expect(Array.from(symmetricEigenvalues(Float64Array.from([2, 1, 1, 2]), 2)).map((v) => Number(v.toFixed(12)))).toEqual([1, 3]);
    expect(Array.from(symmetricEigenvalues(Float64Array.from([5, 0, 0, 0, -1, 0, 0, 0, 2]), 3))).toEqual([-1, 2, 5]);
  });

  it('each eigenvalue of a random symmetric 6x6 matrix makes det(A - lambda I) vanish, and they sum to the trace', () => {
    const rng = new Rng(3);
    const n = 6;
    const rows = Array.from({ length: n }, () => new Array<number>(n).fill(0));
    for (let i = 0; i < n; i++) for (let j = i; j < n; j++) rows[i]![j] = rows[j]![i] = rng.nextFloat() * 2 - 1;
    const values = symmetricEigenvalues(Float64Array.from(rows.flat()), n);
    const trace = rows.reduce((sum, row, i) => sum + row[i]!, 0);
    expect(values.reduce((a, b) => a + b, 0)).toBeCloseTo(trace, 10);
    for (const lambda of values) expect(Math.abs(determinant(rows.map((row, i) => row.map((v, j) => (i === j ? v - lambda : v)))))).toBeLessThan(1e-9);
  });
});

describe('noiseVarianceOfEigenvalues (the stopping rule, by hand)', () => {
  it('equal eigenvalues are all noise', () => {
    expect(noiseVarianceOfEigenvalues(Float64Array.from([2, 2, 2, 2]))).toBe(2);
  });

  it('drops the structure eigenvalues: [1, 1, 1, 1, 100] -> 1 (with 100: mean 20.8, 1 above and 4 below)', () => {
    expect(noiseVarianceOfEigenvalues(Float64Array.from([1, 1, 1, 1, 100]))).toBe(1);
  });

  it('[0.9, 1, 1.1, 5, 9]: 9 and 5 go, then 0.9, 1, 1.1 balance at 1', () => {
    expect(noiseVarianceOfEigenvalues(Float64Array.from([0.9, 1, 1.1, 5, 9]))).toBeCloseTo(1, 12);
  });
});

describe('WEAK_TEXTURE_THRESHOLD (the gradient energy 99% of pure-noise patches stay under)', () => {
  it('worked by hand: mean 168, variance 1528, Gamma quantile by Wilson-Hilferty about 272.1', () => {
    // shape 168^2 / 3056 = 9.2356, scale 1528 / 168 = 9.0952; chi-square(18.471): 18.471 * (1 - 0.012031 + 2.326 * 0.10969)^3.
    expect(WEAK_TEXTURE_THRESHOLD).toBeCloseTo(272.1, 0);
  });

  it('holds 98.5 to 99.5% of 20,000 simulated 7x7 patches of unit Gaussian noise (energies summed by plain loops)', () => {
    const rng = new Rng(3);
    const patch = new Float64Array(49);
    let under = 0;
    for (let n = 0; n < 20_000; n++) {
      for (let i = 0; i < 49; i++) patch[i] = rng.nextNormal();
      let energy = 0;
      for (let y = 0; y < 7; y++) for (let x = 0; x + 1 < 7; x++) energy += (patch[y * 7 + x + 1]! - patch[y * 7 + x]!) ** 2;
      for (let y = 0; y + 1 < 7; y++) for (let x = 0; x < 7; x++) energy += (patch[(y + 1) * 7 + x]! - patch[y * 7 + x]!) ** 2;
      if (energy <= WEAK_TEXTURE_THRESHOLD) under++;
    }
    expect(under / 20_000).toBeGreaterThan(0.985);
    expect(under / 20_000).toBeLessThan(0.995);
  });
});

describe('estimateNoiseLevel on pictures of known noise', () => {
  it.each([5, 10, 15, 25])('8-bit RGB with sigma %i (0..255): within 6%', (sigma) => {
    const data = noisyPicture(160, 120, sigma / 255, sigma);
    const estimate = estimateNoiseLevel({ data, width: 160, height: 120, channels: 3 }) * 255;
    expect(Math.abs(estimate - sigma) / sigma).toBeLessThan(0.06);
  });

  it('a clean picture reads as (almost) no noise: under 1 level (its 8-bit rounding is about 0.3)', () => {
    expect(estimateNoiseLevel({ data: noisyPicture(160, 120, 0, 1), width: 160, height: 120, channels: 3 }) * 255).toBeLessThan(1);
  });

  it('grey, 16-bit and float pictures give the same level as 8-bit ones', () => {
    const grey = noisyPicture(128, 128, 20 / 255, 4, 1);
    const level = estimateNoiseLevel({ data: grey, width: 128, height: 128, channels: 1 });
    expect(Math.abs(level * 255 - 20)).toBeLessThan(1.2);
    expect(estimateNoiseLevel({ data: Uint16Array.from(grey, (v) => v * 257), width: 128, height: 128, channels: 1 })).toBeCloseTo(level, 6);
    expect(estimateNoiseLevel({ data: Float32Array.from(grey, (v) => v / 255), width: 128, height: 128, channels: 1 })).toBeCloseTo(level, 5);
  });

  it('reads a grey picture stored as RGB or RGBA exactly as its grey version (bit for bit)', () => {
    const grey = noisyPicture(128, 128, 12 / 255, 5, 1);
    const level = estimateNoiseLevel({ data: grey, width: 128, height: 128, channels: 1 });
    for (const channels of [3, 4]) {
      const data = new Uint8Array(128 * 128 * channels);
      for (let i = 0; i < 128 * 128; i++) data.fill(grey[i]!, i * channels, i * channels + 3);
      expect(estimateNoiseLevel({ data, width: 128, height: 128, channels })).toBe(level);
      // A caller that checked the channels already says so: the same reading, without a second scan.
      expect(estimateNoiseLevel({ data, width: 128, height: 128, channels }, true)).toBe(level);
    }
  });

  it('ignores alpha: a random alpha channel does not count as noise', () => {
    const rgb = noisyPicture(96, 96, 10 / 255, 8);
    const rng = new Rng(9);
    const rgba = new Uint8Array(96 * 96 * 4);
    for (let i = 0; i < 96 * 96; i++) {
      rgba.set(rgb.subarray(i * 3, i * 3 + 3), i * 4);
      rgba[i * 4 + 3] = Math.floor(rng.nextFloat() * 256);
    }
    expect(estimateNoiseLevel({ data: rgba, width: 96, height: 96, channels: 4 })).toBeCloseTo(estimateNoiseLevel({ data: rgb, width: 96, height: 96, channels: 3 }), 9);
  });

  it('fine texture is not read as noise: half the picture a random texture (3x3 means of uniform values, std 0.1), clean under 1 level, noisy within 5% at sigma 5, 10, 20', () => {
    // The estimate from all patches (before the weak-texture rounds) read 6.1, 5.7, 11.6 and 20.5 here.
    const width = 192;
    const height = 128;
    for (const sigma of [0, 5, 10, 20]) {
      const rng = new Rng(sigma + 1);
      const uniform = Float64Array.from({ length: width * height }, () => rng.nextFloat());
      const data = new Uint8Array(width * height);
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          let sum = 0;
          for (let dy = -1; dy <= 1; dy++) {
            for (let dx = -1; dx <= 1; dx++) sum += uniform[Math.min(height - 1, Math.max(0, y + dy)) * width + Math.min(width - 1, Math.max(0, x + dx))]!;
          }
          // Left half: a smooth ramp; right half: the texture around mid grey.
          const clean = x < width / 2 ? 0.3 + (0.3 * y) / height : 0.5 + (sum / 9 - 0.5);
          data[y * width + x] = Math.round(255 * Math.min(1, Math.max(0, clean + (sigma / 255) * rng.nextNormal())));
        }
      }
      const estimate = estimateNoiseLevel({ data, width, height, channels: 1 }) * 255;
      if (sigma === 0) expect(estimate).toBeLessThan(1);
      else expect(Math.abs(estimate - sigma) / sigma).toBeLessThan(0.05);
    }
  });

  it('heavy noise that clips at both ends (sigma 50 on a picture with black and white areas) is not read as light: within 10%', () => {
    const width = 192;
    const height = 128;
    const rng = new Rng(11);
    const data = new Uint8Array(width * height);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        // Thirds: black, mid grey, white.
        const clean = x < width / 3 ? 0.02 : x < (2 * width) / 3 ? 0.5 : 0.98;
        data[y * width + x] = Math.round(255 * Math.min(1, Math.max(0, clean + (50 / 255) * rng.nextNormal())));
      }
    }
    expect(Math.abs(estimateNoiseLevel({ data, width, height, channels: 1 }) * 255 - 50) / 50).toBeLessThan(0.1);
  });
});

describe('autoNoiseLevel: the share of the estimate auto tells a model', () => {
  it('0.95 up to sigma 25, 1 from sigma 50, linear between (worked by hand)', () => {
    for (const [sigma, scale] of [[0, 0.95], [10, 0.95], [25, 0.95], [30, 0.96], [37.5, 0.975], [45, 0.99], [50, 1], [80, 1]] as const) {
      expect(autoLevelScale(sigma / 255)).toBeCloseTo(scale, 12);
    }
  });

  it('is the estimate times that share', () => {
    for (const sigma of [8, 40]) {
      const image = { data: noisyPicture(96, 96, sigma / 255, sigma), width: 96, height: 96, channels: 3 };
      const estimate = estimateNoiseLevel(image);
      const share = sigma === 8 ? 0.95 : 0.95 + (0.05 * (estimate * 255 - 25)) / 25;
      expect(autoNoiseLevel(image)).toBeCloseTo(estimate * share, 12);
    }
  });
});
