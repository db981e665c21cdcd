// A spec with a noise map: the emitted ONNX model (two inputs, both padded inside) against TF.js on the same images and maps.
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeDenoiserMetadata, MODEL_FORMAT_VERSION_NOISE_MAP } from 'onnx-denoiser-common';
import { buildModel, setWeights, type WeightTensor } from '../../../tools/model/build-tfjs.js';
import { parseSpec, sizeMultiple, type NetworkSpec } from '../../../tools/layers/spec.js';
import { emitOnnx } from '../../../tools/onnx/emit.js';
import { cropNhwc, edgePadNhwc, initTf, maxAbsDiff, nchwToNhwc, nhwcToNchw, ortSession, randomWeights, uniforms } from './parity-helpers.js';

/** A small U-Net-like spec that reads the map through a concat, with a stride so the graph pads to a multiple of 2. */
const SPEC = {
  format: 'onnx-denoiser/spec',
  version: 1,
  name: 'mapped',
  input: { name: 'image', channels: 3, noiseMap: 'noise_map' },
  layers: [
    { name: 'joined', kind: 'concat', inputs: ['image', 'noise_map'] },
    { name: 'enc', kind: 'conv2d', filters: 6, kernelSize: 3, padding: 'same', activation: 'relu' },
    { name: 'down', kind: 'conv2d', filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' },
    { name: 'up', kind: 'conv2dTranspose', filters: 6, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' },
    { name: 'skip', kind: 'add', inputs: ['up', 'enc'] },
    { name: 'noise', kind: 'conv2d', filters: 3, kernelSize: 3, padding: 'same', activation: 'linear' },
    { name: 'residual', kind: 'subtract', inputs: ['image', 'noise'] },
  ],
};

let spec: NetworkSpec;
let weights: Map<string, WeightTensor>;

beforeAll(async () => {
  await initTf();
  spec = parseSpec(SPEC);
  weights = randomWeights(spec, 21);
});

/** TF.js on NHWC images and NHW1 maps, padded by hand (edge) to the multiple and cropped back. */
function tfReference(image: Float32Array, map: Float32Array, [n, h, w]: [number, number, number]): Float32Array {
  const m = sizeMultiple(spec)!;
  const [H, W] = [Math.ceil(h / m) * m, Math.ceil(w / m) * m];
  const model = buildModel(spec);
  setWeights(model, spec, weights);
  const out = tf.tidy(() => {
    const inputs = [tf.tensor4d(edgePadNhwc(image, [n, h, w, 3], H, W), [n, H, W, 3]), tf.tensor4d(edgePadNhwc(map, [n, h, w, 1], H, W), [n, H, W, 1])];
    return (model.predict(inputs) as tf.Tensor).dataSync() as Float32Array;
  });
  model.dispose();
  return cropNhwc(out, n, H, W, 3, h, w);
}

async function onnxRun(session: ort.InferenceSession, image: Float32Array, map: Float32Array, [n, h, w]: [number, number, number]): Promise<Float32Array> {
  const result = await session.run({
    image: new ort.Tensor('float32', nhwcToNchw(image, [n, h, w, 3]), [n, 3, h, w]),
    // NHW1 and N1HW hold the same values in the same order.
    noise_map: new ort.Tensor('float32', map, [n, 1, h, w]),
  });
  return nchwToNhwc(result.denoised!.data as Float32Array, [n, 3, h, w]);
}

describe('bad specs with a noise map', () => {
  it('refuses a map named like the image, a map no layer reads, and the map as the output', () => {
    const input = (noiseMap: unknown) => ({ ...SPEC, input: { name: 'image', channels: 3, noiseMap } });
    expect(() => parseSpec(input('image'))).toThrow(/Expected a name other than the image input's \("image"\) for spec\.input\.noiseMap but received "image"/);
    expect(() => parseSpec(input('3d'))).toThrow(/for spec\.input\.noiseMap but received "3d"/);
    const unread = { ...SPEC, layers: [{ name: 'noise', kind: 'conv2d', filters: 3, kernelSize: 3, padding: 'same' }, { name: 'residual', kind: 'subtract', inputs: ['image', 'noise'] }] };
    expect(() => parseSpec(unread)).toThrow(/Expected a noise map that a layer the output depends on reads for spec\.input\.noiseMap but received "noise_map", which none reads/);
    expect(() => parseSpec({ ...SPEC, output: 'noise_map' })).toThrow(/Expected the name of a layer for spec\.output but received "noise_map"/);
  });
});

describe('a spec with a noise map: ONNX matches TF.js', () => {
  it('declares two inputs, format version 3 and the map in its metadata', () => {
    const emitted = emitOnnx(spec, weights);
    expect(emitted.model.graph!.input!.map((i) => i.name)).toEqual(['image', 'noise_map']);
    const metadata = decodeDenoiserMetadata(emitted.props, 'mapped');
    expect(metadata.formatVersion).toBe(MODEL_FORMAT_VERSION_NOISE_MAP);
    expect(metadata.noiseMap).toBe('noise_map');
  });

  it.each([
    [1, 16, 16],
    [2, 15, 21],
    [3, 9, 7],
  ])('batch %i, %ix%i, a map that varies per pixel (odd sizes pad both inputs)', async (n, h, w) => {
    const session = await ortSession(emitOnnx(spec, weights).bytes);
    const image = uniforms(n * 31 + h, n * h * w * 3);
    const map = uniforms(n * 37 + w, n * h * w).map((v) => v * 0.2);
    const expected = tfReference(image, map, [n, h, w]);
    const actual = await onnxRun(session, image, map, [n, h, w]);
    expect(maxAbsDiff(expected, actual)).toBeLessThanOrEqual(1e-5);
    // The map matters: another level gives another output.
    const other = await onnxRun(session, image, map.map((v) => v + 0.1), [n, h, w]);
    expect(maxAbsDiff(other, actual)).toBeGreaterThan(1e-3);
  });

  it('a static-shape export pads the map too', async () => {
    const session = await ortSession(emitOnnx(spec, weights, { staticShape: { batch: 1, height: 13, width: 11 } }).bytes);
    const image = uniforms(5, 13 * 11 * 3);
    const map = uniforms(6, 13 * 11).map((v) => v * 0.2);
    expect(maxAbsDiff(tfReference(image, map, [1, 13, 11]), await onnxRun(session, image, map, [1, 13, 11]))).toBeLessThanOrEqual(1e-5);
  });

  it('fp16 stays within one 8-bit level of fp32', async () => {
    const session = await ortSession(emitOnnx(spec, weights, { fp16: true }).bytes);
    const image = uniforms(7, 2 * 12 * 10 * 3);
    const map = new Float32Array(2 * 12 * 10).fill(0.1);
    expect(maxAbsDiff(tfReference(image, map, [2, 12, 10]), await onnxRun(session, image, map, [2, 12, 10]))).toBeLessThanOrEqual(1 / 255);
  });
});
