// `tools eval`: PSNR and SSIM of the noisy input, classical baselines and ONNX models at chosen noise levels (a dataset's test split, or a folder of photos at sigmas on the 0..255 scale); markdown tables and picture grids.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { CommandModule } from 'yargs';
import { check, checkInteger, invalid, checkDeviceName, DEFAULT_MODEL_NAME, isModelName, SHIPPED_MODELS } from 'onnx-denoiser-common';
import { NODE_DEVICES, writeFileAtomic } from 'onnx-denoiser-node/internal';
import { checkDatasetName, loadDataset } from '../data/datasets.js';
import { limitImageSet } from '../data/image-set.js';
import { checkNoiseFactor, checkNoiseKind, NOISE_KIND_NAMES } from '../data/noise.js';
import { evaluate, imageSetToFloat, markdownTable } from '../eval/evaluate.js';
import { COLOUR_MODES, type ColourMode, DEFAULT_SIGMAS, DEFAULT_TUNE_SIDE, evaluatePhotos, loadPhotos } from '../eval/photo-eval.js';
import { photoGridName, photoReport, photoScoreTable } from '../eval/photo-report.js';
import { BASELINE_NAMES, type BaselineName } from '../eval/tune-baselines.js';
import { timestamp } from '../io/timestamp.js';
import { RUNS_DIR } from '../train/run-folder.js';

interface EvalArgs {
  model?: string[];
  dataset: string;
  images?: string;
  noise: string;
  levels?: string;
  sigmas?: string;
  colour?: string;
  baselines?: string;
  maxSide?: number;
  crop?: number;
  tuneSide?: number;
  knownSigma: boolean;
  estimateScales?: string;
  limit?: number;
  seed: number;
  device: string;
  out?: string;
  json: boolean;
}

/** The `eval` command. */
export const evalCommand: CommandModule<object, EvalArgs> = {
  command: 'eval',
  describe: 'Score ONNX models by PSNR and SSIM against the noisy input and classical baselines: on a test split (Gaussian blur at its best sigma, 3x3 median), or on a folder of clean photos (tuned bilateral, TV, NLM, wavelet and blur, RGB and grey, colour shift, time)',
  builder: (y) =>
    y
      .option('model', { type: 'string', array: true, describe: `ONNX model(s) to score: shipped names (${Object.keys(SHIPPED_MODELS).join(', ')}) or files; repeat for several (default: ${DEFAULT_MODEL_NAME})` })
      .option('dataset', { type: 'string', default: 'fashion-mnist', describe: 'test split of fashion-mnist, mnist, idx:<dir> or folder:<dir>' })
      .option('images', { type: 'string', describe: 'a folder of clean photos instead of --dataset: tuned classical baselines and the models in RGB and grey at --sigmas' })
      .option('noise', { type: 'string', default: 'gaussian', describe: `noise kind: ${NOISE_KIND_NAMES.join(', ')} (--images: gaussian only)` })
      .option('levels', { type: 'string', describe: 'noise factors on the 0..1 scale, comma-separated (default 0.2,0.4,0.6; with --images: Gaussian sigma / 255, instead of --sigmas)' })
      .option('sigmas', { type: 'string', describe: `--images: Gaussian noise sigmas on the 0..255 scale, comma-separated (default ${DEFAULT_SIGMAS.join(',')})` })
      .option('colour', { type: 'string', describe: `--images: colour modes, ${COLOUR_MODES.join(',')} (default both; grey photos are scored in grey only)` })
      .option('baselines', { type: 'string', describe: `--images: classical baselines, ${BASELINE_NAMES.join(',')} or none (default all)` })
      .option('crop', { type: 'number', describe: '--images: score the centre square of at most NxN pixels of each photo, at its own scale (after --max-side; default: whole photos)' })
      .option('max-side', { type: 'number', describe: '--images: downscale photos whose longer side is over N pixels (default: none)' })
      .option('tune-side', { type: 'number', describe: `--images: side of the centre crops the baselines are tuned on (default ${DEFAULT_TUNE_SIDE})` })
      .option('known-sigma', { type: 'boolean', default: false, describe: '--images: also score models that take a noise level when told the true sigma (by default they estimate it, as denoise does)' })
      .option('estimate-scales', { type: 'string', describe: '--images: also score models that take a noise level when told these factors of the plain noise estimate (comma-separated, e.g. 0.8,0.9,1): how `auto` (autoNoiseLevel) was chosen' })
      .option('limit', { type: 'number', describe: 'score only the first N images (photos)' })
      .option('seed', { type: 'number', default: 1, describe: 'seed of the noise' })
      .option('device', { type: 'string', default: 'cpu', describe: 'onnxruntime device for the models: auto, cpu, webgpu, cuda' })
      .option('out', { type: 'string', describe: 'folder for eval.md, eval.json and the grids (default runs/eval-<time>)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON instead of the table' }) as never,
  handler: async (args) => {
    if (args.images !== undefined) return photoHandler(args);
    for (const [value, name] of [[args.sigmas, '--sigmas'], [args.colour, '--colour'], [args.baselines, '--baselines'], [args.maxSide, '--max-side'], [args.crop, '--crop'], [args.tuneSide, '--tune-side'], [args.knownSigma || undefined, '--known-sigma'], [args.estimateScales, '--estimate-scales']] as const) {
      check(value === undefined, 'no value without --images (photos only)', name, value);
    }
    const noise = checkNoiseKind(args.noise, '--noise');
    const levelsText = args.levels ?? '0.2,0.4,0.6';
    const levels = String(levelsText).split(',').map((t) => t.trim());
    check(levels.length > 0 && levels.every((t) => t !== '' && Number.isFinite(Number(t))), 'comma-separated numbers such as 0.2,0.4,0.6', '--levels', levelsText);
    const factors = levels.map((t) => checkNoiseFactor(noise, Number(t), '--levels'));
    const limit = args.limit === undefined ? undefined : checkInteger(args.limit, '--limit', { min: 1 });
    const seed = checkInteger(args.seed, '--seed', { min: 0, max: 2 ** 31 - 1 });
    const device = checkDeviceName(args.device, NODE_DEVICES, '--device') as 'auto' | 'cpu' | 'webgpu' | 'cuda';
    const models = modelEntries(args.model);
    checkDatasetName(args.dataset, '--dataset');
    const out = args.out ?? path.join(RUNS_DIR, `eval-${timestamp()}`);
    const say = (text: string) => process.stderr.write(`${text}\n`);

    const data = await loadDataset(args.dataset);
    const test = limit ? limitImageSet(data.test, limit) : data.test;
    const images = imageSetToFloat(test);
    const source = `${data.name} test split, ${test.count} images`;
    say(`eval: ${source}; ${noise} noise at ${factors.join(', ')}; ${models.length} model(s) on ${device}`);
    await mkdir(out, { recursive: true });
    const result = await evaluate({
      images,
      source,
      noise,
      levels: factors,
      seed,
      models,
      device,
      onLine: say,
      onGrid: (level, png) => writeFileAtomic(path.join(out, `eval-${noise}-${level}.png`), png, { overwrite: true }),
    });
    const table = markdownTable(result);
    const modelLines = result.models.map((m) => `- ${m.name}: ${m.file} (trained for ${m.trainedFor}; run on ${m.device})`);
    const report = [
      `# tools eval: ${result.source}`,
      '',
      `Mean per-image PSNR (dB) / SSIM (11x11 Gaussian window, sigma 1.5) against the clean images; ${noise} noise, seed ${seed}. The blur's sigma is tuned per level on the first 500 images (an optimistic baseline).`,
      '',
      ...modelLines,
      '',
      table,
      '',
      ...factors.map((f) => `![${noise} ${f}](eval-${noise}-${f}.png)`),
      '',
    ].join('\n');
    await writeFileAtomic(path.join(out, 'eval.md'), report, { overwrite: true });
    await writeFileAtomic(path.join(out, 'eval.json'), `${JSON.stringify(result, null, 2)}\n`, { overwrite: true });
    process.stdout.write(args.json ? `${JSON.stringify(result)}\n` : `${table}\n`);
    say(`wrote ${path.join(out, 'eval.md')}, eval.json and ${factors.length} grid(s)`);
  },
};

/** Shipped models go by their names in the tables (two may share a spec name, as the blind variant does). */
function modelEntries(model: string[] | undefined) {
  return (model ?? [DEFAULT_MODEL_NAME]).map((file) => ({ file, ...(isModelName(file) ? { label: file } : {}) }));
}

/**
 * Distinct comma-separated numbers from `min` to `max` for the option `name`: `accepted` says what is expected (e.g.
 * "comma-separated numbers from 0 to 255 such as 10,15,25,50"), `distinct` what repeats are not.
 */
function parseNumberList(value: unknown, name: string, { min, max, accepted, distinct }: { min: number; max: number; accepted: string; distinct: string }): number[] {
  const parts = String(value).split(',').map((t) => t.trim());
  const numbers = parts.map(Number);
  check(typeof value === 'string' && parts.every((t) => t !== '') && numbers.every((n) => Number.isFinite(n) && n >= min && n <= max), accepted, name, value);
  check(new Set(numbers).size === numbers.length, distinct, name, value);
  return numbers;
}

/** `--sigmas`: comma-separated numbers from 0 to 255. */
const parseSigmas = (value: unknown) => parseNumberList(value, '--sigmas', { min: 0, max: 255, accepted: 'comma-separated numbers from 0 to 255 such as 10,15,25,50', distinct: 'distinct sigmas' });

/** `--estimate-scales`: distinct comma-separated factors from 0 to 4. */
const parseScales = (value: unknown) => parseNumberList(value, '--estimate-scales', { min: 0, max: 4, accepted: 'comma-separated factors from 0 to 4 such as 0.8,0.9,1', distinct: 'distinct factors' });

/** `--levels` with `--images`: Gaussian factors from 0 to 1 (sigma / 255), as sigmas on the 0..255 scale. */
function levelsAsSigmas(value: unknown): number[] {
  const parts = String(value).split(',').map((t) => t.trim());
  const factors = parts.map(Number);
  check(parts.every((t) => t !== '') && factors.every((f) => Number.isFinite(f) && f >= 0 && f <= 1), 'comma-separated factors from 0 to 1 such as 0.1,0.2 (sigma / 255) with --images', '--levels', value);
  return parseSigmas(factors.map((f) => Number((f * 255).toFixed(6))).join(','));
}

/** A comma-separated list of `choices` (`none` for an empty one where allowed), in the given order, each at most once. */
function parseList<T extends string>(value: unknown, choices: readonly T[], name: string, allowNone: boolean): T[] {
  const accepted = `a comma-separated list of ${choices.map((c) => `"${c}"`).join(', ')}${allowNone ? ' (or "none")' : ''}`;
  if (typeof value !== 'string') throw invalid(accepted, name, value);
  if (allowNone && value.trim() === 'none') return [];
  const items = value.split(',').map((t) => t.trim());
  check(items.length > 0 && items.every((t) => (choices as readonly string[]).includes(t)) && new Set(items).size === items.length, accepted, name, value);
  return items as T[];
}

/** `tools eval --images`: the photo evaluation. */
async function photoHandler(args: EvalArgs): Promise<void> {
  check(args.noise === 'gaussian', '"gaussian" with --images (photos take --sigmas)', '--noise', args.noise);
  check(args.levels === undefined || args.sigmas === undefined, 'either --sigmas or --levels with --images, not both', '--levels', args.levels);
  const sigmas = args.sigmas !== undefined ? parseSigmas(args.sigmas) : args.levels !== undefined ? levelsAsSigmas(args.levels) : [...DEFAULT_SIGMAS];
  const colours = args.colour === undefined ? [...COLOUR_MODES] : parseList<ColourMode>(args.colour, COLOUR_MODES, '--colour', false);
  const baselines = args.baselines === undefined ? [...BASELINE_NAMES] : parseList<BaselineName>(args.baselines, BASELINE_NAMES, '--baselines', true);
  const maxSide = args.maxSide === undefined ? undefined : checkInteger(args.maxSide, '--max-side', { min: 16 });
  const crop = args.crop === undefined ? undefined : checkInteger(args.crop, '--crop', { min: 16 });
  const tuneSide = args.tuneSide === undefined ? DEFAULT_TUNE_SIDE : checkInteger(args.tuneSide, '--tune-side', { min: 8 });
  const limit = args.limit === undefined ? undefined : checkInteger(args.limit, '--limit', { min: 1 });
  const seed = checkInteger(args.seed, '--seed', { min: 0, max: 2 ** 31 - 1 });
  const device = checkDeviceName(args.device, NODE_DEVICES, '--device') as 'auto' | 'cpu' | 'webgpu' | 'cuda';
  const models = modelEntries(args.model);
  const out = args.out ?? path.join(RUNS_DIR, `eval-${timestamp()}`);
  const say = (text: string) => process.stderr.write(`${text}\n`);

  const photos = await loadPhotos(args.images!, { limit, maxSide, crop, colours });
  check(
    photos.some((p) => colours.some((c) => p[c] !== undefined)),
    'a colour mode the photos have (every photo in the folder is grey)',
    '--colour',
    args.colour,
  );
  const source = `${photos.length} photo(s) from ${args.images}${maxSide ? ` (longer side at most ${maxSide} px)` : ''}${crop ? ` (centre ${crop}x${crop} crops)` : ''}`;
  say(`eval: ${source}; gaussian σ ${sigmas.join(', ')} (0..255); ${colours.join(' and ')}; baselines ${baselines.join(', ') || 'none'}; ${models.length} model(s) on ${device}`);
  await mkdir(out, { recursive: true });
  const result = await evaluatePhotos({
    photos,
    source,
    sigmas,
    colours,
    baselines,
    models,
    device,
    seed,
    tuneSide,
    knownSigma: args.knownSigma,
    ...(args.estimateScales === undefined ? {} : { estimateScales: parseScales(args.estimateScales) }),
    onLine: say,
    onGrid: (colour, sigma, png) => writeFileAtomic(path.join(out, photoGridName(colour, sigma)), png, { overwrite: true }),
  });
  await writeFileAtomic(path.join(out, 'eval.md'), photoReport(result), { overwrite: true });
  await writeFileAtomic(path.join(out, 'eval.json'), `${JSON.stringify(result, null, 2)}\n`, { overwrite: true });
  const tables = result.colours.map((c) => `${c.colour}:\n${photoScoreTable(c)}`).join('\n\n');
  process.stdout.write(args.json ? `${JSON.stringify(result)}\n` : `${tables}\n`);
  say(`wrote ${path.join(out, 'eval.md')}, eval.json and ${result.colours.length * sigmas.length} grid(s) in ${result.seconds.toFixed(1)} s`);
}
