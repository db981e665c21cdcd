// Small images for the classical-filter tests: seeded random ones, a smooth scene with an edge, and seeded Gaussian noise.
import type { FloatImage } from '../../../../tools/eval/baselines.js';
import { Rng } from '../../../../runtime-common/rng.js';

/** Uniform random samples in [0, 1) from a seed. */
export function randomImage(width: number, height: number, channels: number, seed: number): FloatImage {
  const rng = new Rng(seed);
  const data = new Float32Array(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = rng.nextFloat();
  return { data, width, height, channels };
}

/** A smooth scene: gentle waves over a vertical edge, per-channel offsets, values inside [0.15, 0.85]. */
export function smoothImage(width: number, height: number, channels: number): FloatImage {
  const data = new Float32Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        const wave = 0.15 * Math.sin(x / 5 + c) * Math.cos(y / 7 - c);
        data[(y * width + x) * channels + c] = 0.45 + wave + (x >= width / 2 ? 0.2 : 0) - 0.05 * c;
      }
    }
  }
  return { data, width, height, channels };
}

/** `image` plus Gaussian noise of standard deviation `sigma`, clipped to [0, 1]. */
export function withNoise(image: FloatImage, sigma: number, seed: number): FloatImage {
  const rng = new Rng(seed);
  const data = image.data.map((v) => Math.min(1, Math.max(0, v + sigma * rng.nextNormal())));
  return { ...image, data };
}

/** The sample at (x, y, c) with BORDER_REFLECT_101 outside the image. */
export function reflectedAt(image: FloatImage, x: number, y: number, c: number): number {
  const fold = (i: number, n: number) => {
    if (n === 1) return 0;
    let k = i;
    while (k < 0 || k >= n) k = k < 0 ? -k : 2 * (n - 1) - k;
    return k;
  };
  return image.data[(fold(y, image.height) * image.width + fold(x, image.width)) * image.channels + c]!;
}

/** Largest absolute difference of two equally long arrays. */
export function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}
