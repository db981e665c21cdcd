// Builder: the spec built as a TF.js model, checked against TF.js's own counts and shapes, and weights by name.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel, checkWeights, getWeights, setWeights, type WeightTensor } from '../../../tools/model/build-tfjs.js';
import { inferShapes, loadSpec, parseSpec, serializeSpec, type NetworkSpec } from '../../../tools/spec/spec.js';

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
    expect(() => checkWeights(spec, weights, 'w.safetensors')).toThrow('Expected a tensor "encoder_conv2.bias" of shape [8] in w.safetensors but received none');
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
