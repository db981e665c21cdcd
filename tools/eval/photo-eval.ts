// `tools eval --images`: clean photos with seeded 8-bit Gaussian noise (sigma on the 0..255 scale), tuned classical baselines and ONNX models, in RGB and grey: PSNR, SSIM, colour shift, time.
import path from 'node:path';
import sharp from 'sharp';
import { colourShift, estimateNoiseLevel, MAX_SIGMA, psnr, ssim, check, checkInteger, Rng } from 'onnx-denoiser-common';
import { createDenoiser, type Denoiser, type NodeDevice, type FilePixels, readImage } from 'onnx-denoiser-node/internal';
import { applyNoise } from '../data/noise.js';
import { imageGrid } from '../report/pictures.js';
import type { FloatImage } from './baselines.js';
import { listImageFiles, type ModelEntry, trainedFor } from './evaluate.js';
import { BASELINES, type BaselineName, type BaselineParams, clipImage, tuneBaseline } from './tune-baselines.js';

/** Colour modes: the photos as they are (colour ones only), and every photo in grey. */
export const COLOUR_MODES = Object.freeze(['rgb', 'grey'] as const);
/** A colour mode. */
export type ColourMode = (typeof COLOUR_MODES)[number];
/** Noise sigmas on the 0..255 scale when none are given. */
export const DEFAULT_SIGMAS = Object.freeze([10, 15, 25, 50]);
/** Side of the centre crops the baselines are tuned on (at most). */
export const DEFAULT_TUNE_SIDE = 128;
/** Photos in a picture grid, and the side of their centre crops. */
const GRID_COLUMNS = 6;
const GRID_SIDE = 128;

/** One photo of the folder, in the colour modes asked for. */
export interface Photo {
  /** The file name. */
  name: string;
  /** The photo in colour (RGB), when it has colour and RGB was asked for. */
  rgb?: FloatImage;
  /** The photo in grey (colour ones converted by sharp), when grey was asked for. */
  grey?: FloatImage;
}

/** Options of {@link loadPhotos}. */
export interface LoadPhotosOptions {
  /** Only the first N photos (sorted by name). */
  limit?: number;
  /** Downscale photos whose longer side exceeds this (sharp, Lanczos 3) before anything else. */
  maxSide?: number;
  /** Then cut each photo to its centre square of at most this side (native scale, bounded time). */
  crop?: number;
  colours: readonly ColourMode[];
  /** The option that named the folder, for messages (default "--images"). */
  argument?: string;
}

/** File pixels (8 or 16 bits) scaled down so that the longer side is `maxSide`, by sharp. */
async function downscale(pixels: FilePixels, maxSide: number | undefined): Promise<FilePixels> {
  if (maxSide === undefined || Math.max(pixels.width, pixels.height) <= maxSide) return pixels;
  const sixteen = pixels.data instanceof Uint16Array;
  const { data, info } = await sharp(pixels.data, { raw: { width: pixels.width, height: pixels.height, channels: pixels.channels as 1 | 2 | 3 | 4 } })
    .resize({ width: maxSide, height: maxSide, fit: 'inside' })
    // Raw output would turn grey into sRGB: say which space to keep (8-bit grey keeps its first band only, alpha is dropped later anyway).
    .toColourspace(pixels.channels <= 2 ? (sixteen ? 'grey16' : 'b-w') : sixteen ? 'rgb16' : 'srgb')
    .raw({ depth: sixteen ? 'ushort' : 'uchar' })
    .toBuffer({ resolveWithObject: true });
  const out = sixteen ? new Uint16Array(data.buffer, data.byteOffset, data.length / 2).slice() : new Uint8Array(data);
  return { data: out, width: info.width, height: info.height, channels: info.channels } as FilePixels;
}

/** File pixels as a float image in [0, 1] without alpha: 1 channel for grey (+ alpha), 3 for colour. */
function toFloat(pixels: FilePixels): FloatImage {
  const colour = pixels.channels >= 3 ? 3 : 1;
  const peak = pixels.data instanceof Uint16Array ? 65535 : 255;
  const n = pixels.width * pixels.height;
  const data = new Float32Array(n * colour);
  for (let p = 0; p < n; p++) for (let c = 0; c < colour; c++) data[p * colour + c] = pixels.data[p * pixels.channels + c]! / peak;
  return { data, width: pixels.width, height: pixels.height, channels: colour };
}

/**
 * The photos of `dir` (sorted by name): colour ones in RGB and, converted by sharp, in grey; grey ones in grey
 * only. Alpha is dropped.
 * @throws ValidationError for a missing or unreadable folder, one without image files, or an unreadable image.
 */
export async function loadPhotos(dir: string, options: LoadPhotosOptions): Promise<Photo[]> {
  const argument = options.argument ?? '--images';
  const names = await listImageFiles(dir, argument);
  const photos: Photo[] = [];
  for (const name of names.slice(0, options.limit)) {
    const file = path.join(dir, name);
    const { image } = await readImage(file);
    const colour = image.channels >= 3;
    const photo: Photo = { name };
    if (colour && options.colours.includes('rgb')) photo.rgb = cropTo(toFloat(await downscale(image, options.maxSide)), options.crop);
    if (options.colours.includes('grey')) photo.grey = cropTo(toFloat(await downscale(colour ? (await readImage(file, { grey: true })).image : image, options.maxSide)), options.crop);
    photos.push(photo);
  }
  return photos;
}

/** `clip(x + sigma / 255 N(0, 1), 0, 1)` rounded to 8 bits (as a saved PNG would hold it), drawn from `rng`. */
export function addPhotoNoise(image: FloatImage, sigma: number, rng: Rng): FloatImage {
  const data = applyNoise('gaussian', image.data, new Float32Array(image.data.length), sigma / 255, rng);
  for (let i = 0; i < data.length; i++) data[i] = Math.round(data[i]! * 255) / 255;
  return { ...image, data };
}


/** {@link centreCrop} when a side is given, else the image itself. */
const cropTo = (image: FloatImage, side: number | undefined): FloatImage => (side === undefined ? image : centreCrop(image, side));

/** A central square of at most `side` pixels. */
export function centreCrop(image: FloatImage, side: number): FloatImage {
  const w = Math.min(side, image.width);
  const h = Math.min(side, image.height);
  const x0 = Math.floor((image.width - w) / 2);
  const y0 = Math.floor((image.height - h) / 2);
  const data = new Float32Array(w * h * image.channels);
  for (let y = 0; y < h; y++) data.set(image.data.subarray(((y0 + y) * image.width + x0) * image.channels, ((y0 + y) * image.width + x0 + w) * image.channels), y * w * image.channels);
  return { data, width: w, height: h, channels: image.channels };
}

/** One method's scores in one colour mode at one sigma: means over the photos. */
export interface PhotoScore {
  method: string;
  kind: 'input' | 'classical' | 'model';
  /** Mean per-photo PSNR, dB (identical photos count as 100). */
  psnr: number;
  /** Mean per-photo SSIM; null when a photo is smaller than SSIM's 11x11 window. */
  ssim: number | null;
  /** Mean over photos of the largest |mean(output_c) - mean(clean_c)| over channels, in 8-bit levels. */
  colourShift: number;
  /** Seconds per megapixel of denoising (tuning not included); null for the noisy input. */
  secondsPerMegapixel: number | null;
  /** A baseline's tuned parameters (image units or pixels). */
  params?: BaselineParams;
  /** The parameters for people. */
  paramsText?: string;
  /** A baseline's tuning: mean PSNR on the tuning crops, score evaluations, seconds. */
  tuning?: { psnr: number; evaluations: number; seconds: number };
}

/** A model's figures on the clean photos (sigma 0, no rounding): what it does to a photo with no noise. */
export interface CleanScore {
  method: string;
  psnr: number;
  ssim: number | null;
  colourShift: number;
}

/** One colour mode's results. */
export interface PhotoColourResult {
  colour: ColourMode;
  /** The photos scored in this mode. */
  photos: string[];
  megapixels: number;
  /** The noisy input's row is the clean photo itself (100 dB, shift 0); then each model. */
  clean: CleanScore[];
  sigmas: { sigma: number; scores: PhotoScore[] }[];
}

/** {@link evaluatePhotos}'s result, as eval.json holds it. */
export interface PhotoEvalResult {
  kind: 'photos';
  source: string;
  noise: 'gaussian';
  /** Sigmas on the 0..255 scale. */
  sigmas: number[];
  seed: number;
  /** How the baselines were tuned. */
  tuning: { side: number; note: string };
  models: { file: string; name: string; device: string; trainedFor: string }[];
  colours: PhotoColourResult[];
  /** Wall-clock seconds of the whole evaluation. */
  seconds: number;
}

/** What {@link evaluatePhotos} needs. */
export interface PhotoEvalRequest {
  photos: Photo[];
  source: string;
  sigmas: readonly number[];
  colours: readonly ColourMode[];
  baselines: readonly BaselineName[];
  models: ModelEntry[];
  device: NodeDevice;
  seed: number;
  /** Side of the tuning crops (default {@link DEFAULT_TUNE_SIDE}). */
  tuneSide?: number;
  /**
   * Models with a noise map are scored as users run them (the level estimated from each photo) and, with this set,
   * also told the true sigma (a row "<name>, sigma known"), as the tuned baselines are.
   */
  knownSigma?: boolean;
  /**
   * Models with a noise map are also told each factor k of the plain estimate of each noisy photo
   * (estimateNoiseLevel, without the runtime's own share of it): rows "<name>, k × estimate".
   */
  estimateScales?: readonly number[];
  onLine?: (text: string) => void;
  /** Receives one PNG per colour mode and sigma: noisy, the best baseline, each model, clean, on centre crops. */
  onGrid?: (colour: ColourMode, sigma: number, png: Buffer) => Promise<void>;
}

function meanScores(outputs: readonly FloatImage[], clean: readonly FloatImage[]): { psnr: number; ssim: number | null; colourShift: number } {
  let psnrSum = 0;
  let ssimSum = 0;
  let ssimCount = 0;
  let shiftSum = 0;
  clean.forEach((reference, i) => {
    const out = outputs[i]!;
    psnrSum += Math.min(100, psnr(out.data, reference.data));
    if (reference.width >= 11 && reference.height >= 11) {
      ssimSum += ssim(out.data, reference.data, reference.width, reference.height, { channels: reference.channels });
      ssimCount++;
    }
    shiftSum += colourShift(out.data, reference.data, reference.channels);
  });
  // Every photo counts or SSIM is not reported: a mean over some photos would not compare with the other columns.
  return { psnr: psnrSum / clean.length, ssim: ssimCount === clean.length ? ssimSum / ssimCount : null, colourShift: shiftSum / clean.length };
}

const seconds = (since: number) => (performance.now() - since) / 1000;
const text = (s: { psnr: number; ssim: number | null }) => `${s.psnr.toFixed(2)} dB / ${s.ssim === null ? 'n/a' : s.ssim.toFixed(3)}`;

/**
 * Scores the noisy input, each classical baseline (its parameters tuned per colour mode and sigma on centre crops
 * of these same photos: an optimistic, oracle-tuned baseline) and each model on every photo, per colour mode and
 * sigma. The noise of each colour mode and sigma comes from `new Rng(seed)`, drawn photo after photo, so a request
 * repeats exactly. Outputs are clipped to [0, 1] before scoring.
 */
export async function evaluatePhotos(request: PhotoEvalRequest): Promise<PhotoEvalResult> {
  const started = performance.now();
  const { photos, sigmas, colours, baselines, models, onLine = () => {} } = request;
  const tuneSide = checkInteger(request.tuneSide ?? DEFAULT_TUNE_SIDE, 'tuneSide', { min: 8 });
  check(photos.length > 0, 'at least one photo', 'photos', photos.length);
  const opened: { denoiser: Denoiser; file: string; label?: string }[] = [];
  try {
    for (const m of models) opened.push({ denoiser: await createDenoiser({ model: m.file, device: request.device }, { model: '--model' }), file: m.file, label: m.label });
    const modelName = (o: (typeof opened)[number]) => o.label ?? o.denoiser.model.name ?? path.basename(o.file);
    const results: PhotoColourResult[] = [];
    for (const colour of colours) {
      const set = photos.filter((p) => p[colour] !== undefined);
      if (set.length === 0) {
        onLine(`${colour}: no photo to score (the folder's photos are all grey)`);
        continue;
      }
      const clean = set.map((p) => p[colour]!);
      const megapixels = clean.reduce((sum, img) => sum + img.width * img.height, 0) / 1e6;
      onLine(`${colour}: ${set.length} photo(s), ${megapixels.toFixed(2)} MP`);
      const cleanRows: CleanScore[] = [{ method: 'noisy input', psnr: 100, ssim: clean.every((c) => c.width >= 11 && c.height >= 11) ? 1 : null, colourShift: 0 }];
      for (const o of opened) {
        const out = ((await o.denoiser.denoiseBatch(clean)) as FloatImage[]).map(clipImage);
        cleanRows.push({ method: modelName(o), ...meanScores(out, clean) });
      }
      const sigmaResults: PhotoColourResult['sigmas'] = [];
      for (const sigma of sigmas) {
        const rng = new Rng(request.seed);
        const noisy = clean.map((img) => addPhotoNoise(img, sigma, rng));
        const scores: PhotoScore[] = [{ method: 'noisy input', kind: 'input', ...meanScores(noisy, clean), secondsPerMegapixel: null }];
        const rows: { label: string; kind: PhotoScore['kind']; images: FloatImage[] }[] = [];
        const tuneNoisy = noisy.map((img) => centreCrop(img, tuneSide));
        const tuneClean = clean.map((img) => centreCrop(img, tuneSide));
        for (const name of baselines) {
          const baseline = BASELINES[name];
          const tuneStart = performance.now();
          const tuned = tuneBaseline(baseline, tuneNoisy, tuneClean, sigma / 255);
          const tuneSeconds = seconds(tuneStart);
          const runStart = performance.now();
          const out = noisy.map((img) => clipImage(baseline.run(img, tuned.params, sigma / 255)));
          const perMegapixel = seconds(runStart) / megapixels;
          const score: PhotoScore = {
            method: baseline.label,
            kind: 'classical',
            ...meanScores(out, clean),
            secondsPerMegapixel: perMegapixel,
            params: tuned.params,
            paramsText: baseline.describe(tuned.params),
            tuning: { psnr: tuned.psnr, evaluations: tuned.evaluations, seconds: tuneSeconds },
          };
          scores.push(score);
          rows.push({ label: baseline.label, kind: 'classical', images: out });
          onLine(`${colour} σ ${sigma}: ${baseline.label} (${score.paramsText}; tuned in ${tuneSeconds.toFixed(1)} s) ${text(score)}, ${perMegapixel.toFixed(2)} s/MP`);
        }
        const runs = opened.flatMap((o) => {
          const mapped = o.denoiser.model.noiseMapName !== undefined;
          return [
            { o, method: modelName(o), sigma: undefined as number | undefined, scale: undefined as number | undefined },
            ...(request.knownSigma && mapped ? [{ o, method: `${modelName(o)}, σ known`, sigma, scale: undefined }] : []),
            ...(mapped ? (request.estimateScales ?? []).map((k) => ({ o, method: `${modelName(o)}, ${k} × estimate`, sigma: undefined, scale: k })) : []),
          ];
        });
        for (const { o, method, sigma: told, scale } of runs) {
          const runStart = performance.now();
          const denoised =
            scale === undefined
              ? await o.denoiser.denoiseBatch(noisy, told === undefined ? {} : { sigma: told })
              : await Promise.all(noisy.map((img) => o.denoiser.denoise(img, { sigma: Math.min(MAX_SIGMA, scale * estimateNoiseLevel(img) * 255) })));
          const out = (denoised as FloatImage[]).map(clipImage);
          const perMegapixel = seconds(runStart) / megapixels;
          const score: PhotoScore = { method, kind: 'model', ...meanScores(out, clean), secondsPerMegapixel: perMegapixel };
          scores.push(score);
          rows.push({ label: score.method, kind: 'model', images: out });
          onLine(`${colour} σ ${sigma}: ${score.method} ${text(score)}, ${perMegapixel.toFixed(2)} s/MP`);
        }
        onLine(`${colour} σ ${sigma}: noisy input ${text(scores[0]!)}`);
        sigmaResults.push({ sigma, scores });
        if (request.onGrid) await request.onGrid(colour, sigma, await photoGrid(colour, sigma, noisy, clean, scores, rows));
      }
      results.push({ colour, photos: set.map((p) => p.name), megapixels, clean: cleanRows, sigmas: sigmaResults });
    }
    return {
      kind: 'photos',
      source: request.source,
      noise: 'gaussian',
      sigmas: [...sigmas],
      seed: request.seed,
      tuning: {
        side: tuneSide,
        note: `each baseline's parameters tuned per colour mode and sigma to the best mean PSNR on centre crops of at most ${tuneSide}x${tuneSide} of these same photos (an optimistic, oracle-tuned baseline)`,
      },
      models: opened.map((o) => ({ file: o.file, name: modelName(o), device: o.denoiser.device, trainedFor: trainedFor(o.denoiser) })),
      colours: results,
      seconds: seconds(started),
    };
  } finally {
    await Promise.all(opened.map((o) => o.denoiser.dispose()));
  }
}

/** The picture grid of one colour mode and sigma: noisy, the best baseline by PSNR, each model, clean; centre crops of the first photos. */
async function photoGrid(
  colour: ColourMode,
  sigma: number,
  noisy: FloatImage[],
  clean: FloatImage[],
  scores: PhotoScore[],
  rows: { label: string; kind: PhotoScore['kind']; images: FloatImage[] }[],
): Promise<Buffer> {
  const count = Math.min(GRID_COLUMNS, clean.length);
  const side = Math.min(GRID_SIDE, ...clean.slice(0, count).map((img) => Math.min(img.width, img.height)));
  const crop = (images: FloatImage[]) => images.slice(0, count).map((img) => centreCrop(img, side).data);
  let best: (typeof rows)[number] | undefined;
  let bestPsnr = -Infinity;
  rows.forEach((row) => {
    const score = scores.find((s) => s.method === row.label)!;
    if (row.kind === 'classical' && score.psnr > bestPsnr) {
      best = row;
      bestPsnr = score.psnr;
    }
  });
  const gridRows = [
    { label: 'noisy', images: crop(noisy) },
    ...(best ? [{ label: `${best.label} (best classical)`, images: crop(best.images) }] : []),
    ...rows.filter((r) => r.kind === 'model').map((r) => ({ label: r.label, images: crop(r.images) })),
    { label: 'clean', images: crop(clean) },
  ];
  return imageGrid(gridRows, {
    height: side,
    width: side,
    channels: colour === 'rgb' ? 3 : 1,
    scale: side <= 48 ? 3 : side <= 80 ? 2 : 1,
    title: `${colour === 'rgb' ? 'RGB' : 'grey'}, σ ${sigma}: centre crops (captions: noisy PSNR)`,
    columnCaptions: noisy.slice(0, count).map((img, i) => `${psnr(img.data, clean[i]!.data).toFixed(1)} dB`),
  });
}
