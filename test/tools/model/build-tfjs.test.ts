// Builder: the spec built as a TF.js model, checked against TF.js's own counts and shapes, and weights by name.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel, checkWeights, getWeights, setWeights, type WeightTensor } from '../../../tools/model/build-tfjs.js';
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
