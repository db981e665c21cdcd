// The training loop: the tutorial's Adam + MSE on noisy/clean pairs, per-epoch validation, resumable state.
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { colourShift, meanPsnr, Rng, type RngState } from 'onnx-denoiser-common';
import { buildModel, getWeights, setWeights, type WeightTensor } from '../model/build-tfjs.js';
import { weightDefs, type NetworkSpec } from '../layers/spec.js';
import { applyNoiseToImages, shareGreyNoise, type NoiseKind } from '../data/noise.js';
import { toFloatBatch, type ImageSet } from '../data/image-set.js';

/** The noise a model is trained against: one factor, or a range drawn per image (`maxFactor`, blind denoising). */
export interface NoiseSettings {
  kind: NoiseKind;
  factor: number;
  /** When set, every image's factor is drawn uniformly from [factor, maxFactor] (validation images too, seeded). */
  maxFactor?: number;
  /** With a range: factors drawn as `factor + (maxFactor - factor) * u^power`; see applyNoiseToImages. Default 1 (uniform). */
  power?: number;
  /** Share of images left clean (training and validation); see applyNoiseToImages. */
  cleanShare?: number;
  /** Noisy inputs rounded to 8 bits. */
  quantize?: boolean;
  /** Grey images (equal channels) get one noise for all channels; see shareGreyNoise. */
  greyShared?: boolean;
  /**
   * For a spec with a noise map: the relative error of the level the network is told while training, which is
   * `factor * max(0, 1 + mapJitter * z)` for z standard normal, so the network learns to trust an estimated level
   * only as far as estimates are right. Validation gets the exact factor. Default 0.
   */
  mapJitter?: number;
}

/** Everything that decides the numbers of a run (what `--resume` must find unchanged). */
export interface TrainSettings {
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  noise: NoiseSettings;
  /** Learning-rate schedule over the whole run: `constant` (the tutorial's; the default) or `cosine` (per batch, from `learningRate` down to 2% of it). */
  lrSchedule?: 'constant' | 'cosine';
  /**
   * Training loss: `mse` (the tutorial's; the default) or `psnr`: the mean over images of 10 log10(MSE_i + floor),
   * minus each image's PSNR. Blind training over a range of noise levels with plain MSE is ruled by the noisiest
   * images (their errors are largest), so the model over-smooths clean and lightly noisy ones; the per-image log puts
   * every noise level on the dB scale the model is judged on. See {@link PSNR_LOSS_FLOOR}.
   */
  loss?: 'mse' | 'psnr';
}

/** The MSE floor of the `psnr` loss (45 dB): an image already cleaner than this weighs no more than one at 45 dB. */
export const PSNR_LOSS_FLOOR = 10 ** -4.5;

/** The training loss of `settings` for a batch (NHWC); see {@link TrainSettings.loss}. */
export function trainingLoss(settings: Pick<TrainSettings, 'loss'>, clean: tf.Tensor4D, output: tf.Tensor): tf.Scalar {
  if ((settings.loss ?? 'mse') === 'mse') return tf.losses.meanSquaredError(clean, output) as tf.Scalar;
  return tf.tidy(() => {
    const perImage = tf.mean(tf.squaredDifference(clean, output), [1, 2, 3]);
    return tf.mul(tf.mean(tf.log(tf.add(perImage, PSNR_LOSS_FLOOR))), 10 / Math.LN10) as tf.Scalar;
  });
}

/** The learning rate at `progress` (0 at the first batch, 1 after the last) of a run; see {@link TrainSettings.lrSchedule}. */
export function scheduledLearningRate(settings: Pick<TrainSettings, 'learningRate' | 'lrSchedule'>, progress: number): number {
  if ((settings.lrSchedule ?? 'constant') === 'constant') return settings.learningRate;
  const floor = 0.02;
  return settings.learningRate * (floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, Math.max(0, progress)))));
}

/** One epoch's figures, as kept in history.json. */
export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  valLoss: number;
  /** Mean of per-image PSNRs on the validation set, dB. */
  valPsnr: number;
  /** PSNR of the noisy validation input against clean, dB: the baseline the model must beat. */
  noisyPsnr: number;
  /**
   * Colour shift on the validation images, in 8-bit levels: the largest |mean(output_c) - mean(clean_c)| over the
   * channels c, for the noisy input (`noisy`) and for the clean images themselves given as input (`clean`: what a
   * model does to a photo without noise). Absent in runs made before it was measured.
   */
  shift?: { noisy: number; clean: number };
  seconds: number;
  imagesPerSecond: number;
}

/** Progress within an epoch, reported every few batches. */
export interface BatchProgress {
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  /** Mean training loss so far this epoch. */
  loss: number;
  imagesPerSecond: number;
}

/** Where a stopped epoch got to: enough to finish it exactly as an uninterrupted run would. */
export interface PartialEpoch {
  /** Batches of epoch `epochsDone + 1` already trained. */
  batchesDone: number;
  /** The RNG state at that epoch's start, before its shuffle: the same batch order is drawn again from it. */
  epochRng: RngState;
  /** The float32 sum of per-image training losses so far, and the images it covers. */
  lossSum: number;
  seen: number;
  /** Seconds spent on the epoch so far. */
  seconds: number;
}

/** Resumable state: weights, Adam's moments, step and beta powers, the RNG position, the history, and a stopped epoch's progress. */
export interface TrainState {
  settings: TrainSettings;
  /** Finished epochs. */
  epochsDone: number;
  weights: Map<string, WeightTensor>;
  /**
   * Adam's first and second moments keyed `<weight>.m` / `<weight>.v`, its step count, and its running beta powers
   * (beta1^t, beta2^t as float32 products; absent in checkpoints made before they were kept: then recomputed).
   */
  optimizer: { iterations: number; slots: Map<string, WeightTensor>; betaPowers?: [number, number] };
  /** The RNG where training stopped (mid-epoch when `partial` is set). */
  rng: RngState;
  history: EpochRecord[];
  /** Set when the state was taken inside an epoch (training stopped by Ctrl-C). */
  partial?: PartialEpoch;
}

/** Callbacks and inputs of {@link Trainer}. */
export interface TrainerOptions {
  spec: NetworkSpec;
  train: ImageSet;
  test: ImageSet;
  settings: TrainSettings;
  /** Continue from this state instead of fresh weights. */
  resume?: TrainState;
  /** Start a fresh run from these weights (fine-tuning) instead of the builder's initial ones. */
  initialWeights?: Map<string, WeightTensor>;
  onBatch?: (progress: BatchProgress) => void;
  /** Called with the epoch number (1-based) before each epoch: refills `train` in place (photo patches cut afresh). */
  resampleTrain?: (epoch: number) => void;
  /**
   * Checked before each batch, after yielding to the event loop (so a signal handler can run): when true the epoch
   * stops there, {@link Trainer.runEpoch} returns null and {@link Trainer.state} holds the stopped epoch's progress.
   */
  shouldStop?: () => boolean;
}

const VALIDATION_BATCH = 500;

/** Validation noise comes from its own stream so every epoch (and every resume) sees the same noisy images. */
const VALIDATION_SEED_OFFSET = 0x5eed;

/** Trains a spec-built model; one instance per run. A TF.js backend must be ready. */
export class Trainer {
  readonly model: tfl.LayersModel;
  private readonly optimizer: tf.AdamOptimizer;
  private readonly variables: tf.Variable[];
  private readonly rng: Rng;
  private readonly validationInput: Float32Array;
  private readonly validationClean: Float32Array;
  /** Each validation image's noise factor (0 when clean): the noise map's level when the spec has one. */
  private readonly validationLevels: Float32Array;
  private epochsDone: number;
  private readonly history: EpochRecord[];
  /** A stopped epoch's progress: from the checkpoint before the first epoch, or set when an epoch stops early. */
  private partial: PartialEpoch | undefined;

  constructor(private readonly options: TrainerOptions) {
    const { spec, settings, resume, test } = options;
    this.model = buildModel(spec, { seed: settings.seed });
    this.optimizer = tf.train.adam(settings.learningRate);
    this.variables = this.orderedVariables();
    this.rng = resume ? Rng.fromState(resume.rng) : new Rng(settings.seed);
    this.epochsDone = resume?.epochsDone ?? 0;
    this.history = resume ? [...resume.history] : [];
    this.partial = resume?.partial;
    if (resume) setWeights(this.model, spec, resume.weights, 'checkpoint');
    else if (options.initialWeights) setWeights(this.model, spec, options.initialWeights, 'initial weights');

    const all = Array.from({ length: test.count }, (_, i) => i);
    this.validationClean = toFloatBatch(test, all);
    this.validationInput = new Float32Array(this.validationClean.length);
    this.validationLevels = new Float32Array(test.count);
    applyNoiseToImages(settings.noise, this.validationClean, this.validationInput, test.height * test.width * test.channels, new Rng(settings.seed + VALIDATION_SEED_OFFSET), this.validationLevels);
    if (settings.noise.greyShared) shareGreyNoise(this.validationClean, this.validationInput, test.height * test.width * test.channels, test.channels);
  }

  /** The trainable variables in spec weight order, so Adam's slots line up with spec names. */
  private orderedVariables(): tf.Variable[] {
    const out: tf.Variable[] = [];
    for (const layer of this.options.spec.layers) {
      const count = weightDefs(this.options.spec).filter((w) => w.layer === layer.name).length;
      const weights = this.model.getLayer(layer.name).trainableWeights;
      if (weights.length !== count) throw new Error(`Layer ${layer.name} has ${weights.length} trainable weights, the spec ${count}`);
      // LayerVariable.read() is the underlying tf.Variable that the optimizer updates.
      out.push(...weights.map((w) => w.read() as tf.Variable));
    }
    return out;
  }

  /**
   * The model's inputs for NHWC images (a tensor), with the noise map (NHW1, each image's level in every pixel) when
   * the spec has one. Call inside tf.tidy.
   */
  private modelInputs(images: tf.Tensor4D, levels: Float32Array): tf.Tensor | tf.Tensor[] {
    if (this.options.spec.input.noiseMap === undefined) return images;
    const [n, height, width] = images.shape;
    return [images, tf.broadcastTo(tf.tensor4d(levels.subarray(0, n), [n, 1, 1, 1]), [n, height, width, 1])];
  }

  /** Epochs finished so far (including resumed ones). */
  get completedEpochs(): number {
    return this.epochsDone;
  }

  /** The history so far. */
  get records(): readonly EpochRecord[] {
    return this.history;
  }

  /** Batches of the current epoch already trained when it was stopped (0 at an epoch's start). */
  get batchesDone(): number {
    return this.partial?.batchesDone ?? 0;
  }

  /** Restores Adam's state from a checkpoint (exactly, beta powers included, when the checkpoint has them). Call once before the first epoch when resuming. */
  async restoreOptimizer(): Promise<void> {
    const resume = this.options.resume;
    if (!resume || resume.optimizer.iterations === 0) return;
    const names = weightDefs(this.options.spec).map((w) => w.name);
    const slot = (key: string) => {
      const w = resume.optimizer.slots.get(key);
      if (!w) throw new Error(`checkpoint has no optimizer slot "${key}"`);
      return tf.tensor(w.data, w.shape);
    };
    await this.optimizer.setWeights([
      { name: 'iter', tensor: tf.scalar(resume.optimizer.iterations, 'int32') },
      ...names.map((n) => ({ name: `${n}/m`, tensor: slot(`${n}.m`) })),
      ...names.map((n) => ({ name: `${n}/v`, tensor: slot(`${n}.v`) })),
    ]);
    // setWeights recomputes beta^(t+1) with pow(), which differs in the last bits from the running float32 product
    // that uninterrupted training has: put the saved products back so a resumed run is bit-identical.
    const powers = resume.optimizer.betaPowers;
    if (powers) {
      const adam = this.optimizer as unknown as { accBeta1: tf.Variable; accBeta2: tf.Variable };
      tf.tidy(() => {
        adam.accBeta1.assign(tf.scalar(powers[0]));
        adam.accBeta2.assign(tf.scalar(powers[1]));
      });
    }
  }

  /**
   * Runs one epoch (or the rest of a stopped one): reshuffle, train over every batch, validate. Returns null if
   * stopped early; {@link Trainer.state} then records where, so the epoch can be finished later.
   */
  async runEpoch(): Promise<EpochRecord | null> {
    const { train, settings, onBatch, shouldStop } = this.options;
    const epoch = this.epochsDone + 1;
    const resumed = this.partial;
    this.partial = undefined;
    this.options.resampleTrain?.(epoch);
    const order = Array.from({ length: train.count }, (_, i) => i);
    // A stopped epoch is finished with the order drawn at its start; this.rng is already where it stopped.
    const epochRng = resumed ? resumed.epochRng : this.rng.getState();
    (resumed ? Rng.fromState(resumed.epochRng) : this.rng).shuffle(order);
    const batches = Math.ceil(train.count / settings.batchSize);
    const imageSize = train.height * train.width * train.channels;
    const clean = new Float32Array(settings.batchSize * imageSize);
    const noisy = new Float32Array(settings.batchSize * imageSize);
    const levels = new Float32Array(settings.batchSize);
    const mapped = this.options.spec.input.noiseMap !== undefined;
    const started = performance.now() - (resumed?.seconds ?? 0) * 1000;
    let lossSum = tf.scalar(resumed?.lossSum ?? 0);
    let lastReport = 0;
    let seen = resumed?.seen ?? 0;

    for (let b = resumed?.batchesDone ?? 0; b < batches; b++) {
      // Let signal handlers (Ctrl-C) run between batches: tf's work is synchronous and would otherwise hold the loop.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (shouldStop?.()) {
        this.partial = { batchesDone: b, epochRng, lossSum: (await lossSum.data())[0]!, seen, seconds: (performance.now() - started) / 1000 };
        lossSum.dispose();
        return null;
      }
      // tf's Adam reads its learningRate field at every step.
      (this.optimizer as unknown as { learningRate: number }).learningRate = scheduledLearningRate(settings, (this.epochsDone * batches + b) / (settings.epochs * batches));
      const indices = order.slice(b * settings.batchSize, (b + 1) * settings.batchSize);
      const n = indices.length;
      const cleanView = clean.subarray(0, n * imageSize);
      const noisyView = noisy.subarray(0, n * imageSize);
      toFloatBatch(train, indices, cleanView);
      applyNoiseToImages(settings.noise, cleanView, noisyView, imageSize, this.rng, levels);
      if (settings.noise.greyShared) shareGreyNoise(cleanView, noisyView, imageSize, train.channels);
      // Drawn only for a noise map with jitter, so other runs keep their exact random stream.
      if (mapped && (settings.noise.mapJitter ?? 0) > 0) for (let i = 0; i < n; i++) levels[i] = levels[i]! * Math.max(0, 1 + settings.noise.mapJitter! * this.rng.nextNormal());
      const shape: [number, number, number, number] = [n, train.height, train.width, train.channels]; // NHWC
      const next = tf.tidy(() => {
        const xs = tf.tensor4d(noisyView, shape);
        const ys = tf.tensor4d(cleanView, shape);
        const inputs = this.modelInputs(xs, levels);
        const loss = this.optimizer.minimize(() => trainingLoss(settings, ys, this.model.apply(inputs, { training: true }) as tf.Tensor), true, this.variables)!;
        // Weighted by batch size so the epoch mean is per image even with a short last batch.
        return tf.add(lossSum, tf.mul(loss, n)) as tf.Scalar;
      });
      lossSum.dispose();
      lossSum = next;
      seen += n;
      const now = performance.now();
      if (onBatch && (now - lastReport > 250 || b === batches - 1)) {
        lastReport = now;
        const loss = (await lossSum.data())[0]! / seen;
        onBatch({ epoch, epochs: settings.epochs, batch: b + 1, batches, loss, imagesPerSecond: seen / ((now - started) / 1000) });
      }
    }
    const trainLoss = (await lossSum.data())[0]! / seen;
    lossSum.dispose();
    const trainSeconds = (performance.now() - started) / 1000;
    const { valLoss, valPsnr, noisyPsnr, shift } = await this.validate();
    const record: EpochRecord = {
      epoch,
      trainLoss,
      valLoss,
      valPsnr,
      noisyPsnr,
      shift,
      seconds: (performance.now() - started) / 1000,
      imagesPerSecond: seen / trainSeconds,
    };
    this.history.push(record);
    this.epochsDone = epoch;
    return record;
  }

  /** Denoises NHWC float images in batches (`levels`: each image's noise level, for a spec with a noise map); returns a new array of the same length. */
  async predict(images: Float32Array, count: number, levels: Float32Array = new Float32Array(count)): Promise<Float32Array> {
    const { height, width, channels } = this.options.test;
    const size = height * width * channels;
    const out = new Float32Array(count * size);
    for (let start = 0; start < count; start += VALIDATION_BATCH) {
      const n = Math.min(VALIDATION_BATCH, count - start);
      const y = tf.tidy(() => this.model.predict(this.modelInputs(tf.tensor4d(images.subarray(start * size, (start + n) * size), [n, height, width, channels]), levels.subarray(start, start + n))) as tf.Tensor);
      out.set(await y.data(), start * size);
      y.dispose();
    }
    return out;
  }

  /** Validation on the fixed noisy test images: MSE, mean per-image PSNR, and the noisy input's PSNR. */
  async validate(): Promise<{ valLoss: number; valPsnr: number; noisyPsnr: number; shift: { noisy: number; clean: number } }> {
    const { test } = this.options;
    const size = test.height * test.width * test.channels;
    const denoised = await this.predict(this.validationInput, test.count, this.validationLevels);
    // A clean photo is told level 0.
    const fromClean = await this.predict(this.validationClean, test.count);
    let sum = 0;
    for (let i = 0; i < denoised.length; i++) {
      const d = denoised[i]! - this.validationClean[i]!;
      sum += d * d;
    }
    return {
      valLoss: sum / denoised.length,
      valPsnr: meanPsnr(denoised, this.validationClean, size),
      noisyPsnr: meanPsnr(this.validationInput, this.validationClean, size),
      shift: { noisy: colourShift(denoised, this.validationClean, test.channels), clean: colourShift(fromClean, this.validationClean, test.channels) },
    };
  }

  /** The first `count` validation images: noisy input, the model's output and the clean target. */
  async samples(count = 10): Promise<{ noisy: Float32Array[]; denoised: Float32Array[]; clean: Float32Array[] }> {
    const { test } = this.options;
    const n = Math.min(count, test.count);
    const size = test.height * test.width * test.channels;
    const denoised = await this.predict(this.validationInput.subarray(0, n * size), n, this.validationLevels);
    const split = (a: Float32Array) => Array.from({ length: n }, (_, i) => a.slice(i * size, (i + 1) * size));
    return { noisy: split(this.validationInput), denoised: split(denoised), clean: split(this.validationClean) };
  }

  /** The state to checkpoint: after the last finished epoch, or inside a stopped one. */
  async state(): Promise<TrainState> {
    const slots = new Map<string, WeightTensor>();
    const saved = await this.optimizer.getWeights();
    const names = weightDefs(this.options.spec).map((w) => w.name);
    const moments = saved.slice(1);
    // Adam lists all first moments, then all second moments, in the variable order given to minimize().
    if (moments.length === 2 * names.length) {
      for (let i = 0; i < moments.length; i++) {
        const t = moments[i]!.tensor;
        const key = `${names[i % names.length]}.${i < names.length ? 'm' : 'v'}`;
        slots.set(key, { shape: [...t.shape], data: Float32Array.from(await t.data()) });
      }
    }
    const iterations = (await saved[0]!.tensor.data())[0]!;
    const adam = this.optimizer as unknown as { accBeta1: tf.Variable; accBeta2: tf.Variable };
    const betaPowers: [number, number] = [(await adam.accBeta1.data())[0]!, (await adam.accBeta2.data())[0]!];
    return {
      settings: this.options.settings,
      epochsDone: this.epochsDone,
      weights: await getWeights(this.model, this.options.spec),
      optimizer: { iterations, slots, betaPowers },
      rng: this.rng.getState(),
      history: [...this.history],
      ...(this.partial ? { partial: { ...this.partial } } : {}),
    };
  }

  /** Frees the model's and optimizer's tensors. */
  dispose(): void {
    this.optimizer.dispose();
    this.model.dispose();
  }
}
