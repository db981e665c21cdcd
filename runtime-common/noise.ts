// Seeded Gaussian noise on pixel images for demos on clean pictures: clip(x + f * N(0, 1), 0, 1) on colour channels, alpha kept.
import { allocatePixels, type PixelImage, pixelPeak } from './image-ops.js';
import { checkInteger, checkNumber } from './validate.js';

/** A seeded generator of uniform numbers in [0, 1): xoshiro128** seeded through splitmix32. */
export function seededUniform(seed: number): () => number {
  checkInteger(seed, 'seed', { min: 0, max: 2 ** 32 - 1 });
  let s = seed >>> 0;
  const splitmix = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  return () => {
    const result = Math.imul(((Math.imul(b, 5) << 7) | (Math.imul(b, 5) >>> 25)) >>> 0, 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = ((d << 11) | (d >>> 21)) >>> 0;
    return result / 4294967296;
  };
}

/** A seeded generator of standard normal numbers (Box-Muller on {@link seededUniform}). */
export function seededNormal(seed: number): () => number {
  const uniform = seededUniform(seed);
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const value = spare;
      spare = undefined;
      return value;
    }
    const u = 1 - uniform();
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

/**
 * Returns a copy of `image` with Gaussian noise of standard deviation `factor` (in units of the full range) added to
 * every colour sample and clipped to the range; integer pixels are rounded. Alpha is copied untouched. The same
 * seed gives the same noise for images of the same size.
 */
export function addGaussianNoise<T extends PixelImage>(image: T, factor: number, seed: number): T {
  checkNumber(factor, 'noise factor', { min: 0 });
  const normal = seededNormal(seed);
  const { data, channels } = image;
  const peak = pixelPeak(data);
  const out = allocatePixels(data, data.length);
  const integer = !(data instanceof Float32Array);
  const alpha = channels === 2 || channels === 4 ? channels - 1 : -1;
  for (let i = 0; i < data.length; i++) {
    if (i % channels === alpha) {
      out[i] = data[i]!;
      continue;
    }
    let v = data[i]! / peak + factor * normal();
    v = v < 0 ? 0 : v > 1 ? 1 : v;
    out[i] = integer ? Math.round(v * peak) : v;
  }
  return { ...image, data: out };
}
