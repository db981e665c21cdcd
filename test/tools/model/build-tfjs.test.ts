// Builder: the spec built as a TF.js model, checked against TF.js's own counts and shapes, and weights by name.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel, checkWeights, getWeights, RANGE_UPDATE, setWeights, type WeightTensor } from '../../../tools/model/build-tfjs.js';
import { quantizeWeights, roundHalfEven } from '../../../tools/layers/quantization.js';
import { countParams, inferShapes, loadSpec, parseSpec, serializeSpec, type NetworkSpec } from '../../../tools/layers/spec.js';

let spec: NetworkSpec;

beforeAll(async () => {
  await tf.setBackend('cpu');
  spec = await loadSpec('models/noise-reducer.json');
});

async function weightsOf(seed: number): Promise<Map<string, WeightTensor>> {
  return getWeights(buildModel(spec, { seed }), spec);
}

describe('weights by name: bad calls', () => {
  it('rejects a missing tensor, naming it', async () => {
    const weights = await weightsOf(1);
    weights.delete('encoder_conv2.bias');
    expect(() => checkWeights(spec, weights, 'w.safetensors')).toThrow('Expected shape [8] for tensor "encoder_conv2.bias" in w.safetensors but received no tensor of that name');
  });

  it('rejects a wrong shape, naming the tensor and both shapes', async () => {
    const weights = await weightsOf(1);
    weights.set('decoder_deconv1.kernel', { shape: [3, 3, 16, 8], data: new Float32Array(3 * 3 * 16 * 8) });
    expect(() => setWeights(buildModel(spec), spec, weights)).toThrow('Expected shape [3, 3, 8, 8] for tensor "decoder_deconv1.kernel" in weights but received [3, 3, 16, 8]');
  });

  it('rejects data of the wrong length and extra tensors', async () => {
    const weights = await weightsOf(1);
    weights.set('encoder_conv1.bias', { shape: [16], data: new Float32Array(15) });
    expect(() => checkWeights(spec, weights)).toThrow('Expected 16 values for tensor "encoder_conv1.bias" in weights but received 15');
    const extra = await weightsOf(1);
    extra.set('encoder_conv1.gamma', { shape: [16], data: new Float32Array(16) });
    expect(() => checkWeights(spec, extra)).toThrow(/received an extra tensor "encoder_conv1\.gamma"/);
  });
});

describe('buildModel', () => {
  it('has 3,217 parameters by TF.js count and the spec layer names', () => {
    const model = buildModel(spec);
    expect(model.countParams()).toBe(3217);
    expect(model.layers.map((l) => l.name)).toEqual(['image', ...spec.layers.map((l) => l.name)]);
    expect(model.name).toBe('noise-reducer');
  });

  it.each([
    [28, 28],
    [32, 48],
  ])('gives every layer the inferred output shape for a %ix%i input', (h, w) => {
    const model = buildModel(spec);
    const names = spec.layers.map((l) => l.name);
    const probe = tfl.model({ inputs: model.inputs, outputs: names.map((n) => model.getLayer(n).output as never) });
    const outputs = probe.predict(tf.zeros([2, h, w, 1])) as tf.Tensor[];
    const shapes = inferShapes(spec, h, w);
    outputs.forEach((out, i) => {
      const s = shapes.get(names[i]!)!;
      expect(out.shape).toEqual([2, s.height, s.width, s.channels]);
    });
    expect(outputs.at(-1)!.shape).toEqual([2, h, w, 1]);
    tf.dispose(outputs);
  });

  it('reads weights with the spec shapes and writes them back exactly', async () => {
    const source = await weightsOf(7);
    expect([...source.keys()]).toHaveLength(10);
    for (const [name, w] of source) expect(w.data.length, name).toBe(w.shape.reduce((a, b) => a * b, 1));
    const target = buildModel(spec, { seed: 99 });
    expect((await getWeights(target, spec)).get('encoder_conv1.kernel')!.data).not.toEqual(source.get('encoder_conv1.kernel')!.data);
    setWeights(target, spec, source);
    const back = await getWeights(target, spec);
    for (const [name, w] of source) expect(back.get(name)!.data, name).toEqual(w.data);
  });

  it('is deterministic for a seed', async () => {
    expect((await weightsOf(3)).get('decoder_output.kernel')!.data).toEqual((await weightsOf(3)).get('decoder_output.kernel')!.data);
    expect((await weightsOf(3)).get('decoder_output.kernel')!.data).not.toEqual((await weightsOf(4)).get('decoder_output.kernel')!.data);
  });

  it('builds the same network from the spec serialised and read back', () => {
    const again = parseSpec(JSON.parse(serializeSpec(spec)));
    expect(again).toEqual(spec);
    const a = buildModel(spec, { seed: 5 });
    const b = buildModel(again, { seed: 5 });
    const x = tf.randomUniform([1, 12, 20, 1], 0, 1, 'float32', 1);
    const diff = tf.max(tf.abs(tf.sub(a.predict(x) as tf.Tensor, b.predict(x) as tf.Tensor))).dataSync()[0];
    expect(diff).toBe(0);
  });
});

/** A NHWC value by plain indexing. */
const at = (data: Float32Array, [h, w, c]: number[], b: number, y: number, x: number, k: number) => data[((b * h! + y) * w! + x) * c! + k]!;

describe('add, subtract, concat and clip, against plain loops over the tensors they read', () => {
  const mergeSpec = () => parseSpec({
    format: 'onnx-denoiser/spec', version: 1, name: 'merges', input: { name: 'image', channels: 1 },
    layers: [
      { name: 'a', kind: 'conv2d', filters: 3, kernelSize: 3, padding: 'same' },
      { name: 'b', kind: 'conv2d', filters: 3, kernelSize: 3, padding: 'same', inputs: ['image'] },
      { name: 'c', kind: 'conv2d', filters: 3, kernelSize: 1, inputs: ['image'] },
      { name: 'sum', kind: 'add', inputs: ['a', 'b', 'c'], activation: 'relu' },
      { name: 'cat', kind: 'concat', inputs: ['sum', 'image', 'b'] },
      { name: 'one', kind: 'conv2d', filters: 1, kernelSize: 3, padding: 'same' },
      { name: 'diff', kind: 'subtract', inputs: ['image', 'one'] },
      { name: 'out', kind: 'clip', min: 0.25, max: 0.75 },
    ],
  });

  it('builds weightless layers with no TF.js weights and the spec names', async () => {
    const m = mergeSpec();
    const model = buildModel(m, { seed: 2 });
    expect(model.countParams()).toBe(countParams(m));
    expect(countParams(m)).toBe(30 + 30 + 6 + 64);
    for (const name of ['sum', 'cat', 'diff', 'out']) expect(model.getLayer(name).getWeights(), name).toEqual([]);
    // The activation of an add is its own layer, fed by the sum.
    expect(model.getLayer('sum/linear').getClassName()).toBe('Add');
    expect(model.getLayer('sum').getClassName()).toBe('Activation');
    expect([...(await getWeights(model, m)).keys()]).toEqual(['a.kernel', 'a.bias', 'b.kernel', 'b.bias', 'c.kernel', 'c.bias', 'one.kernel', 'one.bias']);
  });

  it('compute the sum with its activation, the channel order of concat, a - b (not b - a) and the clip bounds', () => {
    const m = mergeSpec();
    const model = buildModel(m, { seed: 3 });
    const names = ['image', 'a', 'b', 'c', 'sum', 'cat', 'one', 'diff', 'out'];
    const probe = tfl.model({ inputs: model.inputs, outputs: names.slice(1).map((n) => model.getLayer(n).output as never) });
    const [n, h, w] = [2, 5, 6];
    const x = tf.randomUniform([n, h, w, 1], 0, 1, 'float32', 9);
    const outs = [x, ...(probe.predict(x) as tf.Tensor[])];
    const t = Object.fromEntries(names.map((name, i) => [name, { data: outs[i]!.dataSync() as Float32Array, shape: outs[i]!.shape.slice(1) }]));
    const v = (name: string, b: number, y: number, xx: number, k: number) => at(t[name]!.data, t[name]!.shape, b, y, xx, k);
    expect(t.cat!.shape).toEqual([h, w, 3 + 1 + 3]);
    let clippedLow = 0;
    let clippedHigh = 0;
    for (let b = 0; b < n; b++) {
      for (let y = 0; y < h; y++) {
        for (let xx = 0; xx < w; xx++) {
          for (let k = 0; k < 3; k++) {
            const sum = Math.max(0, v('a', b, y, xx, k) + v('b', b, y, xx, k) + v('c', b, y, xx, k));
            expect(v('sum', b, y, xx, k)).toBeCloseTo(sum, 6);
            expect(v('cat', b, y, xx, k)).toBe(v('sum', b, y, xx, k));
            expect(v('cat', b, y, xx, 4 + k)).toBe(v('b', b, y, xx, k));
          }
          expect(v('cat', b, y, xx, 3)).toBe(v('image', b, y, xx, 0));
          const diff = v('image', b, y, xx, 0) - v('one', b, y, xx, 0);
          expect(v('diff', b, y, xx, 0)).toBeCloseTo(diff, 6);
          const clipped = Math.min(0.75, Math.max(0.25, v('diff', b, y, xx, 0)));
          expect(v('out', b, y, xx, 0)).toBe(clipped);
          if (clipped === 0.25) clippedLow++;
          if (clipped === 0.75) clippedHigh++;
        }
      }
    }
    // Both bounds and the open range between them are exercised.
    expect(clippedLow).toBeGreaterThan(0);
    expect(clippedHigh).toBeGreaterThan(0);
    expect(clippedLow + clippedHigh).toBeLessThan(n * h * w);
    tf.dispose(outs);
  });

  it('builds the shipped residual spec with the inferred shapes and its parameter count', async () => {
    const residual = await loadSpec('models/residual-denoiser.json');
    const model = buildModel(residual, { seed: 1 });
    expect(model.countParams()).toBe(countParams(residual));
    const names = residual.layers.map((l) => l.name);
    const probe = tfl.model({ inputs: model.inputs, outputs: names.map((n) => model.getLayer(n).output as never) });
    for (const [h, w] of [[28, 28], [32, 48]] as const) {
      const outputs = probe.predict(tf.zeros([2, h, w, 1])) as tf.Tensor[];
      const shapes = inferShapes(residual, h, w);
      outputs.forEach((out, i) => {
        const s = shapes.get(names[i]!)!;
        expect(out.shape, names[i]).toEqual([2, s.height, s.width, s.channels]);
      });
      tf.dispose(outputs);
    }
  });
});

describe('int8 specs: fake quantization against loops over the rounding worked out here', () => {
  const int8 = () =>
    parseSpec({
      format: 'onnx-denoiser/spec', version: 1, name: 'q', input: { name: 'image', channels: 2 }, quantization: 'int8',
      layers: [
        { name: 'a', kind: 'conv2d', filters: 2, kernelSize: 3, padding: 'same', activation: 'relu' },
        { name: 'out', kind: 'conv2d', filters: 2, kernelSize: 3, padding: 'same' },
      ],
    });

  it('a range missing from the weights is named like any weight', async () => {
    const q = int8();
    const weights = await getWeights(buildModel(q, { seed: 2 }), q);
    weights.delete('a.range');
    expect(() => checkWeights(q, weights, 'w.safetensors')).toThrow('Expected shape [1] for tensor "a.range" in w.safetensors but received no tensor of that name');
  });

  it('the forward pass is the image and relu outputs on 255 levels of their ranges, kernels on 127 levels per output channel, biases on the input-scale x kernel-scale grid', async () => {
    const q = int8();
    const weights = await getWeights(buildModel(q, { seed: 4 }), q);
    for (const [name, w] of weights) if (name.endsWith('.bias')) w.data.set([0.013, -0.021]);
    // 0.93 puts no input (multiples of 0.01) on a rounding tie, where float32 and float64 may round apart.
    weights.set('image.range', { shape: [1], data: Float32Array.of(0.93) });
    weights.set('a.range', { shape: [1], data: Float32Array.of(0.7) });
    const model = buildModel(q);
    setWeights(model, q, weights);
    const [h, w] = [5, 6];
    const x = Float32Array.from({ length: h * w * 2 }, (_, i) => ((i * 37) % 101) / 100);
    const actual = (model.predict(tf.tensor4d(x, [1, h, w, 2])) as tf.Tensor).dataSync();

    const fakeActivation = (v: Float32Array, range: number) => v.map((t) => Math.min(255, Math.max(0, roundHalfEven(t / (range / 255)))) * (range / 255));
    const conv = (input: Float32Array, layer: string, inputScale: number, relu: boolean) => {
      const kernel = weights.get(`${layer}.kernel`)!;
      // HWIO: the output channel is the last axis (inner 1).
      const { values, scales } = quantizeWeights(kernel.data, 2, 1);
      const bias = weights.get(`${layer}.bias`)!.data.map((b, c) => roundHalfEven(b / (inputScale * scales[c]!)) * inputScale * scales[c]!);
      const out = new Float32Array(h * w * 2);
      for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) for (let o = 0; o < 2; o++) {
        let sum = bias[o]!;
        for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) for (let i = 0; i < 2; i++) {
          const [sy, sx] = [y + ky - 1, xx + kx - 1];
          if (sy < 0 || sy >= h || sx < 0 || sx >= w) continue;
          sum += input[(sy * w + sx) * 2 + i]! * values[((ky * 3 + kx) * 2 + i) * 2 + o]! * scales[o]!;
        }
        out[(y * w + xx) * 2 + o] = relu ? Math.max(0, sum) : sum;
      }
      return out;
    };
    const a = fakeActivation(conv(fakeActivation(x, 0.93), 'a', Math.fround(0.93) / 255, true), 0.7);
    const expected = conv(a, 'out', 0.7 / 255, false);
    let max = 0;
    for (let i = 0; i < expected.length; i++) max = Math.max(max, Math.abs(actual[i]! - expected[i]!));
    expect(max).toBeLessThan(1e-5);
    // Not the float network's output: the rounding shows.
    const float = parseSpec({ ...JSON.parse(serializeSpec(q)), quantization: undefined });
    const plain = buildModel(float);
    setWeights(plain, float, new Map([...weights].filter(([n]) => !n.endsWith('.range'))));
    const floatOut = (plain.predict(tf.tensor4d(x, [1, h, w, 2])) as tf.Tensor).dataSync();
    expect(Math.max(...expected.map((v, i) => Math.abs(v - floatOut[i]!)))).toBeGreaterThan(1e-4);
  });

  it('training calls set each range to the first batch\'s maximum, then move it 1% towards each new one; predictions leave it', async () => {
    const q = int8();
    const model = buildModel(q, { seed: 5 });
    const range = async () => (await getWeights(model, q)).get('image.range')!.data[0]!;
    expect(await range()).toBe(0);
    const batch = (max: number) => tf.tensor4d(Float32Array.from({ length: 2 * 4 * 4 * 2 }, (_, i) => (i === 7 ? max : max / 2)), [2, 4, 4, 2]);
    model.apply(batch(0.8), { training: true });
    expect(await range()).toBeCloseTo(0.8, 6);
    model.apply(batch(0.4), { training: true });
    expect(await range()).toBeCloseTo(0.8 * (1 - RANGE_UPDATE) + 0.4 * RANGE_UPDATE, 6);
    model.predict(batch(0.1));
    expect(await range()).toBeCloseTo(0.796, 6);
  });

  it('gradients pass straight through the rounding to every kernel and bias', async () => {
    const q = int8();
    const model = buildModel(q, { seed: 6 });
    const x = tf.tensor4d(Float32Array.from({ length: 4 * 4 * 2 }, (_, i) => (i % 5) / 5), [1, 4, 4, 2]);
    model.apply(x, { training: true });
    const trainable = model.trainableWeights.map((v) => v.read() as tf.Variable);
    expect(trainable.map((v) => v.name.split('/').slice(-1)[0]!.replace(/_\d+$/, ''))).toEqual(['kernel', 'bias', 'kernel', 'bias']);
    const { grads } = tf.variableGrads(() => tf.sum(tf.square(model.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar, trainable);
    for (const v of trainable) expect(Math.max(...Array.from(grads[v.name]!.dataSync(), Math.abs)), v.name).toBeGreaterThan(0);
  });
});
