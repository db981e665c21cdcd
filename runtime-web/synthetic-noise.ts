// Denoising a clean picture for demos: seeded Gaussian noise first, then the model, timed and scored (PSNR against the clean picture).
import { type PixelImage, colourToUnit, psnr, addGaussianNoise, checkInteger, checkNumber } from 'onnx-denoiser-common';
import type { DenoiseOptions, Denoiser } from './denoiser.js';

/** What {@link denoiseWithNoise} produced. */
export interface NoisyRun<T extends PixelImage = PixelImage> {
  /** What went into the model: the picture with noise added, or the picture itself when the noise is 0. */
  input: T;
  denoised: T;
  /** Milliseconds the denoising took (the noise not counted). */
  ms: number;
  /** PSNR in dB of the denoised picture against the clean one, when noise was added. */
  psnr?: number;
  /** PSNR in dB of the noisy input against the clean one, when noise was added. */
  psnrNoisy?: number;
}

/**
 * Adds `clip(x + noise * N(0, 1), 0, 1)` to the colour channels of `clean` (seeded: the same seed, the same noise),
 * denoises the result and scores both against `clean`. With `noise` 0 the picture is denoised as it is, unscored.
 */
export async function denoiseWithNoise<T extends PixelImage>(denoiser: Denoiser, clean: T, noise: number, seed: number, options: DenoiseOptions = {}): Promise<NoisyRun<T>> {
  checkNumber(noise, 'noise', { min: 0, max: 1 });
  checkInteger(seed, 'seed', { min: 0, max: 2 ** 32 - 1 });
  const input = noise > 0 ? addGaussianNoise(clean, noise, seed) : clean;
  const start = performance.now();
  const denoised = (await denoiser.denoisePixels(input, options)) as unknown as T;
  const ms = performance.now() - start;
  if (noise === 0) return { input, denoised, ms };
  const reference = colourToUnit(clean).values;
  return { input, denoised, ms, psnr: psnr(reference, colourToUnit(denoised).values), psnrNoisy: psnr(reference, colourToUnit(input).values) };
}
