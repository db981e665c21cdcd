// The wasm training kernels against brute-force loops, and one training step of the seed network on wasm vs cpu.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { buildModel, setWeights, type WeightTensor } from '../../../tools/model/build-tfjs.js';
import { parseSpec, weightDefs } from '../../../tools/layers/spec.js';
import { BACKEND_NAMES, initBackend } from '../../../tools/train/backends.js';
import { WASM_TRAINING_KERNELS, registerWasmTrainingKernels } from '../../../tools/train/wasm-kernels.js';

/** Deterministic uniform [-1, 1) values (LCG) so every run checks the same numbers. */
function randomValues(size: number, seed: number): Float32Array {
  const out = new Float32Array(size);
  let s = seed >>> 0;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

interface Geometry {
  n: number; h: number; w: number; ci: number; co: number;
  kh: number; kw: number; sh: number; sw: number;
  /** TF padding, or explicit [top, bottom, left, right]. */
  pad: 'same' | 'valid' | [number, number, number, number];
}

type Axis = { size: number; k: number; s: number; pad: 'same' | 'valid' | [number, number] };

/** TF's output size and leading pad along one axis, written out independently of TF.js. */
function outAndPadAxis({ size, k, s, pad }: Axis): { out: number; before: number } {
  if (Array.isArray(pad)) return { out: Math.floor((size + pad[0] + pad[1] - k) / s) + 1, before: pad[0] };
  if (pad === 'valid') return { out: Math.ceil((size - k + 1) / s), before: 0 };
  const out = Math.ceil(size / s);
  const total = Math.max(0, (out - 1) * s + k - size);
  return { out, before: Math.floor(total / 2) };
}

const rows = (g: Geometry) => outAndPadAxis({ size: g.h, k: g.kh, s: g.sh, pad: Array.isArray(g.pad) ? [g.pad[0], g.pad[1]] : g.pad });
const cols = (g: Geometry) => outAndPadAxis({ size: g.w, k: g.kw, s: g.sw, pad: Array.isArray(g.pad) ? [g.pad[2], g.pad[3]] : g.pad });

/** The pad attribute TF.js takes for a geometry. */
function padAttr(g: Geometry): 'same' | 'valid' | number[][] {
  return Array.isArray(g.pad) ? [[0, 0], [g.pad[0], g.pad[1]], [g.pad[2], g.pad[3]], [0, 0]] : g.pad;
}

/** dW by the definition, in float64, plus the sum of |terms| of each output (for a float32 error bound). */
function bruteFilterGrad(g: Geometry, x: Float32Array, dy: Float32Array): { value: Float64Array; scale: Float64Array } {
  const { out: oh, before: pt } = rows(g);
  const { out: ow, before: pl } = cols(g);
  const value = new Float64Array(g.kh * g.kw * g.ci * g.co);
  const scale = new Float64Array(value.length);
  for (let b = 0; b < g.n; b++)
    for (let r = 0; r < oh; r++)
      for (let c = 0; c < ow; c++)
        for (let i = 0; i < g.kh; i++)
          for (let j = 0; j < g.kw; j++) {
            const xr = r * g.sh + i - pt;
            const xc = c * g.sw + j - pl;
            if (xr < 0 || xr >= g.h || xc < 0 || xc >= g.w) continue;
            for (let k = 0; k < g.ci; k++)
              for (let o = 0; o < g.co; o++) {
                const term = x[((b * g.h + xr) * g.w + xc) * g.ci + k]! * dy[((b * oh + r) * ow + c) * g.co + o]!;
                const at = ((i * g.kw + j) * g.ci + k) * g.co + o;
                value[at] += term;
                scale[at] += Math.abs(term);
              }
          }
  return { value, scale };
}

/** dx by the definition (scatter of every dy through the filter), in float64, plus the sum of |terms|. */
function bruteInputGrad(g: Geometry, dy: Float32Array, filter: Float32Array): { value: Float64Array; scale: Float64Array } {
  const { out: oh, before: pt } = rows(g);
  const { out: ow, before: pl } = cols(g);
  const value = new Float64Array(g.n * g.h * g.w * g.ci);
  const scale = new Float64Array(value.length);
  for (let b = 0; b < g.n; b++)
    for (let r = 0; r < oh; r++)
      for (let c = 0; c < ow; c++)
        for (let i = 0; i < g.kh; i++)
          for (let j = 0; j < g.kw; j++) {
            const xr = r * g.sh + i - pt;
            const xc = c * g.sw + j - pl;
            if (xr < 0 || xr >= g.h || xc < 0 || xc >= g.w) continue;
            for (let k = 0; k < g.ci; k++)
              for (let o = 0; o < g.co; o++) {
                const term = dy[((b * oh + r) * ow + c) * g.co + o]! * filter[((i * g.kw + j) * g.ci + k) * g.co + o]!;
                const at = ((b * g.h + xr) * g.w + xc) * g.ci + k;
                value[at] += term;
                scale[at] += Math.abs(term);
              }
          }
  return { value, scale };
}

/** Forward convolution by the definition, before bias and activation, in float64, plus the sum of |terms|. */
function bruteConv(g: Geometry, x: Float32Array, filter: Float32Array): { value: Float64Array; scale: Float64Array } {
  const { out: oh, before: pt } = rows(g);
  const { out: ow, before: pl } = cols(g);
  const value = new Float64Array(g.n * oh * ow * g.co);
  const scale = new Float64Array(value.length);
  for (let b = 0; b < g.n; b++)
    for (let r = 0; r < oh; r++)
      for (let c = 0; c < ow; c++)
        for (let o = 0; o < g.co; o++) {
          const at = ((b * oh + r) * ow + c) * g.co + o;
          for (let i = 0; i < g.kh; i++)
            for (let j = 0; j < g.kw; j++) {
              const xr = r * g.sh + i - pt;
              const xc = c * g.sw + j - pl;
              if (xr < 0 || xr >= g.h || xc < 0 || xc >= g.w) continue;
              for (let k = 0; k < g.ci; k++) {
                const term = x[((b * g.h + xr) * g.w + xc) * g.ci + k]! * filter[((i * g.kw + j) * g.ci + k) * g.co + o]!;
                value[at] += term;
                scale[at] += Math.abs(term);
              }
            }
        }
  return { value, scale };
}

/** The activations FusedConv2D takes, written out. */
const ACTIVATIONS: Record<string, (v: number) => number> = {
  linear: (v) => v,
  relu: (v) => Math.max(0, v),
  relu6: (v) => Math.min(6, Math.max(0, v)),
  leakyrelu: (v) => (v > 0 ? v : 0.1 * v),
  elu: (v) => (v > 0 ? v : Math.exp(v) - 1),
  sigmoid: (v) => 1 / (1 + Math.exp(-v)),
};

/**
 * Float32 tolerance: |got - want| <= REL * sum|terms| + ABS. Float32 accumulation of m terms errs by at most about
 * m * 6e-8 * sum|terms| and in practice by far less; a wrong index or stride moves results by whole terms.
 */
const REL = 1e-5;
const ABS = 1e-6;

function expectClose(got: Float32Array, want: { value: Float64Array; scale: Float64Array }, label: string): void {
  expect(got.length, label).toBe(want.value.length);
  let worst = 0;
  let worstAt = -1;
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i]! - want.value[i]!) / (REL * want.scale[i]! + ABS);
    if (!(err <= worst)) {
      worst = err;
      worstAt = i;
    }
  }
  if (!(worst <= 1)) {
    throw new Error(`${label}: element ${worstAt} is ${got[worstAt]} but the brute force gives ${want.value[worstAt]} (scale ${want.scale[worstAt]})`);
  }
}

/** Reads a kernel's result and frees it. */
function take(t: tf.Tensor): Float32Array {
  const values = t.dataSync() as Float32Array;
  t.dispose();
  return values;
}

function runFilterGrad(g: Geometry, x: Float32Array, dy: Float32Array, oh: number, ow: number): Float32Array {
  return take(tf.tidy(() => {
    const xt = tf.tensor4d(x, [g.n, g.h, g.w, g.ci]);
    const dyt = tf.tensor4d(dy, [g.n, oh, ow, g.co]);
    const attrs = { strides: [g.sh, g.sw], pad: padAttr(g), dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: [g.kh, g.kw, g.ci, g.co] };
    return tf.engine().runKernel('Conv2DBackpropFilter', { x: xt, dy: dyt }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
  }));
}

function runInputGrad(g: Geometry, dy: Float32Array, filter: Float32Array, oh: number, ow: number): Float32Array {
  return take(tf.tidy(() => {
    const dyt = tf.tensor4d(dy, [g.n, oh, ow, g.co]);
    const ft = tf.tensor4d(filter, [g.kh, g.kw, g.ci, g.co]);
    const attrs = { strides: [g.sh, g.sw], pad: padAttr(g), dataFormat: 'NHWC', dimRoundingMode: undefined, inputShape: [g.n, g.h, g.w, g.ci] };
    return tf.engine().runKernel('Conv2DBackpropInput', { dy: dyt, filter: ft }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
  }));
}

/**
 * Every (spatial size, stride, padding, kernel) combination once, with channel pairs and batch sizes cycled through
 * so that each value meets several geometries; then the seed network's own shapes at batch 32.
 */
function geometries(): Geometry[] {
  const sizes: Array<[number, number]> = [[5, 7], [6, 6], [7, 4], [28, 28]];
  const strides: Array<[number, number]> = [[1, 1], [2, 2], [2, 1]];
  const kernels: Array<[number, number]> = [[1, 1], [3, 3], [3, 2], [5, 5]];
  const channels: Array<[number, number]> = [[1, 16], [16, 1], [3, 5], [8, 8], [16, 8], [1, 1], [8, 16], [16, 16]];
  const batches = [1, 3, 32];
  const out: Geometry[] = [];
  let i = 0;
  for (const [h, w] of sizes)
    for (const [sh, sw] of strides)
      for (const pad of ['same', 'valid'] as const)
        for (const [kh, kw] of kernels) {
          if (pad === 'valid' && (kh > h || kw > w)) continue;
          const [ci, co] = channels[i % channels.length]!;
          // Batch 32 only on the small images: 28x28 at batch 32 comes with the network shapes below.
          const n = h === 28 ? batches[i % 2]! : batches[i % 3]!;
          out.push({ n, h, w, ci, co, kh, kw, sh, sw, pad });
          i++;
        }
  // Explicit padding, including pads wider than the kernel reaches (all-padding rows and columns).
  out.push({ n: 3, h: 7, w: 4, ci: 3, co: 5, kh: 3, kw: 2, sh: 2, sw: 1, pad: [2, 0, 1, 1] });
  out.push({ n: 2, h: 6, w: 6, ci: 8, co: 1, kh: 3, kw: 3, sh: 1, sw: 1, pad: [3, 1, 0, 2] });
  out.push({ n: 1, h: 5, w: 7, ci: 16, co: 16, kh: 5, kw: 5, sh: 2, sw: 2, pad: [1, 2, 2, 1] });
  out.push({ n: 3, h: 6, w: 6, ci: 1, co: 8, kh: 1, kw: 1, sh: 2, sw: 2, pad: [1, 1, 0, 3] });
  out.push({ n: 32, h: 28, w: 28, ci: 16, co: 1, kh: 3, kw: 3, sh: 1, sw: 1, pad: [1, 1, 1, 1] });
  // The seed network's convolutions (forward shapes), batch 32.
  out.push({ n: 32, h: 28, w: 28, ci: 1, co: 16, kh: 3, kw: 3, sh: 2, sw: 2, pad: 'same' });
  out.push({ n: 32, h: 14, w: 14, ci: 16, co: 8, kh: 3, kw: 3, sh: 2, sw: 2, pad: 'same' });
  out.push({ n: 32, h: 14, w: 14, ci: 8, co: 8, kh: 3, kw: 3, sh: 2, sw: 2, pad: 'same' });
  out.push({ n: 32, h: 28, w: 28, ci: 16, co: 8, kh: 3, kw: 3, sh: 2, sw: 2, pad: 'same' });
  out.push({ n: 32, h: 28, w: 28, ci: 16, co: 1, kh: 3, kw: 3, sh: 1, sw: 1, pad: 'same' });
  return out;
}

const label = (g: Geometry) =>
  `n${g.n} ${g.h}x${g.w} ci${g.ci} co${g.co} k${g.kh}x${g.kw} s${g.sh}x${g.sw} ${Array.isArray(g.pad) ? `pad[${g.pad}]` : g.pad}`;

describe('wasm training kernels', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  describe('setup and bad calls', () => {
    it('rejects an unknown backend name, listing the valid ones', async () => {
      await expect(initBackend('tpu')).rejects.toThrow('Expected one of "auto", "cuda", "tensorflow", "wasm", "webgpu", "cpu" for --backend but received "tpu"');
      expect(BACKEND_NAMES).toEqual(['auto', 'cuda', 'tensorflow', 'wasm', 'webgpu', 'cpu']);
    });

    it('says what runs', async () => {
      const info = await initBackend('wasm');
      expect(info.name).toBe('wasm');
      expect(info.description).toMatch(/^wasm \(XNNPACK, (SIMD|no SIMD), \d+ threads?\) \+ 5 project kernels$/);
      expect(info.skipped).toEqual([]);
    });

    it('registers the same kernels again without complaint', () => {
      expect(registerWasmTrainingKernels()).toEqual(WASM_TRAINING_KERNELS);
      for (const name of WASM_TRAINING_KERNELS) expect(tf.getKernel(name, 'wasm'), name).toBeDefined();
    });

    const x = () => tf.zeros([1, 6, 6, 2]);
    const dy = () => tf.zeros([1, 3, 3, 4]);
    const filter = () => tf.zeros([3, 3, 2, 4]);
    const base = { strides: [2, 2], pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined };
    const filterGrad = (attrs: object, inputs = () => ({ x: x(), dy: dy() })) => () =>
      tf.tidy(() => tf.engine().runKernel('Conv2DBackpropFilter', inputs(), { ...base, filterShape: [3, 3, 2, 4], ...attrs } as unknown as tf.NamedAttrMap));
    const inputGrad = (attrs: object, inputs = () => ({ dy: dy(), filter: filter() })) => () =>
      tf.tidy(() => tf.engine().runKernel('Conv2DBackpropInput', inputs(), { ...base, inputShape: [1, 6, 6, 2], ...attrs } as unknown as tf.NamedAttrMap));

    it('rejects NCHW data', () => {
      expect(filterGrad({ dataFormat: 'NCHW' })).toThrow(/dataFormat 'NCHW' is not supported/);
      expect(inputGrad({ dataFormat: 'NCHW' })).toThrow(/dataFormat 'NCHW' is not supported/);
    });

    it('rejects dilations other than 1', () => {
      expect(filterGrad({ dilations: [2, 2] })).toThrow(/dilations \[2,2\] are not supported/);
      expect(inputGrad({ dilations: 2 })).toThrow(/dilations \[2,2\] are not supported/);
    });

    it('rejects non-float32 tensors', () => {
      expect(filterGrad({}, () => ({ x: tf.zeros([1, 6, 6, 2], 'int32'), dy: dy() }))).toThrow(/expected a float32 x but received int32/);
      expect(inputGrad({}, () => ({ dy: dy(), filter: tf.zeros([3, 3, 2, 4], 'int32') }))).toThrow(/expected a float32 filter/);
    });

    it('rejects shapes that do not fit together', () => {
      expect(filterGrad({}, () => ({ x: x(), dy: tf.zeros([1, 4, 3, 4]) }))).toThrow(/dy shape \[1,4,3,4\] does not match the expected \[1,3,3,4\]/);
      expect(filterGrad({ filterShape: [3, 3, 5, 4] })).toThrow(/filterShape \[3,3,5,4\] does not match x channels 2/);
      expect(inputGrad({ inputShape: [1, 6, 6, 3] })).toThrow(/inputShape \[1,6,6,3\] does not match filter in-channels 2/);
      expect(inputGrad({ strides: [1, 1] })).toThrow(/dy shape \[1,3,3,4\] does not match the expected \[1,6,6,4\]/);
    });

    it('rejects a forward convolution whose filter does not fit the input channels', () => {
      const attrs = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined } as unknown as tf.NamedAttrMap;
      const run = (kernel: string) => () => tf.tidy(() => tf.engine().runKernel(kernel, { x: tf.zeros([1, 6, 6, 3]), filter: tf.zeros([3, 3, 2, 1]) }, attrs));
      expect(run('Conv2D')).toThrow(/x has 3 channels but the filter expects 2/);
      expect(run('FusedConv2D')).toThrow(/x has 3 channels but the filter expects 2/);
    });

    it('rejects strides that are not positive integers', () => {
      expect(filterGrad({ strides: [0, 1] })).toThrow(/strides must be positive integers/);
    });
  });

  const cases = geometries();

  it.each(cases.map((g) => [label(g), g] as const))('Conv2DBackpropFilter matches the brute force: %s', (_, g) => {
    const { out: oh } = rows(g);
    const { out: ow } = cols(g);
    const x = randomValues(g.n * g.h * g.w * g.ci, 1 + g.h * 31 + g.ci);
    const dy = randomValues(g.n * oh * ow * g.co, 7 + g.w * 17 + g.co);
    expectClose(runFilterGrad(g, x, dy, oh, ow), bruteFilterGrad(g, x, dy), label(g));
  });

  it.each(cases.map((g) => [label(g), g] as const))('Conv2DBackpropInput matches the brute force: %s', (_, g) => {
    const { out: oh } = rows(g);
    const { out: ow } = cols(g);
    const dy = randomValues(g.n * oh * ow * g.co, 3 + g.h * 13 + g.co);
    const filter = randomValues(g.kh * g.kw * g.ci * g.co, 5 + g.kw * 11 + g.ci);
    expectClose(runInputGrad(g, dy, filter, oh, ow), bruteInputGrad(g, dy, filter), label(g));
  });

  it.each(cases.map((g) => [label(g), g] as const))('Conv2D matches the brute force: %s', (_, g) => {
    const x = randomValues(g.n * g.h * g.w * g.ci, 11 + g.h * 7 + g.ci);
    const filter = randomValues(g.kh * g.kw * g.ci * g.co, 13 + g.kw * 5 + g.co);
    const got = take(tf.tidy(() => tf.conv2d(tf.tensor4d(x, [g.n, g.h, g.w, g.ci]), tf.tensor4d(filter, [g.kh, g.kw, g.ci, g.co]), [g.sh, g.sw], padAttr(g) as tf.backend_util.ExplicitPadding)));
    expectClose(got, bruteConv(g, x, filter), label(g));
  });

  const activations = Object.keys(ACTIVATIONS);
  it.each(cases.map((g, i) => [`${label(g)} ${activations[i % activations.length]}`, g, activations[i % activations.length]!, i % 3] as const))(
    'FusedConv2D (bias, activation) matches the brute force: %s',
    (_, g, activation, biasKind) => {
      const x = randomValues(g.n * g.h * g.w * g.ci, 17 + g.h * 3 + g.ci);
      const filter = randomValues(g.kh * g.kw * g.ci * g.co, 19 + g.kw * 3 + g.co);
      // Bias per channel, one broadcast value, or none.
      const bias = biasKind === 0 ? randomValues(g.co, 23) : biasKind === 1 ? randomValues(1, 29) : undefined;
      const got = take(tf.tidy(() => tf.fused.conv2d({
        x: tf.tensor4d(x, [g.n, g.h, g.w, g.ci]),
        filter: tf.tensor4d(filter, [g.kh, g.kw, g.ci, g.co]),
        strides: [g.sh, g.sw],
        pad: padAttr(g) as tf.backend_util.ExplicitPadding,
        bias: bias === undefined ? undefined : tf.tensor1d(bias),
        activation: activation as tf.fused.Activation,
        leakyreluAlpha: 0.1,
      })));
      const want = bruteConv(g, x, filter);
      const f = ACTIVATIONS[activation]!;
      // Activations are 1-Lipschitz: the bound on the pre-activation error holds after them.
      want.value.forEach((v, i) => (want.value[i] = f(v + (bias === undefined ? 0 : bias[bias.length === 1 ? 0 : i % g.co]!))));
      expectClose(got, want, `${label(g)} ${activation}`);
    },
  );

  const sums: Array<[number[], number | number[], boolean]> = [
    [[32, 28, 28, 16], [0, 1, 2], false], // a bias gradient
    [[32, 28, 28, 1], [0, 1, 2], false],
    [[3, 5, 7], [0], false],
    [[3, 5, 7], [0, 1], true],
    [[3, 5, 7], [-3, -2], false],
    [[6, 6, 3, 2], 0, true],
    [[7, 4, 9], [1, 0], false],
    [[3, 5, 7], [1, 2], false], // not leading axes: the stock kernel
    [[3, 5, 7], [0, 2], true],
    [[3, 5, 7], [0, 1, 2], false], // everything
  ];
  it.each(sums.map(([shape, axis, keepDims]) => [`[${shape}] axis ${JSON.stringify(axis)}${keepDims ? ' keepDims' : ''}`, shape, axis, keepDims] as const))(
    'Sum matches the brute force: %s',
    (_, shape, axis, keepDims) => {
      const size = shape.reduce((a, b) => a * b, 1);
      const x = randomValues(size, 31 + size);
      const rank = shape.length;
      const axes = (Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + rank : a));
      const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
      const want = { value: new Float64Array(outShape.reduce((a, b) => a * b, 1)), scale: new Float64Array(0) };
      want.scale = new Float64Array(want.value.length);
      const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
      const outStrides = outShape.map((_, i) => outShape.slice(i + 1).reduce((a, b) => a * b, 1));
      for (let i = 0; i < size; i++) {
        let at = 0;
        shape.forEach((_, d) => (at += axes.includes(d) ? 0 : Math.floor(i / strides[d]!) % shape[d]! * outStrides[d]!));
        want.value[at] += x[i]!;
        want.scale[at] += Math.abs(x[i]!);
      }
      const result = tf.tidy(() => tf.sum(tf.tensor(x, shape), axis, keepDims));
      expect(result.shape).toEqual(keepDims ? outShape : shape.filter((_, i) => !axes.includes(i)));
      expectClose(take(result), want, `sum [${shape}] over ${axes}`);
    },
  );

  it('Sum leaves int32 to the stock kernel', () => {
    expect(Array.from(take(tf.tidy(() => tf.sum(tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], 'int32'), 0))))).toEqual([9, 12]);
  });

  it('frees every temporary tensor', () => {
    const g: Geometry = { n: 3, h: 7, w: 4, ci: 3, co: 5, kh: 3, kw: 2, sh: 2, sw: 1, pad: 'same' };
    const { out: oh } = rows(g);
    const { out: ow } = cols(g);
    runFilterGrad(g, randomValues(g.n * g.h * g.w * g.ci, 1), randomValues(g.n * oh * ow * g.co, 2), oh, ow);
    runInputGrad(g, randomValues(g.n * oh * ow * g.co, 3), randomValues(g.kh * g.kw * g.ci * g.co, 4), oh, ow);
    const before = tf.backend().numDataIds();
    runFilterGrad(g, randomValues(g.n * g.h * g.w * g.ci, 1), randomValues(g.n * oh * ow * g.co, 2), oh, ow);
    runInputGrad(g, randomValues(g.n * oh * ow * g.co, 3), randomValues(g.kh * g.kw * g.ci * g.co, 4), oh, ow);
    // The few-output-channel forward path and a bias gradient.
    take(tf.tidy(() => tf.fused.conv2d({ x: tf.ones([2, 6, 6, 16]) as tf.Tensor4D, filter: tf.ones([3, 3, 16, 1]) as tf.Tensor4D, strides: 1, pad: 'same', bias: tf.ones([1]) })));
    take(tf.tidy(() => tf.sum(tf.ones([2, 6, 6, 16]), [0, 1, 2])));
    expect(tf.backend().numDataIds()).toBe(before);
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
      // Most weights have a gradient clear of the noise (2,677 of 3,217 here; the rest sit in channels a ReLU shuts off).
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
});
