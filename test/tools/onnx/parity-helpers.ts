// Shared by the ONNX tests: seeded weights and images, NHWC <-> NCHW, edge padding by hand, TF.js and onnxruntime runs.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type * as tfl from '@tensorflow/tfjs-layers';
import * as ort from 'onnxruntime-node';
import { buildModel, setWeights, type WeightTensor } from '../../../tools/model/build-tfjs.js';
import { parseSpec, weightDefs, type NetworkSpec } from '../../../tools/layers/spec.js';
import { uniforms } from '../../../tools/onnx/test-models.js';

export { uniforms };

/** Puts TF.js on its pure-JS `cpu` backend (the reference). */
export async function initTf(): Promise<void> {
  await tf.setBackend('cpu');
}

/**
 * Seeded weights for a spec in TF layout: kernels uniform in +-sqrt(6 / (fan_in + fan_out)) (glorot) times `scale`,
 * biases uniform in +-0.1 times `scale` (non-zero, unlike a fresh model, so bias handling is tested too).
 */
export function randomWeights(spec: NetworkSpec, seed: number, scale = 1): Map<string, WeightTensor> {
  const weights = new Map<string, WeightTensor>();
  weightDefs(spec).forEach((def, i) => {
    const count = def.shape.reduce((a, b) => a * b, 1);
    const u = uniforms(seed * 1000 + i, count);
    let limit = 0.1;
    if (def.suffix === 'kernel') {
      const [kh, kw, a, b] = def.shape as [number, number, number, number];
      limit = Math.sqrt(6 / (kh * kw * (a + b)));
    }
    weights.set(def.name, { shape: [...def.shape], data: u.map((v) => (v * 2 - 1) * limit * scale) });
  });
  return weights;
}

/** A small spec from layers (name `t`, 1 or more channels). */
export function testSpec(layers: Record<string, unknown>[], channels = 1): NetworkSpec {
  return parseSpec({ format: 'onnx-denoiser/spec', version: 1, name: 't', input: { name: 'image', channels }, layers });
}

/** [N, H, W, C] -> [N, C, H, W]. */
export function nhwcToNchw(data: Float32Array, [n, h, w, c]: readonly number[]): Float32Array {
  const out = new Float32Array(data.length);
  for (let b = 0; b < n!; b++) for (let y = 0; y < h!; y++) for (let x = 0; x < w!; x++) for (let k = 0; k < c!; k++) out[((b * c! + k) * h! + y) * w! + x] = data[((b * h! + y) * w! + x) * c! + k]!;
  return out;
}

/** [N, C, H, W] -> [N, H, W, C]. */
export function nchwToNhwc(data: Float32Array, [n, c, h, w]: readonly number[]): Float32Array {
  const out = new Float32Array(data.length);
  for (let b = 0; b < n!; b++) for (let k = 0; k < c!; k++) for (let y = 0; y < h!; y++) for (let x = 0; x < w!; x++) out[((b * h! + y) * w! + x) * c! + k] = data[((b * c! + k) * h! + y) * w! + x]!;
  return out;
}

/** Pads NHWC images at the bottom and right to `toH` x `toW` by repeating the edge pixels (plain loops). */
export function edgePadNhwc(data: Float32Array, [n, h, w, c]: readonly number[], toH: number, toW: number): Float32Array {
  const out = new Float32Array(n! * toH * toW * c!);
  for (let b = 0; b < n!; b++) {
    for (let y = 0; y < toH; y++) {
      for (let x = 0; x < toW; x++) {
        const sy = Math.min(y, h! - 1);
        const sx = Math.min(x, w! - 1);
        for (let k = 0; k < c!; k++) out[((b * toH + y) * toW + x) * c! + k] = data[((b * h! + sy) * w! + sx) * c! + k]!;
      }
    }
  }
  return out;
}

/** Keeps the top-left `h` x `w` of NHWC images of size `fromH` x `fromW`. */
export function cropNhwc(data: Float32Array, n: number, fromH: number, fromW: number, c: number, h: number, w: number): Float32Array {
  const out = new Float32Array(n * h * w * c);
  for (let b = 0; b < n; b++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) out[((b * h + y) * w + x) * c + k] = data[((b * fromH + y) * fromW + x) * c + k]!;
  return out;
}

const models = new Map<NetworkSpec, tfl.LayersModel>();

/** Runs the spec in TF.js with the given weights on NHWC images; returns NHWC output and its shape. */
export function tfPredict(spec: NetworkSpec, weights: ReadonlyMap<string, WeightTensor>, data: Float32Array, shape: readonly number[]): { data: Float32Array; shape: number[] } {
  let model = models.get(spec);
  if (!model) {
    model = buildModel(spec);
    models.set(spec, model);
  }
  setWeights(model, spec, weights);
  return tf.tidy(() => {
    const out = model!.predict(tf.tensor(data, [...shape], 'float32')) as tf.Tensor;
    return { data: out.dataSync() as Float32Array, shape: out.shape };
  });
}

/** Opens an onnxruntime CPU session with every graph optimisation, one thread (the machine is shared). */
export function ortSession(bytes: Uint8Array): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: 1, logSeverityLevel: 3 });
}

/** Runs one float32 NCHW input through a session; returns the first output and its dims. */
export async function ortRun(session: ort.InferenceSession, data: Float32Array, dims: readonly number[]): Promise<{ data: Float32Array; dims: number[] }> {
  const result = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', data, [...dims]) });
  const out = result[session.outputNames[0]!]!;
  return { data: out.data as Float32Array, dims: [...out.dims] };
}

/** Largest absolute difference (Infinity when the lengths differ). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

/**
 * TF.js on NHWC images vs the ONNX model on the same images in NCHW: returns the max abs error and both outputs'
 * shapes (ONNX dims as NHWC for comparison). Odd sizes are padded by hand (edge) for TF.js, then cropped.
 */
export async function compare(
  spec: NetworkSpec,
  weights: ReadonlyMap<string, WeightTensor>,
  session: ort.InferenceSession,
  [n, h, w]: [number, number, number],
  seed: number,
  multiple = 1,
): Promise<{ error: number; tfShape: number[]; onnxShape: number[] }> {
  const c = spec.input.channels;
  const nhwc = uniforms(seed, n * h * w * c);
  const H = Math.ceil(h / multiple) * multiple;
  const W = Math.ceil(w / multiple) * multiple;
  const padded = edgePadNhwc(nhwc, [n, h, w, c], H, W);
  const reference = tfPredict(spec, weights, padded, [n, H, W, c]);
  const outC = reference.shape[3]!;
  const expected = cropNhwc(reference.data, n, reference.shape[1]!, reference.shape[2]!, outC, Math.min(h, reference.shape[1]!), Math.min(w, reference.shape[2]!));
  const onnx = await ortRun(session, nhwcToNchw(nhwc, [n, h, w, c]), [n, c, h, w]);
  const actual = nchwToNhwc(onnx.data, onnx.dims);
  return { error: maxAbsDiff(expected, actual), tfShape: [n, Math.min(h, reference.shape[1]!), Math.min(w, reference.shape[2]!), outC], onnxShape: [onnx.dims[0]!, onnx.dims[2]!, onnx.dims[3]!, onnx.dims[1]!] };
}
