// One training step on wasm (the project kernels) against the stock cpu backend: the seed network, and a skip-connected residual network.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { buildModel, setWeights, type WeightTensor } from '../../../../tools/model/build-tfjs.js';
import { parseSpec, weightDefs } from '../../../../tools/layers/spec.js';
import { initBackend } from '../../../../tools/train/backends.js';
import { randomValues } from './brute-force.js';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('one training step of the seed network, wasm against the stock cpu backend', () => {
  /** The seed autoencoder, built on the active backend with the given weights. */
  function seedNetwork(weights: Float32Array[]): tfl.Sequential {
    const model = tfl.sequential({
      layers: [
        tfl.layers.conv2d({ inputShape: [28, 28, 1], filters: 16, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
        tfl.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
        tfl.layers.conv2dTranspose({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
        tfl.layers.conv2dTranspose({ filters: 16, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
        tfl.layers.conv2d({ filters: 1, kernelSize: 3, strides: 1, padding: 'same', activation: 'sigmoid' }),
      ],
    });
    model.setWeights(model.getWeights().map((w, i) => tf.tensor(weights[i]!, w.shape)));
    return model;
  }

  interface StepResult { loss: number; grads: Float32Array[]; updated: Float32Array[] }

  /** Loss, gradients and Adam-updated weights of one step on batch (x -> y), on the named backend. */
  async function step(backend: string, weights: Float32Array[], x: Float32Array, y: Float32Array): Promise<StepResult> {
    await initBackend(backend);
    expect(tf.getBackend()).toBe(backend);
    const model = seedNetwork(weights);
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const xs = tf.tensor4d(x, [32, 28, 28, 1]);
    const ys = tf.tensor4d(y, [32, 28, 28, 1]);
    const { value, grads } = tf.variableGrads(() => tf.losses.meanSquaredError(ys, model.apply(xs) as tf.Tensor) as tf.Scalar, vars);
    const result = {
      loss: value.dataSync()[0]!,
      grads: vars.map((v) => grads[v.name]!.dataSync() as Float32Array),
      updated: [] as Float32Array[],
    };
    tf.train.adam(1e-3).applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
    result.updated = vars.map((v) => v.dataSync() as Float32Array);
    tf.dispose([xs, ys, value, ...Object.values(grads)]);
    model.dispose();
    return result;
  }

  it('gives the same loss, gradients and updated weights', async () => {
    const shapes = [[3, 3, 1, 16], [16], [3, 3, 16, 8], [8], [3, 3, 8, 8], [8], [3, 3, 16, 8], [16], [3, 3, 16, 1], [1]];
    const weights = shapes.map((shape, i) => {
      const size = shape.reduce((a, b) => a * b, 1);
      const v = randomValues(size, 100 + i);
      // Glorot-sized kernels, small biases.
      const limit = shape.length === 4 ? Math.sqrt(6 / (shape[0]! * shape[1]! * (shape[2]! + shape[3]!))) : 0.05;
      return v.map((a) => a * limit);
    });
    const x = randomValues(32 * 28 * 28, 7).map((a) => (a + 1) / 2);
    const y = x.map((a, i) => Math.min(1, Math.max(0, a + 0.1 * Math.sin(i))));
    const cpu = await step('cpu', weights, x, y);
    const wasm = await step('wasm', weights, x, y);
    await initBackend('wasm');

    expect(Math.abs(wasm.loss - cpu.loss)).toBeLessThanOrEqual(1e-5 * cpu.loss);
    cpu.grads.forEach((g, v) => {
      // Gradients: within 1e-4 of the variable's largest |gradient| (float32 sums in different orders).
      const bound = 1e-4 * Math.max(...Array.from(g, Math.abs));
      const worst = Math.max(...Array.from(g, (a, i) => Math.abs(a - wasm.grads[v]![i]!)));
      expect(worst, `gradient of variable ${v} (${shapes[v]})`).toBeLessThanOrEqual(bound);
      expect(bound, `variable ${v} has a gradient`).toBeGreaterThan(0);
    });
    let compared = 0;
    let total = 0;
    cpu.updated.forEach((w, v) => {
      // Adam's first step moves a weight by lr * g / (|g| + eps), eps = 1e-7: where |g| is clear of the float noise
      // the two backends must agree to 1e-6; elsewhere the step is noise-driven but at most lr each way.
      const g = cpu.grads[v]!;
      const noise = 1e-4 * Math.max(...Array.from(g, Math.abs));
      for (let i = 0; i < w.length; i++) {
        total++;
        const diff = Math.abs(wasm.updated[v]![i]! - w[i]!);
        if (Math.abs(g[i]!) > 10 * noise) {
          compared++;
          expect(diff, `variable ${v} element ${i}`).toBeLessThanOrEqual(1e-6);
          // With |g| above Adam's epsilon (1e-7) the step is over lr / 2.
          if (Math.abs(g[i]!) > 1e-7) expect(Math.abs(w[i]! - weights[v]![i]!), `variable ${v} element ${i} moved`).toBeGreaterThan(4e-4);
        } else {
          expect(diff, `variable ${v} element ${i}`).toBeLessThanOrEqual(2e-3);
        }
      }
    });
    expect(total).toBe(3217);
    // Most weights have a gradient clear of the noise (2,692 of 3,217 here; the rest sit in channels a ReLU shuts off).
    expect(compared).toBeGreaterThan(0.75 * total);
  });
});

describe('one training step of a skip-connected residual network (add, subtract, concat, clip), wasm against the stock cpu backend', () => {
  const spec = parseSpec({
    format: 'onnx-denoiser/spec', version: 1, name: 'residual-step', input: { name: 'image', channels: 1 },
    layers: [
      { name: 'e1', kind: 'conv2d', filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' },
      { name: 'e2', kind: 'conv2d', filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' },
      { name: 'd1', kind: 'conv2dTranspose', filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' },
      { name: 'skip', kind: 'add', inputs: ['d1', 'e1'], activation: 'relu' },
      { name: 'cat', kind: 'concat', inputs: ['skip', 'image'] },
      { name: 'noise', kind: 'conv2d', filters: 1, kernelSize: 3, padding: 'same' },
      { name: 'residual', kind: 'subtract', inputs: ['image', 'noise'] },
      { name: 'out', kind: 'clip', min: 0, max: 1 },
    ],
  });
  const [n, h, w] = [8, 16, 16];

  interface Step { loss: number; grads: Float32Array[]; clipped: number }

  /** Loss and gradients of one MSE step on (x -> y), and the fraction of outputs the clip cut, on the named backend. */
  async function step(backend: string, weights: Map<string, WeightTensor>, x: Float32Array, y: Float32Array): Promise<Step> {
    await initBackend(backend);
    expect(tf.getBackend()).toBe(backend);
    const model = buildModel(spec);
    setWeights(model, spec, weights);
    const vars = model.trainableWeights.map((v) => v.read() as tf.Variable);
    const xs = tf.tensor4d(x, [n, h, w, 1]);
    const ys = tf.tensor4d(y, [n, h, w, 1]);
    const { value, grads } = tf.variableGrads(() => tf.losses.meanSquaredError(ys, model.apply(xs, { training: true }) as tf.Tensor) as tf.Scalar, vars);
    const residual = tf.tidy(() => tfl.model({ inputs: model.inputs, outputs: model.getLayer('residual').output as tfl.SymbolicTensor }).predict(xs) as tf.Tensor);
    const r = residual.dataSync();
    const result = { loss: value.dataSync()[0]!, grads: vars.map((v) => grads[v.name]!.dataSync() as Float32Array), clipped: r.filter((v) => v < 0 || v > 1).length / r.length };
    tf.dispose([xs, ys, value, residual, ...Object.values(grads)]);
    model.dispose();
    return result;
  }

  it('gives the same loss and gradients, with the clip cutting part of the outputs', async () => {
    const weights = new Map<string, WeightTensor>();
    weightDefs(spec).forEach((def, i) => {
      const size = def.shape.reduce((a, b) => a * b, 1);
      const [kh, kw, a, b] = def.shape as [number, number, number, number];
      // Glorot-sized kernels (the noise output x4, so that the clip cuts some outputs), small biases.
      const limit = def.suffix === 'kernel' ? Math.sqrt(6 / (kh * kw * (a + b))) * (def.layer === 'noise' ? 4 : 1) : 0.05;
      weights.set(def.name, { shape: def.shape, data: randomValues(size, 300 + i).map((v) => v * limit) });
    });
    const x = randomValues(n * h * w, 17).map((a) => (a + 1) / 2);
    const y = x.map((a, i) => Math.min(1, Math.max(0, a + 0.2 * Math.sin(i))));
    const cpu = await step('cpu', weights, x, y);
    const wasm = await step('wasm', weights, x, y);
    await initBackend('wasm');

    expect(cpu.clipped).toBeGreaterThan(0.05);
    expect(cpu.clipped).toBeLessThan(0.95);
    expect(wasm.clipped).toBe(cpu.clipped);
    expect(Math.abs(wasm.loss - cpu.loss)).toBeLessThanOrEqual(1e-5 * cpu.loss);
    expect(cpu.grads).toHaveLength(weightDefs(spec).length);
    cpu.grads.forEach((g, v) => {
      // Within 1e-4 of the variable's largest |gradient| (float32 sums in different orders).
      const bound = 1e-4 * Math.max(...Array.from(g, Math.abs));
      const worst = Math.max(...Array.from(g, (a, i) => Math.abs(a - wasm.grads[v]![i]!)));
      expect(worst, `gradient of ${weightDefs(spec)[v]!.name}`).toBeLessThanOrEqual(bound);
      expect(bound, `${weightDefs(spec)[v]!.name} has a gradient`).toBeGreaterThan(0);
    });
  });
});
