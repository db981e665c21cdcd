// `tools eval`'s engine on a dataset's test split: PSNR and SSIM of noisy inputs, classical baselines and ONNX models over noise levels, with tables and grids; the image-folder listing.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { psnr, ssim, check, describeNoise, invalid, Rng } from 'onnx-denoiser-common';
import { createDenoiser, type Denoiser, type NodeDevice, IMAGE_EXTENSIONS } from 'onnx-denoiser-node/internal';
import { applyNoise, type NoiseKind } from '../data/noise.js';
import { toFloatBatch, type ImageSet } from '../data/image-set.js';
import { imageGrid } from '../report/pictures.js';
import { type FloatImage, gaussianBlur, goldenMax, median3x3 } from './baselines.js';

/** Images the blur baseline's sigma is tuned on (the first ones of the set): enough for a stable optimum. */
export const SIGMA_TUNING_IMAGES = 500;
/** The sigma range searched for the blur baseline. */
export const SIGMA_RANGE = Object.freeze([0.3, 3] as const);
/** Columns of the picture grids. */
const GRID_COLUMNS = 10;

/** One method's scores at one noise level: means over the images. */
export interface Score {
  method: string;
  /** Mean of per-image PSNRs, dB (identical images count as 100 dB). */
  psnr: number;
  /** Mean of per-image SSIMs; null when the images are smaller than SSIM's 11x11 window. */
  ssim: number | null;
  /** E.g. the blur's sigma. */
  note?: string;
}

/** All methods at one noise level. */
export interface LevelResult {
  level: number;
  scores: Score[];
}

/** A model to evaluate. */
export interface ModelEntry {
  /** A path, or a shipped model's name. */
  file: string;
  /** The name in tables (default: the model's own name from its metadata). */
  label?: string;
}

/** What {@link evaluate} needs. */
export interface EvalRequest {
  images: FloatImage[];
  /** Where the images come from, for the report. */
  source: string;
  noise: NoiseKind;
  levels: number[];
  seed: number;
  models: ModelEntry[];
  device: NodeDevice;
  /** Progress lines. */
  onLine?: (text: string) => void;
  /** Writes one PNG grid per level when given: noisy, each method, clean, on the first images. */
  onGrid?: (level: number, png: Buffer) => Promise<void>;
}

/** {@link evaluate}'s result. */
export interface EvalResult {
  source: string;
  noise: NoiseKind;
  count: number;
  size: string;
  models: { file: string; name: string; device: string; trainedFor: string }[];
  levels: LevelResult[];
}

/** The test split of a dataset as float images. */
export function imageSetToFloat(set: ImageSet): FloatImage[] {
  const size = set.height * set.width * set.channels;
  const all = toFloatBatch(set, Array.from({ length: set.count }, (_, i) => i));
  return Array.from({ length: set.count }, (_, i) => ({ data: all.subarray(i * size, (i + 1) * size), width: set.width, height: set.height, channels: set.channels }));
}

/**
 * The names of the image files in `dir` (by extension, hidden files skipped), sorted.
 * @throws ValidationError naming `argument` for a folder that is missing, unreadable or holds no image files.
 */
export async function listImageFiles(dir: string, argument = '--images'): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    throw invalid('a readable folder of images', argument, dir);
  }
  const names = entries.filter((n) => IMAGE_EXTENSIONS.includes(path.extname(n).toLowerCase()) && !n.startsWith('.')).sort();
  check(names.length > 0, `a folder with image files (${IMAGE_EXTENSIONS.join(', ')})`, argument, dir);
  return names;
}

/**
 * "gaussian 0.4" (or a blind range) from the model's metadata; "unknown" for a model that records none. A model with
 * a grey companion says so: its grey images are the companion's work.
 */
export function trainedFor(denoiser: Denoiser): string {
  const noise = denoiser.model.denoiserMetadata?.noise;
  const text = noise ? describeNoise(noise, denoiser.model.noiseMapName) : 'unknown';
  return denoiser.hasGreyCompanion ? `${text}; grey images through its grey companion` : text;
}

function scoreImages(method: string, output: FloatImage[], clean: FloatImage[], note?: string): Score {
  let psnrSum = 0;
  let ssimSum = 0;
  let ssimCount = 0;
  for (let i = 0; i < clean.length; i++) {
    const { data, width, height, channels } = clean[i]!;
    psnrSum += Math.min(100, psnr(output[i]!.data, data));
    if (width >= 11 && height >= 11) {
      ssimSum += ssim(output[i]!.data, data, width, height, { channels });
      ssimCount++;
    }
  }
  return { method, psnr: psnrSum / clean.length, ssim: ssimCount ? ssimSum / ssimCount : null, ...(note ? { note } : {}) };
}

/** A central square of at most `side` pixels: grids show same-size cells whatever the images' sizes. */
function centreCrop(image: FloatImage, side: number): FloatImage {
  const s = Math.min(side, image.width, image.height);
  const x0 = Math.floor((image.width - s) / 2);
  const y0 = Math.floor((image.height - s) / 2);
  const data = new Float32Array(s * s * image.channels);
  for (let y = 0; y < s; y++) data.set(image.data.subarray(((y0 + y) * image.width + x0) * image.channels, ((y0 + y) * image.width + x0 + s) * image.channels), y * s * image.channels);
  return { data, width: s, height: s, channels: image.channels };
}

function sizeText(images: FloatImage[]): string {
  const sizes = new Set(images.map((i) => `${i.width}x${i.height}x${i.channels}`));
  return sizes.size === 1 ? [...sizes][0]! : `${sizes.size} sizes`;
}

/**
 * Scores the noisy input, the Gaussian blur at its best sigma (tuned on the first {@link SIGMA_TUNING_IMAGES}
 * images of each level, so an optimistic baseline), the 3x3 median and every model at every noise level.
 * The noise is seeded: the same request gives the same numbers.
 */
export async function evaluate(request: EvalRequest): Promise<EvalResult> {
  const { images, levels, models, onLine = () => {} } = request;
  check(images.length > 0, 'at least one image', 'images', images.length);
  const opened: { denoiser: Denoiser; file: string; label?: string }[] = [];
  try {
    for (const m of models) opened.push({ denoiser: await createDenoiser({ model: m.file, device: request.device }, { model: '--model' }), file: m.file, label: m.label });
    const results: LevelResult[] = [];
    const uniform = new Set(images.map((i) => `${i.width}x${i.height}x${i.channels}`)).size === 1;
    const gridSide = Math.min(96, ...images.slice(0, GRID_COLUMNS).map((i) => Math.min(i.width, i.height)));
    const gridChannels = images.slice(0, GRID_COLUMNS).every((i) => i.channels === 1) ? 1 : 3;
    for (const level of levels) {
      const rng = new Rng(request.seed);
      const noisy = images.map((img) => ({ ...img, data: applyNoise(request.noise, img.data, new Float32Array(img.data.length), level, rng) }));
      const scores: Score[] = [scoreImages('noisy input', noisy, images)];
      const outputs: { label: string; images: FloatImage[] }[] = [{ label: 'noisy', images: noisy }];

      const tuning = Math.min(SIGMA_TUNING_IMAGES, images.length);
      const tuneScore = (sigma: number) => {
        let sum = 0;
        for (let i = 0; i < tuning; i++) sum += Math.min(100, psnr(gaussianBlur(noisy[i]!, sigma).data, images[i]!.data));
        return sum / tuning;
      };
      const best = goldenMax(tuneScore, SIGMA_RANGE[0], SIGMA_RANGE[1], 0.02);
      const blurred = noisy.map((img) => gaussianBlur(img, best.x));
      scores.push(scoreImages('Gaussian blur', blurred, images, `best sigma ${best.x.toFixed(2)}`));
      outputs.push({ label: `blur s=${best.x.toFixed(2)}`, images: blurred });
      const medians = noisy.map(median3x3);
      scores.push(scoreImages('median 3x3', medians, images));
      outputs.push({ label: 'median 3x3', images: medians });

      for (const { denoiser, file, label } of opened) {
        const started = performance.now();
        const denoised = (await denoiser.denoiseBatch(noisy)) as FloatImage[];
        const seconds = (performance.now() - started) / 1000;
        const name = label ?? denoiser.model.name ?? path.basename(file);
        scores.push(scoreImages(name, denoised, images, `${file}, ${seconds.toFixed(1)} s`));
        outputs.push({ label: name, images: denoised });
      }
      results.push({ level, scores });
      onLine(`noise ${level}: ${scores.map((s) => `${s.method} ${s.psnr.toFixed(2)} dB`).join(', ')}`);

      if (request.onGrid && (uniform || gridSide >= 11)) {
        const rows = [...outputs, { label: 'clean', images }].map((row) => ({
          label: row.label,
          images: row.images.slice(0, GRID_COLUMNS).map((img) => {
            const crop = centreCrop(img, gridSide);
            if (crop.channels === gridChannels) return crop.data;
            // A grey image in an RGB grid: repeat it over three channels.
            return Float32Array.from({ length: crop.data.length * 3 }, (_, i) => crop.data[Math.floor(i / 3)]!);
          }),
        }));
        const captions = images.slice(0, GRID_COLUMNS).map((img, i) => `${psnr(noisy[i]!.data, img.data).toFixed(1)} dB`);
        const png = await imageGrid(rows, {
          height: gridSide,
          width: gridSide,
          channels: gridChannels,
          scale: gridSide <= 32 ? 3 : 1,
          title: `${request.noise} noise ${level}: the first ${rows[0]!.images.length} images (captions: noisy PSNR)`,
          columnCaptions: captions,
        });
        await request.onGrid(level, png);
      }
    }
    return {
      source: request.source,
      noise: request.noise,
      count: images.length,
      size: sizeText(images),
      models: opened.map(({ denoiser, file, label }) => ({
        file,
        name: label ?? denoiser.model.name ?? path.basename(file),
        device: denoiser.device,
        trainedFor: trainedFor(denoiser),
      })),
      levels: results,
    };
  } finally {
    await Promise.all(opened.map((o) => o.denoiser.dispose()));
  }
}

/** The result as a markdown table: one row per method, one column per noise level, "PSNR dB / SSIM". */
export function markdownTable(result: EvalResult): string {
  const methods = result.levels[0]!.scores.map((s) => s.method);
  const header = `| method | ${result.levels.map((l) => `${result.noise} ${l.level}`).join(' | ')} |`;
  const rule = `| --- | ${result.levels.map(() => '---:').join(' | ')} |`;
  const rows = methods.map((method, m) => {
    const cells = result.levels.map((l) => {
      const s = l.scores[m]!;
      const sigma = s.note?.startsWith('best sigma') ? ` (σ ${s.note.slice('best sigma '.length)})` : '';
      return `${s.psnr.toFixed(2)} dB / ${s.ssim === null ? 'n/a' : s.ssim.toFixed(3)}${sigma}`;
    });
    return `| ${method} | ${cells.join(' | ')} |`;
  });
  return [header, rule, ...rows].join('\n');
}
