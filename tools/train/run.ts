// A training run on disk: runs/<name>/ with spec, weights, config, history, pictures and a resumable checkpoint.
import { access, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { constants } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { described, invalid } from 'onnx-denoiser-common';
import { loadDataset, type Dataset } from '../data/datasets.js';
import type { PhotoFolderOptions } from '../data/photo-folder.js';
import { TEMP_FILE_PATTERN, writeFileAtomic } from 'onnx-denoiser-node/internal';
import { timestamp } from '../io/timestamp.js';
import { parseSafetensors, serializeSafetensors } from '../model/safetensors.js';
import { checkWeights, type WeightTensor } from '../model/build-tfjs.js';
import { identityWeights, noiseMapKernels, widenedWeights } from '../model/identity-layers.js';
import { rangeDefs } from '../layers/quantization.js';
import { imageGrid, lineChart } from '../report/pictures.js';
import type { Progress } from '../report/progress.js';
import { loadSpec, parseSpec, serializeSpec, type NetworkSpec } from '../layers/spec.js';
import { initBackend, type BackendInfo } from './backends.js';
import { LATEST_FILE, runFile, RUN_FILES, RUNS_DIR, weightsEpoch } from './run-folder.js';
import { Trainer, type EpochRecord, type PartialEpoch, type TrainSettings, type TrainState } from './trainer.js';
import { limitImageSet } from '../data/image-set.js';

/** What `tools train` was asked for, already validated. */
export interface RunRequest {
  specPath: string;
  dataset: string;
  settings: TrainSettings;
  /** Use at most this many training and validation images. */
  limit?: number;
  /** Run folder; default runs/<spec name>-<timestamp>. */
  out?: string;
  backend: string;
  /** `wasm` backend: XNNPACK threads (default: the physical cores). */
  threads?: number;
  /** Continue the run in this folder (its settings win, except a larger epoch count). */
  resume?: string;
  /** Whether --epochs was given explicitly (on resume it may extend the run). */
  epochsGiven?: boolean;
  download?: boolean;
  /** Fine-tuning: a weights.safetensors file (or a run folder holding one) to start from. */
  initWeights?: string;
  /** With initWeights: conv2d layers the weights do not have, inserted into that network, that start as the identity. */
  initIdentity?: string[];
  /** With initWeights: layers of the spec with more channels than the weights' are widened (see widenedWeights), seeded by the run's seed. */
  initWiden?: boolean;
  /** `folder:<dir>` datasets: patch size and patch counts (kept in config.json, reused on resume). */
  photoFolder?: PhotoFolderOptions;
}

/** The outcome of a run. */
export interface RunResult {
  dir: string;
  history: EpochRecord[];
  interrupted: boolean;
  /** Where an interrupted run stopped inside an epoch (its checkpoint holds that point). */
  stopped?: { epoch: number; batch: number; batches: number };
  /** A finished run whose weights, history, card and pictures lagged its checkpoint (killed while writing them) and were rewritten. */
  repaired?: boolean;
  backend: BackendInfo;
}

const CHECKPOINT_FORMAT = 'onnx-denoiser/checkpoint';
/** The config keys that say what a run started from (`--init-weights`, `--init-identity`, `--init-widen`). */
const LINEAGE_KEYS = ['initialWeights', 'initialIdentity', 'initialWidened'] as const;

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Throws unless `dir` can be created (nearest existing ancestor is a writable folder) and is new or empty. */
async function checkNewRunDir(dir: string): Promise<void> {
  if (await exists(dir)) {
    const entries = await readdir(dir).catch(() => null);
    if (entries === null) throw invalid('a folder', '--out', described(`${dir}, which is a file`));
    if (entries.length > 0) throw invalid('a new or empty folder', '--out', described(`${dir}, which holds ${entries.length} entries (use --resume to continue a run)`));
  }
  let ancestor = resolve(dir);
  while (!(await exists(ancestor))) ancestor = dirname(ancestor);
  try {
    await access(ancestor, constants.W_OK);
  } catch {
    throw invalid('a writable location', '--out', described(`${dir} (${ancestor} is not writable)`));
  }
  if (!(await stat(ancestor)).isDirectory()) throw invalid('a folder path', '--out', described(`${dir} (${ancestor} is a file)`));
}

function packageVersions(): Record<string, string> {
  const require = createRequire(import.meta.url);
  const versions: Record<string, string> = { node: process.versions.node };
  for (const name of ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-backend-webgpu']) {
    try {
      versions[name] = (require(`${name}/package.json`) as { version: string }).version;
    } catch {
      // not installed
    }
  }
  return versions;
}

function toTensorMap(state: TrainState): Map<string, WeightTensor> {
  const tensors = new Map(state.weights);
  for (const [key, value] of state.optimizer.slots) tensors.set(`optimizer.${key}`, value);
  return tensors;
}

async function saveCheckpoint(dir: string, state: TrainState): Promise<void> {
  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    epochsDone: String(state.epochsDone),
    iterations: String(state.optimizer.iterations),
    rng: JSON.stringify(state.rng),
    settings: JSON.stringify(state.settings),
    history: JSON.stringify(state.history),
  };
  // Both optional on reading: checkpoints written before them resume as before (beta powers recomputed, epoch boundary).
  if (state.optimizer.betaPowers) metadata.betaPowers = JSON.stringify(state.optimizer.betaPowers);
  if (state.partial) metadata.partial = JSON.stringify(state.partial);
  await writeFileAtomic(runFile(dir, 'checkpoint'), serializeSafetensors(toTensorMap(state), metadata), { overwrite: true });
}

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The checkpoint of a run folder, or undefined when it has none yet (stopped before its first save). */
async function loadCheckpoint(dir: string): Promise<TrainState | undefined> {
  const path = runFile(dir, 'checkpoint');
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch {
    return undefined;
  }
  const { tensors, metadata } = parseSafetensors(bytes, path);
  if (metadata.format !== CHECKPOINT_FORMAT) throw invalid(`"${CHECKPOINT_FORMAT}"`, `the format of ${path}`, metadata.format, { argument: path });
  const weights = new Map<string, WeightTensor>();
  const slots = new Map<string, WeightTensor>();
  for (const [name, tensor] of tensors) {
    if (name.startsWith('optimizer.')) slots.set(name.slice('optimizer.'.length), tensor);
    else weights.set(name, tensor);
  }
  const betaPowers = metadata.betaPowers === undefined ? undefined : (JSON.parse(metadata.betaPowers) as unknown);
  if (betaPowers !== undefined && !(Array.isArray(betaPowers) && betaPowers.length === 2 && betaPowers.every(isFiniteNumber))) {
    throw invalid('two numbers', `betaPowers in ${path}`, described(String(metadata.betaPowers)), { argument: path });
  }
  const partial = metadata.partial === undefined ? undefined : (JSON.parse(metadata.partial) as PartialEpoch);
  if (partial !== undefined && !(Number.isInteger(partial.batchesDone) && partial.batchesDone >= 0 && isFiniteNumber(partial.lossSum) && Number.isInteger(partial.seen) && isFiniteNumber(partial.seconds) && partial.epochRng)) {
    throw invalid("a stopped epoch's progress", `partial in ${path}`, described(String(metadata.partial)), { argument: path });
  }
  return {
    settings: JSON.parse(metadata.settings!) as TrainSettings,
    epochsDone: Number(metadata.epochsDone),
    weights,
    optimizer: { iterations: Number(metadata.iterations), slots, ...(betaPowers ? { betaPowers: betaPowers as [number, number] } : {}) },
    rng: JSON.parse(metadata.rng!),
    history: JSON.parse(metadata.history!) as EpochRecord[],
    ...(partial ? { partial } : {}),
  };
}

/** Removes the temp files (`.<name>.<8 hex>.tmp`) a killed run left in its folder; returns their names. */
async function removeStaleTempFiles(dir: string): Promise<string[]> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => TEMP_FILE_PATTERN.test(n));
  await Promise.all(names.map((n) => rm(join(dir, n), { force: true })));
  return names;
}


async function writePictures(dir: string, spec: NetworkSpec, trainer: Trainer, data: Dataset, settings: TrainSettings): Promise<void> {
  const history = trainer.records;
  if (history.length > 0) {
    // The psnr loss is in dB, not on the MSE axis: only validation MSE is drawn then.
    const chart = await lineChart(
      [
        ...(settings.loss === 'psnr' ? [] : [{ name: 'train loss', points: history.map((r): [number, number] => [r.epoch, r.trainLoss]) }]),
        { name: 'validation loss', points: history.map((r) => [r.epoch, r.valLoss]) },
      ],
      { title: `${spec.name}: MSE per epoch`, xLabel: 'epoch', yLabel: 'mean squared error' },
    );
    await writeFileAtomic(runFile(dir, 'lossCurve'), chart, { overwrite: true });
  }
  const samples = await trainer.samples(10);
  const grid = await imageGrid(
    [
      { label: 'noisy', images: samples.noisy },
      { label: 'denoised', images: samples.denoised },
      { label: 'clean', images: samples.clean },
    ],
    { height: data.test.height, width: data.test.width, channels: data.test.channels, title: `${spec.name}: the first ${samples.clean.length} test images` },
  );
  await writeFileAtomic(runFile(dir, 'samples'), grid, { overwrite: true });
}

/** The card's words for the noise options beyond kind and factor. */
function noiseExtras(noise: TrainSettings['noise']): string {
  const parts = [
    noise.cleanShare ? `${Math.round(noise.cleanShare * 100)}% of images left clean` : '',
    noise.quantize ? 'noisy inputs rounded to 8 bits' : '',
    noise.greyShared ? 'grey images with one noise for all channels' : '',
  ].filter(Boolean);
  return parts.length ? `; ${parts.join(', ')}` : '';
}

function card(spec: NetworkSpec, config: Record<string, unknown>, history: EpochRecord[]): string {
  const last = history.at(-1);
  const settings = config.settings as TrainSettings;
  const data = config.data as { name: string; split: string; train: number; test: number };
  const rows = history.map((r) => `| ${r.epoch} | ${r.trainLoss.toFixed(5)} | ${r.valLoss.toFixed(5)} | ${r.valPsnr.toFixed(2)} | ${r.seconds.toFixed(1)} | ${Math.round(r.imagesPerSecond)} |`);
  return [
    `# ${spec.name}`,
    '',
    spec.description,
    '',
    `- data: ${data.name} (${data.train} train / ${data.test} validation images); ${data.split}`,
    `- noise: ${settings.noise.kind}, ${settings.noise.maxFactor === undefined ? `factor ${settings.noise.factor}` : `factor drawn per image from ${settings.noise.factor} to ${settings.noise.maxFactor} (${spec.input.noiseMap === undefined ? 'blind' : 'the level told through the noise map'}${settings.noise.power ? `, as LOW + (HIGH - LOW) u^${settings.noise.power}` : ''})`}${noiseExtras(settings.noise)}`,
    ...(spec.input.noiseMap === undefined ? [] : [`- noise map "${spec.input.noiseMap}": each image's factor${settings.noise.mapJitter ? ` times (1 + ${settings.noise.mapJitter} z), z standard normal, while training` : ''}; the exact factor for validation`]),
    ...(typeof config.initialWeights === 'string' ? [`- started from the weights of ${config.initialWeights}${Array.isArray(config.initialIdentity) ? `, with ${(config.initialIdentity as string[]).join(', ')} inserted as the identity` : ''}${Array.isArray(config.initialWidened) ? `, with ${(config.initialWidened as string[]).join(', ')} widened (new channels' weights drawn, their fan-out 0)` : ''}`] : []),
    `- training: Adam (lr ${settings.learningRate}${settings.lrSchedule === 'cosine' ? ', cosine schedule down to 2%' : ''}), ${settings.loss === 'psnr' ? 'per-image PSNR loss (mean of 10 log10(MSE + 10^-4.5))' : 'MSE'}, ${settings.epochs} epochs, batch ${settings.batchSize}, seed ${settings.seed}`,
    ...(spec.quantization ? [`- quantization: ${spec.quantization}, trained through the rounding (per-channel int8 weights, uint8 activations with running-maximum ranges, straight-through gradients)`] : []),
    `- backend: ${(config.backend as BackendInfo).description}`,
    last ? `- final validation: MSE ${last.valLoss.toFixed(5)}, PSNR ${last.valPsnr.toFixed(2)} dB (noisy input ${last.noisyPsnr.toFixed(2)} dB)` : '- no epoch finished',
    ...(last?.shift ? [`- colour shift (largest per-channel mean change, 8-bit levels): ${last.shift.noisy.toFixed(2)} on the noisy validation images, ${last.shift.clean.toFixed(2)} on the clean ones given as input`] : []),
    '',
    `| epoch | ${settings.loss === 'psnr' ? 'train loss (dB)' : 'train MSE'} | validation MSE | validation PSNR (dB) | seconds | images/s |`,
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    `![loss curve](${RUN_FILES.lossCurve})`,
    '',
    `![noisy, denoised, clean](${RUN_FILES.samples})`,
    '',
  ].join('\n');
}

/**
 * Writes what a finished epoch leaves besides the checkpoint: history, pictures, card, then the weights (last, so
 * their `epochs` vouches for the rest), then runs/latest.
 */
async function writeEpochFiles(dir: string, spec: NetworkSpec, trainer: Trainer, data: Dataset, config: Record<string, unknown>, weights: Map<string, WeightTensor>): Promise<void> {
  const epochs = trainer.completedEpochs;
  await writeFileAtomic(runFile(dir, 'history'), `${JSON.stringify(trainer.records, null, 2)}\n`, { overwrite: true });
  await writePictures(dir, spec, trainer, data, config.settings as TrainSettings);
  await writeFileAtomic(runFile(dir, 'card'), card(spec, config, [...trainer.records]), { overwrite: true });
  await writeFileAtomic(runFile(dir, 'weights'), serializeSafetensors(weights, { format: 'onnx-denoiser/weights', spec: spec.name, layout: 'TF: conv2d kernels [kh, kw, in, out], conv2dTranspose kernels [kh, kw, out, in]', epochs: String(epochs) }), { overwrite: true });
  // Only runs with weights become the latest: export and --resume read it.
  await writeFileAtomic(LATEST_FILE, `${relative(process.cwd(), resolve(dir)) || '.'}\n`, { overwrite: true });
}

/**
 * The weights a fine-tuning run starts from: a safetensors file, or a run folder's weights.safetensors, checked
 * against the spec (names and shapes).
 * @throws ValidationError naming --init-weights for a missing file or weights that do not fit the spec.
 */
async function readInitialWeights(source: string, spec: NetworkSpec, identity: readonly string[] = [], widenSeed?: number): Promise<{ tensors: Map<string, WeightTensor>; widened: string[] }> {
  const file = (await stat(source).then((s) => s.isDirectory(), () => false)) ? runFile(source, 'weights') : source;
  const bytes = await readFile(file).catch(() => {
    throw invalid(`a ${RUN_FILES.weights} file or a run folder holding one`, '--init-weights', described(source));
  });
  const { tensors } = parseSafetensors(bytes, file);
  for (const [name, tensor] of noiseMapKernels(spec, tensors)) tensors.set(name, tensor);
  for (const [name, tensor] of identityWeights(spec, identity, '--init-identity')) {
    if (tensors.has(name)) throw invalid(`a layer that ${file} does not have (one inserted into its network)`, '--init-identity', described(`"${name.split('.')[0]}", which it has`));
    tensors.set(name, tensor);
  }
  // Float weights into an int8 spec: each range starts at 0, which the first training batch replaces by its maximum.
  for (const def of rangeDefs(spec)) if (!tensors.has(def.name)) tensors.set(def.name, { shape: [...def.shape], data: new Float32Array(def.shape[0]!) });
  const widened = widenSeed === undefined ? new Map<string, WeightTensor>() : widenedWeights(spec, tensors, widenSeed);
  for (const [name, tensor] of widened) tensors.set(name, tensor);
  checkWeights(spec, tensors, file);
  return { tensors, widened: [...widened.keys()].filter((n) => n.endsWith('.kernel')).map((n) => n.slice(0, -'.kernel'.length)) };
}

/**
 * Runs (or resumes) training and writes the run folder. Every check that can fail on the arguments runs
 * before the folder is created, so bad input leaves nothing behind. `--resume` also takes a folder that has no
 * checkpoint yet (it starts from the first epoch), removes temp files a killed run left, finishes a stopped epoch
 * exactly, and brings a finished run's files up to date when it was killed while writing them.
 */
export async function runTraining(request: RunRequest, progress: Progress, shouldStop: () => boolean = () => false): Promise<RunResult> {
  let spec: NetworkSpec;
  let settings = request.settings;
  let resumeState: TrainState | undefined;
  let dir: string;
  let dataset = request.dataset;
  let limit = request.limit;
  let photoFolder = request.photoFolder;
  let repairOnly = false;
  let initialWeights: Map<string, WeightTensor> | undefined;
  let widened: string[] = [];
  // Where a resumed run started from: its first config holds it, and the card keeps saying it.
  let lineage: Record<string, unknown> = {};

  if (request.resume !== undefined) {
    dir = request.resume;
    const configText = await readFile(runFile(dir, 'config'), 'utf8').catch(() => {
      throw invalid(`a run folder with ${RUN_FILES.config}`, '--resume', described(dir));
    });
    const config = JSON.parse(configText) as { settings: TrainSettings; data: { name: string; limit?: number; photoFolder?: PhotoFolderOptions } } & Record<string, unknown>;
    lineage = Object.fromEntries(LINEAGE_KEYS.filter((key) => config[key] !== undefined).map((key) => [key, config[key]]));
    spec = parseSpec(JSON.parse(await readFile(runFile(dir, 'spec'), 'utf8')), runFile(dir, 'spec'));
    resumeState = await loadCheckpoint(dir);
    settings = { ...config.settings, epochs: request.epochsGiven ? request.settings.epochs : config.settings.epochs };
    dataset = config.data.name;
    limit = config.data.limit;
    photoFolder = config.data.photoFolder;
    if (resumeState && resumeState.epochsDone >= settings.epochs) {
      // Killed between the checkpoint and the weights: the other files lag behind it and are rewritten from it.
      const held = await weightsEpoch(dir);
      if (held === undefined || held === resumeState.epochsDone) {
        throw invalid('a run with epochs left', '--resume', described(`${dir}, which finished ${resumeState.epochsDone} of ${settings.epochs} (raise --epochs to continue)`));
      }
      repairOnly = true;
    }
    const removed = await removeStaleTempFiles(dir);
    if (removed.length) progress.line(`removed ${removed.length} temp file${removed.length === 1 ? '' : 's'} a killed run left in ${dir}: ${removed.join(', ')}`);
  } else {
    spec = await loadSpec(request.specPath);
    if (spec.input.noiseMap !== undefined && settings.noise.kind !== 'gaussian') {
      throw invalid('gaussian noise for a spec with a noise map (its level is the noise\'s standard deviation)', '--noise', settings.noise.kind);
    }
    dir = request.out ?? join(RUNS_DIR, `${spec.name}-${timestamp()}`);
    await checkNewRunDir(dir);
    if (request.initWeights !== undefined) {
      ({ tensors: initialWeights, widened } = await readInitialWeights(request.initWeights, spec, request.initIdentity, request.initWiden ? settings.seed : undefined));
      if (request.initWiden && widened.length === 0) throw invalid(`a spec with wider layers than the weights of ${request.initWeights}`, '--init-widen', described(`${request.specPath}, whose layers all match them`));
    }
  }

  const backend = await initBackend(request.backend, request.threads !== undefined ? { threads: request.threads } : {});
  for (const skip of backend.skipped) progress.line(`backend: skipped ${skip}`);
  progress.line(`backend: ${backend.description}`);

  const data = await loadDataset(dataset, { download: request.download, photoFolder });
  for (const note of data.notes) progress.line(note);
  const train = limit ? limitImageSet(data.train, limit) : data.train;
  const test = limit ? limitImageSet(data.test, limit) : data.test;
  progress.line(`data: ${data.name}, ${train.count} training and ${test.count} validation images of ${train.height}x${train.width}x${train.channels}`);
  if (train.channels !== spec.input.channels) {
    throw invalid(`a spec whose input has the data's ${train.channels} channel(s) (${data.name})`, '--spec', described(`"${spec.name}" with ${spec.input.channels}`));
  }

  const config = {
    format: 'onnx-denoiser/run',
    spec: spec.name,
    settings,
    ...lineage,
    ...(request.initWeights !== undefined ? { initialWeights: request.initWeights } : {}),
    ...(request.initIdentity?.length ? { initialIdentity: request.initIdentity } : {}),
    ...(widened.length ? { initialWidened: widened } : {}),
    data: { name: data.name, source: data.source, split: data.split, train: train.count, test: test.count, limit, ...(photoFolder ? { photoFolder } : {}), notes: data.notes },
    backend,
    versions: packageVersions(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', platform: `${process.platform}-${process.arch}` },
    created: new Date().toISOString(),
  };

  const created = !(await exists(dir));
  await mkdir(dir, { recursive: true });
  const trainer = new Trainer({ spec, train, test, settings, resume: resumeState, initialWeights, resampleTrain: data.resampleTrain, onBatch: (p) => {
    progress.update(p.batch, { loss: p.loss.toFixed(5), 'img/s': String(Math.round(p.imagesPerSecond)) });
  }, shouldStop });
  try {
    await trainer.restoreOptimizer();
    await writeFileAtomic(runFile(dir, 'spec'), serializeSpec(spec), { overwrite: true });
    await writeFileAtomic(runFile(dir, 'config'), `${JSON.stringify(config, null, 2)}\n`, { overwrite: true });
    if (repairOnly) {
      await writeEpochFiles(dir, spec, trainer, data, config, resumeState!.weights);
      progress.line(`${dir} had finished ${resumeState!.epochsDone} of ${settings.epochs} epochs but was stopped while writing its files: weights, history, card and pictures now hold epoch ${resumeState!.epochsDone}`);
      return { dir, history: [...trainer.records], interrupted: false, repaired: true, backend };
    }
    if (request.resume !== undefined && !resumeState) progress.line(`resuming ${dir}: it has no checkpoint yet (stopped before its first save), so training starts at epoch 1 of ${settings.epochs}`);
    else if (resumeState?.partial) progress.line(`resuming ${dir} in epoch ${resumeState.epochsDone + 1} of ${settings.epochs}, after batch ${resumeState.partial.batchesDone}`);
    else if (resumeState) progress.line(`resuming ${dir} after epoch ${resumeState.epochsDone} of ${settings.epochs}`);

    let interrupted = false;
    let stopped: RunResult['stopped'];
    while (trainer.completedEpochs < settings.epochs) {
      const batches = Math.ceil(train.count / settings.batchSize);
      progress.start(`epoch ${trainer.completedEpochs + 1}/${settings.epochs}`, batches);
      const record = await trainer.runEpoch();
      progress.stop();
      if (!record) {
        // Stopped inside the epoch: the checkpoint keeps where, so --resume finishes it as if never stopped.
        await saveCheckpoint(dir, await trainer.state());
        interrupted = true;
        stopped = { epoch: trainer.completedEpochs + 1, batch: trainer.batchesDone, batches };
        break;
      }
      progress.line(
        `epoch ${record.epoch}/${settings.epochs}: train loss ${record.trainLoss.toFixed(5)}, validation loss ${record.valLoss.toFixed(5)}, ` +
          `validation PSNR ${record.valPsnr.toFixed(2)} dB (noisy ${record.noisyPsnr.toFixed(2)} dB), colour shift ${record.shift!.noisy.toFixed(2)} / ${record.shift!.clean.toFixed(2)} (noisy / clean input), ${record.seconds.toFixed(1)} s, ${Math.round(record.imagesPerSecond)} images/s`,
      );
      const state = await trainer.state();
      // The checkpoint first: it is what --resume trusts; the files after it are rewritten from it when they lag.
      await saveCheckpoint(dir, state);
      await writeEpochFiles(dir, spec, trainer, data, config, state.weights);
      if (shouldStop()) {
        interrupted = trainer.completedEpochs < settings.epochs;
        break;
      }
    }
    return { dir, history: [...trainer.records], interrupted, ...(stopped ? { stopped } : {}), backend };
  } catch (error) {
    // A fresh run that failed before its first checkpoint leaves no folder behind.
    if (created && !(await exists(runFile(dir, 'checkpoint')))) await rm(dir, { recursive: true, force: true });
    throw error;
  } finally {
    trainer.dispose();
  }
}
