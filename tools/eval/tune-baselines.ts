// The classical baselines as data for `tools eval --images`: each one's label, how it runs with its parameters, and the search that tunes them to the best PSNR.
import { psnr, check } from 'onnx-denoiser-common';
import { type FloatImage, gaussianBlur, goldenMax } from './baselines.js';
import { bilateralFilter, bilateralRadius } from './classical/bilateral.js';
import { nonLocalMeans } from './classical/non-local-means.js';
import { totalVariation } from './classical/total-variation.js';
import { waveletDenoise } from './classical/wavelet.js';

/** The baselines' names, as `--baselines` takes them, in the tables' order. */
export const BASELINE_NAMES = Object.freeze(['bilateral', 'tv', 'nlm', 'wavelet', 'blur'] as const);

/** A baseline's name. */
export type BaselineName = (typeof BASELINE_NAMES)[number];

/** A baseline's parameters: numbers in image units (samples in [0, 1]) or pixels. */
export type BaselineParams = Readonly<Record<string, number>>;

/** One classical baseline. */
export interface Baseline {
  name: BaselineName;
  /** The name in tables. */
  label: string;
  /** Denoises `image` with `params`; `sigma` is the noise's standard deviation in image units (filters that take it use it). */
  run(image: FloatImage, params: BaselineParams, sigma: number): FloatImage;
  /**
   * The parameters with the best `score` (mean PSNR on the tuning images) for noise `sigma` (image units), by
   * golden-section search on a log scale, over a small grid for a second parameter.
   */
  tune(score: (params: BaselineParams) => number, sigma: number): { params: BaselineParams; score: number; evaluations: number };
  /** The parameters for people, e.g. "σs 1.5, σr 30/255". */
  describe(params: BaselineParams): string;
}

/** Golden-section tolerance on the natural log of a parameter: the optimum to about 3%. */
const LOG_TOLERANCE = 0.03;

/** Parameters scaled by the noise's sigma use at least one 8-bit level, so sigma 0 still tunes. */
const sigmaScale = (sigma: number) => Math.max(sigma, 1 / 255);

/** Golden-section search of `score(make(x))` over x in [lo, hi] on a log scale; counts evaluations. */
function searchLog(score: (params: BaselineParams) => number, make: (x: number) => BaselineParams, lo: number, hi: number): { params: BaselineParams; score: number; evaluations: number } {
  let evaluations = 0;
  const best = goldenMax(
    (t) => {
      evaluations++;
      return score(make(Math.exp(t)));
    },
    Math.log(lo),
    Math.log(hi),
    LOG_TOLERANCE,
  );
  return { params: make(Math.exp(best.x)), score: best.value, evaluations };
}

/** The best of several searches (one per grid value of a second parameter). */
function bestOf(results: { params: BaselineParams; score: number; evaluations: number }[]): { params: BaselineParams; score: number; evaluations: number } {
  const best = results.reduce((a, b) => (b.score > a.score ? b : a));
  return { ...best, evaluations: results.reduce((n, r) => n + r.evaluations, 0) };
}

const levels = (value: number) => `${(value * 255).toPrecision(3)}/255`;
const round = (value: number, digits = 3) => Number(value.toPrecision(digits));

/** Spatial sigmas the bilateral filter tries (window radius round(2 sigma)): 3x3-ish up to 11x11. */
export const BILATERAL_SPATIAL_GRID = Object.freeze([0.75, 1.25, 2, 3]);
/** Patch and search window of the non-local means baseline (the search window as OpenCV's default; skimage's is 23). */
export const NLM_WINDOWS = Object.freeze({ patchSize: 7, searchSize: 21 });

/** Every baseline by name. */
export const BASELINES: Readonly<Record<BaselineName, Baseline>> = Object.freeze({
  bilateral: {
    name: 'bilateral',
    label: 'bilateral filter',
    run: (image, p) => bilateralFilter(image, { spatialSigma: p.spatialSigma!, rangeSigma: p.rangeSigma! }),
    tune: (score, sigma) =>
      bestOf(BILATERAL_SPATIAL_GRID.map((spatialSigma) => searchLog(score, (k) => ({ spatialSigma, rangeSigma: round(k * sigmaScale(sigma), 4) }), 0.5, 10))),
    describe: (p) => `σs ${p.spatialSigma} (${2 * bilateralRadius({ spatialSigma: p.spatialSigma!, rangeSigma: 1 }) + 1} px), σr ${levels(p.rangeSigma!)}`,
  },
  tv: {
    name: 'tv',
    label: 'total variation (Chambolle)',
    run: (image, p) => totalVariation(image, { weight: p.weight! }),
    tune: (score, sigma) => searchLog(score, (k) => ({ weight: round(k * sigmaScale(sigma), 4) }), 0.1, 4),
    describe: (p) => `weight ${p.weight}`,
  },
  nlm: {
    name: 'nlm',
    label: 'non-local means',
    run: (image, p, sigma) => nonLocalMeans(image, { h: p.h!, sigma, ...NLM_WINDOWS }),
    tune: (score, sigma) => searchLog(score, (k) => ({ h: round(k * sigmaScale(sigma), 4) }), 0.2, 2),
    describe: (p) => `h ${levels(p.h!)}, ${NLM_WINDOWS.patchSize}x${NLM_WINDOWS.patchSize} patches, ${NLM_WINDOWS.searchSize}x${NLM_WINDOWS.searchSize} search`,
  },
  wavelet: {
    name: 'wavelet',
    label: 'wavelet (BayesShrink)',
    run: (image, p, sigma) => waveletDenoise(image, { sigma, thresholdScale: p.thresholdScale!, wavelet: 'db4', levels: 4, cycleShift: 1 }),
    tune: (score) => searchLog(score, (k) => ({ thresholdScale: round(k) }), 0.2, 5),
    describe: (p) => `db4, 4 levels, 4 cycle spins, threshold x${p.thresholdScale}`,
  },
  blur: {
    name: 'blur',
    label: 'Gaussian blur',
    run: (image, p) => gaussianBlur(image, p.sigma!),
    tune: (score) => searchLog(score, (s) => ({ sigma: round(s) }), 0.3, 5),
    describe: (p) => `σ ${p.sigma} px`,
  },
});

/** `image` with every sample clamped to [0, 1], in place; returns it. */
export function clipImage(image: FloatImage): FloatImage {
  const data = image.data;
  for (let i = 0; i < data.length; i++) data[i] = data[i]! < 0 ? 0 : data[i]! > 1 ? 1 : data[i]!;
  return image;
}

/**
 * Tunes `baseline` for noise `sigma` (image units): the parameters that maximise the mean PSNR of its clipped
 * output against `clean` over the `noisy` tuning images.
 */
export function tuneBaseline(baseline: Baseline, noisy: readonly FloatImage[], clean: readonly FloatImage[], sigma: number): { params: BaselineParams; psnr: number; evaluations: number } {
  check(noisy.length > 0 && noisy.length === clean.length, `as many clean as noisy tuning images (${noisy.length}), at least one`, 'clean', clean.length);
  const score = (params: BaselineParams) => {
    let sum = 0;
    for (let i = 0; i < noisy.length; i++) sum += Math.min(100, psnr(clipImage(baseline.run(noisy[i]!, params, sigma)).data, clean[i]!.data));
    return sum / noisy.length;
  };
  const best = baseline.tune(score, sigma);
  return { params: best.params, psnr: best.score, evaluations: best.evaluations };
}
