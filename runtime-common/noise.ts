// The one Gaussian noise, clip(x + f * N(0, 1), 0, 1) from the seeded Rng: on [0, 1] samples for training and evaluation, and on pixel images (alpha kept) for demos.
import { allocatePixels, type PixelImage, pixelPeak } from './image-ops.js';
import { Rng } from './rng.js';
import { check, checkInteger, checkNumber, invalid } from './validate.js';

/** Options of {@link gaussianNoise}. */
export interface GaussianNoiseOptions {
  /** Clamp the result to [0, 1] (default true); off for tests of the raw distribution. */
  clip?: boolean;
}

/**
 * Writes `input[i] + factor * N(0, 1)` into `output` (clamped to [0, 1] unless `clip` is false) and returns `output`,
 * one normal from `rng` per value in order, so a seed gives the same noise. `output` may be `input` (in place). The
 * input values are not re-checked (that would cost as much as the noise).
 */
export function gaussianNoise(input: Float32Array, output: Float32Array, factor: number, rng: Rng, options: GaussianNoiseOptions = {}): Float32Array {
  checkNumber(factor, 'noise factor', { min: 0 });
  check(input instanceof Float32Array, 'a Float32Array', 'noise input', input);
  check(output instanceof Float32Array, 'a Float32Array', 'noise output', output);
  check(output.length === input.length, `${input.length} (the input's length)`, 'the noise output length', output.length);
  if (!(rng instanceof Rng)) throw invalid('an Rng', 'rng', rng);
  const n = input.length;
  if (options.clip === false) {
    for (let i = 0; i < n; i++) output[i] = input[i]! + factor * rng.nextNormal();
    return output;
  }
  for (let i = 0; i < n; i++) {
    // Branchless clamp: about half the pixels are 0, so `v < 0` is a coin flip the CPU mispredicts, and a
    // branchy clamp (or Math.min/max) cost +70% here. max(v, 0) = (v + |v|) / 2 is exact; min(p, 1) =
    // 1 - max(1 - p, 0) is exact for p >= 1/2 and within 2^-53 below, and never leaves [0, 1].
    const v = input[i]! + factor * rng.nextNormal();
    const p = 0.5 * (v + Math.abs(v));
    const q = 1 - p;
    output[i] = 1 - 0.5 * (q + Math.abs(q));
  }
  return output;
}

/**
 * Returns a copy of `image` with {@link gaussianNoise} of standard deviation `factor` (in units of the full range) on
 * every colour sample, drawn from `new Rng(seed)`; integer pixels are rounded. Alpha is copied untouched. The same
 * seed gives the same noise for images of the same size.
 */
export function addGaussianNoise<T extends PixelImage>(image: T, factor: number, seed: number): T {
  checkNumber(factor, 'noise factor', { min: 0 });
  checkInteger(seed, 'seed', { min: 0, max: 2 ** 32 - 1 });
  const { data, channels } = image;
  const peak = pixelPeak(data);
  const alpha = channels === 2 || channels === 4 ? channels - 1 : -1;
  const colour = new Float32Array(alpha < 0 ? data.length : (data.length / channels) * (channels - 1));
  for (let i = 0, j = 0; i < data.length; i++) if (i % channels !== alpha) colour[j++] = data[i]! / peak;
  gaussianNoise(colour, colour, factor, new Rng(seed));
  const out = allocatePixels(data, data.length);
  const integer = !(data instanceof Float32Array);
  for (let i = 0, j = 0; i < data.length; i++) {
    if (i % channels === alpha) out[i] = data[i]!;
    else out[i] = integer ? Math.round(colour[j++]! * peak) : colour[j++]!;
  }
  return { ...image, data: out };
}
