// The shipped tutorial model: its training artifacts load back, and models/noise-reducer.onnx computes what TF.js does with its weights.
import { readFileSync } from 'node:fs';
import type * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { readModelMetadata } from '../../runtime-common/onnx-model.js';
import { checkWeights, type WeightTensor } from '../../tools/model/build-tfjs.js';
import { parseSafetensors } from '../../tools/model/safetensors.js';
import { emitOnnx } from '../../tools/onnx/emit.js';
import { loadSpec, parseSpec, type NetworkSpec } from '../../tools/layers/spec.js';
import type { EpochRecord } from '../../tools/train/trainer.js';
import { compare, initTf, ortSession } from '../tools/onnx/parity-helpers.js';

const RUN = 'models/noise-reducer-training';
const MODEL = 'models/noise-reducer.onnx';
let spec: NetworkSpec;
let weights: Map<string, WeightTensor>;
let session: ort.InferenceSession;

beforeAll(async () => {
  await initTf();
  spec = await loadSpec('models/noise-reducer.json');
  weights = parseSafetensors(readFileSync(`${RUN}/weights.safetensors`), 'weights').tensors;
  session = await ortSession(readFileSync(MODEL));
});

describe('shipped training run: bad calls', () => {
  it('its weights refuse a spec they do not fit, naming the tensor and both shapes', () => {
    const wider = JSON.parse(readFileSync('models/noise-reducer.json', 'utf8'));
    wider.layers[0].filters = 32;
    expect(() => checkWeights(parseSpec(wider), weights, 'shipped')).toThrow('Expected shape [3, 3, 1, 32] for tensor "encoder_conv1.kernel" in shipped but received [3, 3, 1, 16]');
  });
});

describe('shipped training run', () => {
  it('is the tutorial configuration in full, and its weights fit the shipped spec', () => {
    const config = JSON.parse(readFileSync(`${RUN}/config.json`, 'utf8'));
    expect(config.settings).toEqual({ epochs: 10, batchSize: 32, learningRate: 0.001, seed: 1, noise: { kind: 'gaussian', factor: 0.4 } });
    expect(config.data).toMatchObject({ name: 'fashion-mnist', train: 60000, test: 10000 });
    expect(parseSpec(JSON.parse(readFileSync(`${RUN}/spec.json`, 'utf8')))).toEqual(spec);
    checkWeights(spec, weights, 'shipped');
  });

  it('has a history of 10 epochs whose validation loss fell, and the model metadata repeats it', () => {
    const history = JSON.parse(readFileSync(`${RUN}/history.json`, 'utf8')) as EpochRecord[];
    expect(history.map((r) => r.epoch)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(history[9]!.valLoss).toBeLessThan(history[0]!.valLoss);
    expect(history[9]!.valPsnr).toBeGreaterThan(history[9]!.noisyPsnr + 5);
    const { metadata: denoiser } = readModelMetadata(readFileSync(MODEL), MODEL);
    expect(denoiser.training?.valLoss).toBeCloseTo(history[9]!.valLoss, 12);
    expect(denoiser.training?.epochs).toBe(10);
    expect(denoiser.noise).toEqual({ kind: 'gaussian', factor: 0.4 });
  });

  it('has pictures that decode: the 3x10 sample grid and the loss curve', async () => {
    for (const name of ['samples.png', 'loss.png']) {
      const meta = await sharp(`${RUN}/${name}`).metadata();
      expect(meta.format, name).toBe('png');
      expect(meta.width! * meta.height!, name).toBeGreaterThan(100_000);
    }
  });

  it('exports to exactly the shipped ONNX file (emitter and weights agree)', () => {
    const { contentHash } = readModelMetadata(readFileSync(MODEL), MODEL).metadata;
    expect(emitOnnx(spec, weights).metadata.contentHash).toBe(contentHash);
  });
});

describe('shipped ONNX model vs TF.js with the shipped weights (fp32, within 1e-5)', () => {
  it.each([
    [1, 28, 28],
    [8, 28, 28],
    [1, 32, 48],
    [8, 64, 64],
  ])('batch %i, %ix%i', async (n, h, w) => {
    const { error, onnxShape } = await compare(spec, weights, session, [n, h, w], 7 * n + h + w);
    expect(onnxShape).toEqual([n, h, w, 1]);
    expect(error).toBeLessThanOrEqual(1e-5);
  });

  it('odd sizes (27x31, 5x7, 1x1) come back at their size through the in-graph padding', async () => {
    for (const [n, h, w] of [[2, 27, 31], [1, 5, 7], [1, 1, 1]] as [number, number, number][]) {
      const { error, onnxShape } = await compare(spec, weights, session, [n, h, w], h + w, 4);
      expect(onnxShape).toEqual([n, h, w, 1]);
      expect(error, `${h}x${w}`).toBeLessThanOrEqual(1e-5);
    }
  });
});
