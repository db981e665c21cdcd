// TF.js (cpu backend) vs onnxruntime-node (CPU, all optimisations) on the emitted model: same weights, same images.
import { beforeAll, describe, expect, it } from 'vitest';
import type * as ort from 'onnxruntime-node';
import { ACTIVATIONS } from '../../../tools/layers/layer-registry.js';
import { loadSpec, sizeMultiple, type NetworkSpec } from '../../../tools/layers/spec.js';
import { emitOnnx } from '../../../tools/onnx/emit.js';
import type { WeightTensor } from '../../../tools/model/build-tfjs.js';
import { compare, initTf, maxAbsDiff, nhwcToNchw, ortRun, ortSession, randomWeights, testSpec, tfPredict, uniforms } from './parity-helpers.js';

/** Errors measured below, printed once at the end for the record. */
const measured: string[] = [];

let seed: NetworkSpec;
let seedWeights: Map<string, WeightTensor>;
let seedSession: ort.InferenceSession;

beforeAll(async () => {
  await initTf();
  seed = await loadSpec('models/noise-reducer.json');
  seedWeights = randomWeights(seed, 11);
  seedSession = await ortSession(emitOnnx(seed, seedWeights).bytes);
});

describe('seed network, fp32: TF.js vs ONNX within 1e-5', () => {
  it.each([
    [1, 28, 28],
    [8, 28, 28],
    [1, 32, 48],
    [8, 32, 48],
    [1, 64, 64],
    [8, 64, 64],
  ])('batch %i, %ix%i', async (n, h, w) => {
    const { error, tfShape, onnxShape } = await compare(seed, seedWeights, seedSession, [n, h, w], n * 100 + h + w);
    measured.push(`seed ${n}x${h}x${w}: ${error.toExponential(2)}`);
    expect(onnxShape).toEqual([n, h, w, 1]);
    expect(tfShape).toEqual(onnxShape);
    expect(error).toBeLessThanOrEqual(1e-5);
  });

  it('odd sizes go through the in-graph edge padding and come back at the input size', async () => {
    for (const [n, h, w] of [
      [2, 27, 31],
      [3, 5, 7],
      [2, 1, 1],
      [1, 2, 9],
    ] as [number, number, number][]) {
      const { error, onnxShape } = await compare(seed, seedWeights, seedSession, [n, h, w], h * 31 + w, 4);
      measured.push(`seed odd ${n}x${h}x${w}: ${error.toExponential(2)}`);
      expect(onnxShape, `${h}x${w}`).toEqual([n, h, w, 1]);
      expect(error, `${h}x${w}`).toBeLessThanOrEqual(1e-5);
    }
  });

  it('trained-like weights (larger scale) still match', async () => {
    const weights = randomWeights(seed, 12, 3);
    const session = await ortSession(emitOnnx(seed, weights).bytes);
    const { error } = await compare(seed, weights, session, [4, 28, 28], 5);
    measured.push(`seed, weights x3, 4x28x28: ${error.toExponential(2)}`);
    expect(error).toBeLessThanOrEqual(1e-5);
  });
});

/** Emits `spec` with seeded weights and compares on a few sizes, padding by hand when the size is no multiple. */
async function checkSpec(spec: NetworkSpec, label: string, sizes: [number, number, number][], scale = 2, tolerance = 1e-5): Promise<void> {
  const weights = randomWeights(spec, 21, scale);
  const multiple = sizeMultiple(spec)!;
  for (const options of [{}, { symmetricPads: true }]) {
    const session = await ortSession(emitOnnx(spec, weights, options).bytes);
    for (const size of sizes) {
      const { error, onnxShape } = await compare(spec, weights, session, size, size[1] * 7 + size[2], multiple);
      measured.push(`${label}${options.symmetricPads ? ' (symmetric pads)' : ''} ${size.join('x')}: ${error.toExponential(2)}`);
      expect(onnxShape, `${label} ${size.join('x')}`).toEqual([size[0], size[1], size[2], spec.input.channels]);
      expect(error, `${label} ${size.join('x')}`).toBeLessThanOrEqual(tolerance);
    }
  }
}

describe('every activation matches TF.js', () => {
  it.each(ACTIVATIONS.map((a) => [a]))('%s', async (activation) => {
    // Weights x3 push pre-activations past hardSigmoid's and relu6's clip points.
    const spec = testSpec([
      { name: 'a', kind: 'conv2d', filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation },
      { name: 'b', kind: 'conv2dTranspose', filters: 2, kernelSize: 3, strides: 2, padding: 'same', activation },
    ], 2);
    await checkSpec(spec, activation, [[2, 12, 10], [1, 7, 5]], 6);
    if (activation === 'hardSigmoid' || activation === 'relu6') {
      // The clip points are reached, so the test covers them.
      const top = activation === 'relu6' ? 6 : 1;
      const out = tfPredict(spec, randomWeights(spec, 21, 6), uniforms(3, 2 * 12 * 10 * 2), [2, 12, 10, 2]).data;
      expect(out.some((v) => v === top), 'upper clip reached').toBe(true);
      expect(out.some((v) => v === 0), 'lower clip reached').toBe(true);
    }
  });
});

describe('kernels, strides and paddings beyond the seed match TF.js', () => {
  it.each([
    ['non-square kernels and strides', [
      { name: 'a', kind: 'conv2d', filters: 3, kernelSize: [3, 5], strides: [2, 1], padding: 'same', activation: 'relu' },
      { name: 'b', kind: 'conv2d', filters: 4, kernelSize: [5, 2], strides: [1, 3], padding: 'same', activation: 'tanh' },
      { name: 'c', kind: 'conv2dTranspose', filters: 3, kernelSize: [4, 5], strides: [1, 3], padding: 'same', activation: 'elu' },
      { name: 'd', kind: 'conv2dTranspose', filters: 1, kernelSize: [5, 3], strides: [2, 1], padding: 'same', activation: 'linear', useBias: false },
    ], [[2, 12, 12], [1, 5, 7]]],
    ['even kernels (odd total pad), stride 3', [
      { name: 'a', kind: 'conv2d', filters: 3, kernelSize: 4, strides: 3, padding: 'same', activation: 'relu' },
      { name: 'b', kind: 'conv2dTranspose', filters: 1, kernelSize: 6, strides: 3, padding: 'same' },
    ], [[2, 9, 12], [1, 4, 2]]],
    ['kernels smaller than strides (output_padding)', [
      { name: 'a', kind: 'conv2d', filters: 3, kernelSize: [1, 2], strides: [2, 3], padding: 'same', activation: 'relu' },
      { name: 'b', kind: 'conv2dTranspose', filters: 1, kernelSize: [1, 2], strides: [2, 3], padding: 'same' },
    ], [[2, 6, 9], [1, 3, 4]]],
    ['valid padding', [
      { name: 'a', kind: 'conv2d', filters: 4, kernelSize: 3, padding: 'valid', activation: 'relu' },
      { name: 'b', kind: 'conv2d', filters: 4, kernelSize: [2, 4], strides: 2, padding: 'valid', activation: 'relu' },
      { name: 'c', kind: 'conv2dTranspose', filters: 4, kernelSize: [2, 4], strides: 2, padding: 'valid', activation: 'relu' },
      { name: 'd', kind: 'conv2dTranspose', filters: 1, kernelSize: 3, padding: 'valid' },
    ], [[2, 12, 14], [1, 5, 3]]],
    ['valid transposed kernels smaller than strides', [
      { name: 'a', kind: 'conv2d', filters: 2, kernelSize: 2, strides: 3, padding: 'valid', activation: 'relu' },
      { name: 'b', kind: 'conv2dTranspose', filters: 1, kernelSize: 2, strides: 3, padding: 'valid' },
    ], [[1, 9, 6], [2, 4, 4]]],
  ])('%s', async (label, layers, sizes) => {
    const spec = testSpec(layers as Record<string, unknown>[]);
    await checkSpec(spec, label as string, sizes as [number, number, number][]);
  });

  it('three channels through the seed layout', async () => {
    const spec = testSpec([
      { name: 'a', kind: 'conv2d', filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' },
      { name: 'b', kind: 'conv2dTranspose', filters: 3, kernelSize: 3, strides: 2, padding: 'same', activation: 'sigmoid' },
    ], 3);
    await checkSpec(spec, 'rgb', [[2, 16, 10], [1, 3, 1]]);
  });
});

describe('add, subtract, concat and clip match TF.js (fp32)', () => {
  const down = { kind: 'conv2d', kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' };
  const up = { kind: 'conv2dTranspose', kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' };
  const same = { kind: 'conv2d', kernelSize: 3, padding: 'same' };
  it.each([
    ['add of two (a skip around a down-up pair) with an activation', [
      { name: 'e1', ...same, filters: 4, activation: 'relu' },
      { name: 'e2', ...down, filters: 4 },
      { name: 'd1', ...up, filters: 4 },
      { name: 'skip', kind: 'add', inputs: ['d1', 'e1'], activation: 'tanh' },
      { name: 'out', ...same, filters: 1 },
    ]],
    ['add of three, one the input', [
      { name: 'a', ...same, filters: 1, activation: 'relu' },
      { name: 'b', ...same, filters: 1, kernelSize: 5, inputs: ['image'] },
      { name: 'sum', kind: 'add', inputs: ['a', 'b', 'image'] },
    ]],
    ['concat of three (channel order)', [
      { name: 'e1', ...same, filters: 3, activation: 'relu' },
      { name: 'e2', ...down, filters: 2 },
      { name: 'd1', ...up, filters: 2 },
      { name: 'cat', kind: 'concat', inputs: ['d1', 'image', 'e1'] },
      { name: 'out', kind: 'conv2d', filters: 1, kernelSize: 1 },
    ]],
    ['subtract (input minus predicted noise) with an activation', [
      { name: 'a', ...same, filters: 4, activation: 'relu' },
      { name: 'noise', ...same, filters: 1 },
      { name: 'residual', kind: 'subtract', inputs: ['image', 'noise'], activation: 'sigmoid' },
    ]],
    ['clip with its bounds reached', [
      { name: 'a', ...same, filters: 4, activation: 'relu' },
      { name: 'noise', ...same, filters: 1 },
      { name: 'residual', kind: 'subtract', inputs: ['image', 'noise'] },
      { name: 'out', kind: 'clip', min: 0.1, max: 0.8 },
    ]],
  ])('%s: batch 1 and 8 at 28x28 and 64x64, odd sizes through the in-graph padding', async (label, layers) => {
    const spec = testSpec(layers as Record<string, unknown>[]);
    await checkSpec(spec, label as string, [[1, 28, 28], [8, 28, 28], [1, 64, 64], [8, 64, 64], [2, 27, 31], [1, 5, 7]]);
    if (spec.layers.some((l) => l.kind === 'clip')) {
      const out = tfPredict(spec, randomWeights(spec, 21, 2), uniforms(3, 8 * 28 * 28), [8, 28, 28, 1]).data;
      const [low, high] = [Math.fround(0.1), Math.fround(0.8)];
      expect(out.some((v) => v === low), 'lower bound reached').toBe(true);
      expect(out.some((v) => v === high), 'upper bound reached').toBe(true);
      expect(out.some((v) => v > low && v < high), 'values between the bounds').toBe(true);
    }
  });

  it('three channels through add, concat, subtract and clip', async () => {
    const spec = testSpec([
      { name: 'e1', ...same, filters: 6, activation: 'relu' },
      { name: 'e2', ...down, filters: 6 },
      { name: 'd1', ...up, filters: 6 },
      { name: 'skip', kind: 'add', inputs: ['d1', 'e1'] },
      { name: 'cat', kind: 'concat', inputs: ['skip', 'image'] },
      { name: 'noise', ...same, filters: 3 },
      { name: 'residual', kind: 'subtract', inputs: ['image', 'noise'] },
      { name: 'out', kind: 'clip' },
    ], 3);
    await checkSpec(spec, 'rgb merges', [[2, 16, 10], [1, 3, 1]]);
  });
});

describe('the residual model spec (models/residual-denoiser.json) matches TF.js', () => {
  let residual: NetworkSpec;
  beforeAll(async () => {
    residual = await loadSpec('models/residual-denoiser.json');
  });

  it('fp32: batch 1 and 8 at 28x28 and 64x64, odd sizes through the in-graph padding', async () => {
    expect(sizeMultiple(residual)).toBe(4);
    await checkSpec(residual, 'residual-denoiser', [[1, 28, 28], [8, 28, 28], [1, 64, 64], [8, 64, 64], [2, 27, 31], [1, 5, 7], [1, 1, 1]]);
  });

  it('fp16: close to fp32 (less than one 8-bit grey level)', async () => {
    const weights = randomWeights(residual, 13, 2);
    const fp32 = await ortSession(emitOnnx(residual, weights).bytes);
    const fp16 = await ortSession(emitOnnx(residual, weights, { fp16: true }).bytes);
    let worst = 0;
    for (const [n, h, w] of [[8, 28, 28], [2, 27, 31]]) {
      const input = uniforms(n! * h! + w!, n! * h! * w!);
      const a = await ortRun(fp32, input, [n!, 1, h!, w!]);
      const b = await ortRun(fp16, input, [n!, 1, h!, w!]);
      expect(b.dims).toEqual([n, 1, h, w]);
      worst = Math.max(worst, maxAbsDiff(a.data, b.data));
    }
    measured.push(`fp16 vs fp32 (residual-denoiser): ${worst.toExponential(2)}`);
    expect(worst).toBeGreaterThan(0);
    expect(worst).toBeLessThanOrEqual(1 / 255);
  });
});

describe('options', () => {
  it('symmetricPads gives the default output (seed, 2x27x31 and 8x64x64)', async () => {
    const symmetric = await ortSession(emitOnnx(seed, seedWeights, { symmetricPads: true }).bytes);
    for (const [n, h, w] of [[2, 27, 31], [8, 64, 64]]) {
      const input = nhwcToNchw(uniforms(h * w, n * h * w), [n!, h!, w!, 1]);
      const a = await ortRun(seedSession, input, [n!, 1, h!, w!]);
      const b = await ortRun(symmetric, input, [n!, 1, h!, w!]);
      measured.push(`symmetric vs default ${n}x${h}x${w}: ${maxAbsDiff(a.data, b.data).toExponential(2)}`);
      expect(b.dims).toEqual(a.dims);
      expect(maxAbsDiff(a.data, b.data)).toBeLessThanOrEqual(1e-6);
    }
  });

  it('opsets 18 to 21 give the same numbers as 17', async () => {
    const input = uniforms(3, 2 * 20 * 20);
    const base = await ortRun(seedSession, input, [2, 1, 20, 20]);
    for (const opset of [18, 19, 20, 21]) {
      const out = await ortRun(await ortSession(emitOnnx(seed, seedWeights, { opset }).bytes), input, [2, 1, 20, 20]);
      expect(maxAbsDiff(base.data, out.data), `opset ${opset}`).toBe(0);
    }
  });

  it('fp16: float32 in and out, close to fp32 (tolerance: less than one 8-bit grey level, 1/255)', async () => {
    // Weights x3 spread the outputs over most of [0, 1], as trained weights do.
    const weights = randomWeights(seed, 12, 3);
    const emitted = emitOnnx(seed, weights, { fp16: true });
    const fp32 = await ortSession(emitOnnx(seed, weights).bytes);
    const session = await ortSession(emitted.bytes);
    expect(session.inputNames).toEqual(['image']);
    let worst = 0;
    for (const [n, h, w] of [[8, 28, 28], [2, 27, 31], [1, 64, 64]]) {
      const input = uniforms(n! + h! + w!, n! * h! * w!);
      const a = await ortRun(fp32, input, [n!, 1, h!, w!]);
      const b = await ortRun(session, input, [n!, 1, h!, w!]);
      expect(b.dims).toEqual([n, 1, h, w]);
      expect(b.data).toBeInstanceOf(Float32Array);
      worst = Math.max(worst, maxAbsDiff(a.data, b.data));
    }
    measured.push(`fp16 vs fp32 (seed): ${worst.toExponential(2)}; size ${emitted.bytes.length} vs ${emitOnnx(seed, weights).bytes.length} bytes`);
    expect(worst).toBeGreaterThan(0);
    expect(worst).toBeLessThanOrEqual(1 / 255);
  });

  it('records the measured errors', () => {
    process.stdout.write(`measured max abs errors:\n  ${measured.join('\n  ')}\n`);
    expect(measured.length).toBeGreaterThan(10);
  });
});
