// `tools eval`: PSNR and SSIM of the noisy input, classical baselines and ONNX models at chosen noise levels; a markdown table and picture grids.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { CommandModule } from 'yargs';
import { check, checkInteger } from '../../runtime-common/validate.js';
import { NODE_DEVICES } from '../../runtime-node/ort-session.js';
import { checkDeviceName } from '../../runtime-common/devices.js';
import { writeFileAtomic } from '../../runtime-node/atomic-file.js';
import { checkDatasetName, loadDataset } from '../data/datasets.js';
import { limitImageSet } from '../data/image-set.js';
import { checkNoiseFactor, checkNoiseKind, NOISE_KIND_NAMES } from '../data/noise.js';
import { DEFAULT_MODEL_NAME, isModelName, SHIPPED_MODELS } from '../../runtime-common/shipped-models.js';
import { evaluate, imageSetToFloat, loadImageFolder, markdownTable } from '../eval/evaluate.js';
import { timestamp } from '../io/timestamp.js';

interface EvalArgs {
  model?: string[];
  dataset: string;
  images?: string;
  noise: string;
  levels: string;
  limit?: number;
  seed: number;
  device: string;
  out?: string;
  json: boolean;
}

/** The `eval` command. */
export const evalCommand: CommandModule<object, EvalArgs> = {
  command: 'eval',
  describe: 'Score the noisy input, Gaussian blur (best sigma), 3x3 median and ONNX models by PSNR and SSIM on the test split or a folder of clean images',
  builder: (y) =>
    y
      .option('model', { type: 'string', array: true, describe: `ONNX model(s) to score: shipped names (${Object.keys(SHIPPED_MODELS).join(', ')}) or files; repeat for several (default: ${DEFAULT_MODEL_NAME})` })
      .option('dataset', { type: 'string', default: 'fashion-mnist', describe: 'test split of fashion-mnist, mnist, idx:<dir> or folder:<dir>' })
      .option('images', { type: 'string', describe: 'a folder of clean images instead of --dataset' })
      .option('noise', { type: 'string', default: 'gaussian', describe: `noise kind: ${NOISE_KIND_NAMES.join(', ')}` })
      .option('levels', { type: 'string', default: '0.2,0.4,0.6', describe: 'noise factors, comma-separated' })
      .option('limit', { type: 'number', describe: 'score only the first N images' })
      .option('seed', { type: 'number', default: 1, describe: 'seed of the noise' })
      .option('device', { type: 'string', default: 'cpu', describe: 'onnxruntime device for the models: auto, cpu, webgpu, cuda' })
      .option('out', { type: 'string', describe: 'folder for eval.md, eval.json and the grids (default runs/eval-<time>)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON instead of the table' }) as never,
  handler: async (args) => {
    const noise = checkNoiseKind(args.noise, '--noise');
    const levels = String(args.levels).split(',').map((t) => t.trim());
    check(levels.length > 0 && levels.every((t) => t !== '' && Number.isFinite(Number(t))), 'comma-separated numbers such as 0.2,0.4,0.6', '--levels', args.levels);
    const factors = levels.map((t) => checkNoiseFactor(noise, Number(t), '--levels'));
    const limit = args.limit === undefined ? undefined : checkInteger(args.limit, '--limit', { min: 1 });
    const seed = checkInteger(args.seed, '--seed', { min: 0, max: 2 ** 31 - 1 });
    const device = checkDeviceName(args.device, NODE_DEVICES, '--device') as 'auto' | 'cpu' | 'webgpu' | 'cuda';
    // Shipped models go by their names in the tables (two may share a spec name, as the blind variant does).
    const models = (args.model ?? [DEFAULT_MODEL_NAME]).map((file) => ({ file, ...(isModelName(file) ? { label: file } : {}) }));
    if (args.images === undefined) checkDatasetName(args.dataset, '--dataset');
    const out = args.out ?? path.join('runs', `eval-${timestamp()}`);
    const say = (text: string) => process.stderr.write(`${text}\n`);

    let images;
    let source: string;
    if (args.images !== undefined) {
      images = await loadImageFolder(args.images, limit);
      source = `${images.length} images from ${args.images}`;
    } else {
      const data = await loadDataset(args.dataset);
      const test = limit ? limitImageSet(data.test, limit) : data.test;
      images = imageSetToFloat(test);
      source = `${data.name} test split, ${test.count} images`;
    }
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
