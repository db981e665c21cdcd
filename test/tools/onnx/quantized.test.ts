// Int8 export: QuantizeLinear / DequantizeLinear pairs with int8 kernels and int32 biases, which onnxruntime fuses into integer kernels and runs to the TF.js fake-quantized network's numbers.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel, getWeights, setWeights, type WeightTensor } from '../../../tools/model/build-tfjs.js';
import { quantizedTensors, quantizeWeights } from '../../../tools/layers/quantization.js';
import { parseSpec, type NetworkSpec } from '../../../tools/layers/spec.js';
import { emitOnnx, permuteKernel } from '../../../tools/onnx/emit.js';
import { inspectOnnx } from '../../../tools/onnx/inspect.js';
import { thrownMessage } from '../../validation-message.js';
import { randomWeights, uniforms } from './parity-helpers.js';
import { tempDirs } from '../../temp-dir.js';

const { onnx } = onnxProto;
let spec: NetworkSpec;
let weights: Map<string, WeightTensor>;
let model: ReturnType<typeof buildModel>;
const makeTempDir = tempDirs();
const work = makeTempDir('int8-');
const [N, H, W] = [2, 40, 48];
const nhwc = (channels: number, seed: number, scale = 1) => tf.tensor4d(uniforms(seed, N * H * W * channels).map((v) => v * scale), [N, H, W, channels]);
const nchw = (t: tf.Tensor) => tf.transpose(t, [0, 3, 1, 2]).dataSync() as Float32Array;

beforeAll(async () => {
  await tf.setBackend('cpu');
  spec = parseSpec({ ...JSON.parse(readFileSync('models/photo-denoiser.json', 'utf8')), quantization: 'int8' });
  // Random weights, then ranges from three training-mode calls, as a quantization-aware run starts.
  model = buildModel(spec);
  const start = await getWeights(model, spec);
  for (const [name, w] of randomWeights(parseSpec({ ...JSON.parse(readFileSync('models/photo-denoiser.json', 'utf8')) }), 8)) start.set(name, w);
  setWeights(model, spec, start);
  for (let i = 0; i < 3; i++) model.apply([nhwc(3, 20 + i), nhwc(1, 30 + i, 0.2)], { training: true });
  weights = await getWeights(model, spec);
});

describe('int8 export: bad calls', () => {
  it('refuses float16 for an int8 spec', () => {
    expect(thrownMessage(() => emitOnnx(spec, weights, { fp16: true }))).toBe('Expected float32 (an int8 spec is not written as float16) for fp16 but received true');
  });
});

describe('int8 export', () => {
  it('writes int8 kernels per output channel and int32 biases on the input-scale x kernel-scale grid, each behind a DequantizeLinear, and a Q/DQ pair per quantized tensor', () => {
    const { model: proto } = emitOnnx(spec, weights);
    const inits = new Map(proto.graph!.initializer!.map((t) => [t.name!, t]));
    const T = onnx.TensorProto.DataType;
    // enc1: Conv OIHW, output channel axis 0; its kernel values worked out here from the TF kernel.
    const kernel = inits.get('enc1.kernel_quantized')!;
    expect(kernel.dataType).toBe(T.INT8);
    const oihw = permuteKernel(weights.get('enc1.kernel')!, 'hwio', 'oihw');
    expect(kernel.dims!.map(Number)).toEqual(oihw.dims);
    const { values, scales } = quantizeWeights(oihw.data, 32, 32 * 9);
    expect([...new Int8Array((kernel.rawData as Uint8Array).slice().buffer)]).toEqual([...values]);
    const scaleBytes = (inits.get('enc1.kernel_scale')!.rawData as Uint8Array).slice();
    expect([...new Float32Array(scaleBytes.buffer)]).toEqual([...scales]);
    expect(inits.get('enc1.kernel_zero_point')!.dataType).toBe(T.INT8);
    expect(inits.get('enc1.bias_quantized')!.dataType).toBe(T.INT32);
    expect(inits.get('enc1.range_zero_point')!.dataType).toBe(T.UINT8);
    expect(inits.has('enc1.kernel')).toBe(false);
    // ConvTranspose IOHW: the output channel is axis 1.
    const up1 = proto.graph!.node!.find((n) => n.name === 'up1.kernel/DequantizeLinear')!;
    expect(up1.attribute!.find((a) => a.name === 'axis')!.i).toBe(1);
    const ops = proto.graph!.node!.map((n) => n.opType);
    const count = (op: string) => ops.filter((o) => o === op).length;
    const tensors = quantizedTensors(spec).length;
    // 15 convolutions, each with its kernel and bias dequantized.
    expect(count('QuantizeLinear')).toBe(tensors);
    expect(count('DequantizeLinear')).toBe(tensors + 2 * 15);
    expect(inspectOnnx(proto && emitOnnx(spec, weights).bytes, 'q.onnx').hashMatches).toBe(true);
  });

  it('onnxruntime fuses the pairs into integer convolutions and adds, and its output is the TF.js fake-quantized network\'s', async () => {
    const { bytes } = emitOnnx(spec, weights);
    const optimized = path.join(work, 'optimized.onnx');
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], graphOptimizationLevel: 'all', optimizedModelFilePath: optimized, logSeverityLevel: 3 });
    const ops = onnx.ModelProto.decode(readFileSync(optimized)).graph!.node!.map((n) => n.opType);
    expect(ops.filter((o) => o === 'QLinearConv').length).toBeGreaterThanOrEqual(12);
    expect(ops.filter((o) => o === 'QLinearAdd').length).toBe(2);
    const [image, map] = [nhwc(3, 40), nhwc(1, 41, 0.2)];
    const expected = nchw(model.predict([image, map]) as tf.Tensor);
    const out = await session.run({ image: new ort.Tensor('float32', nchw(image), [N, 3, H, W]), noise_map: new ort.Tensor('float32', nchw(map), [N, 1, H, W]) });
    const actual = out.denoised!.data as Float32Array;
    // Integer sums are exact; TF.js sums in float32, so a value within about 1e-7 of a rounding tie can land one step
    // apart, and that step spreads through the layers after it: a few outputs differ (tens to hundreds of 11,520 here,
    // by about 0.001 to 0.006). Layer by layer, below, the two agree to the step.
    const errors = Float32Array.from(actual, (v, i) => Math.abs(v - expected[i]!));
    expect(errors.reduce((a, b) => a + b, 0) / errors.length).toBeLessThan(1e-3);
    expect(Math.max(...errors)).toBeLessThan(0.02);
    await session.release();
  });

  it('layer by layer, fed onnxruntime\'s own inputs, TF.js gives the same uint8 values (a one-step tie at most, in at most 1 of 10,000)', async () => {
    const tensors = quantizedTensors(spec);
    const proto = onnx.ModelProto.decode(emitOnnx(spec, weights).bytes);
    for (const t of tensors) proto.graph!.output!.push({ name: `${t}/dequantized`, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } });
    const session = await ort.InferenceSession.create(onnx.ModelProto.encode(proto).finish(), { executionProviders: ['cpu'], logSeverityLevel: 3 });
    const [image, map] = [nhwc(3, 50), nhwc(1, 51, 0.2)];
    const out = await session.run({ image: new ort.Tensor('float32', nchw(image), [N, 3, H, W]), noise_map: new ort.Tensor('float32', nchw(map), [N, 1, H, W]) });
    const toNhwc = (t: ort.Tensor) => tf.transpose(tf.tensor4d(t.data as Float32Array, t.dims as [number, number, number, number]), [0, 2, 3, 1]);
    const fed = (name: string) => (name === 'image' ? image : name === 'noise_map' ? map : toNhwc(out[`${name}/dequantized`]!));
    let compared = 0;
    for (const layer of spec.layers.filter((l) => tensors.includes(l.name))) {
      const inputs = layer.inputs.map(fed);
      const y = model.getLayer(layer.name).apply(inputs.length === 1 ? inputs[0]! : inputs) as tf.Tensor;
      const mine = nchw(model.getLayer(`${layer.name}/quant`).apply(y) as tf.Tensor);
      const theirs = out[`${layer.name}/dequantized`]!.data as Float32Array;
      const step = weights.get(`${layer.name}.range`)!.data[0]! / 255;
      let apart = 0;
      for (let i = 0; i < mine.length; i++) {
        const steps = Math.abs(mine[i]! - theirs[i]!) / step;
        expect(steps, `${layer.name}[${i}]`).toBeLessThan(1.01);
        if (steps > 0.5) apart++;
      }
      expect(apart / mine.length, layer.name).toBeLessThanOrEqual(1e-4);
      compared++;
    }
    expect(compared).toBe(tensors.length);
    await session.release();
  });
});
