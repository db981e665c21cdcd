// The wasm training kernels' tests share these: seeded inputs, convolution geometries, brute-force references in float64 and the float32 tolerance.
import { expect } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../../../runtime-common/rng.js';

/** Deterministic uniform [-1, 1] values (the project's Rng) so every run checks the same numbers. */
export function randomValues(size: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: size }, () => rng.nextFloat() * 2 - 1);
}

/** One convolution geometry: batch, image, channels, kernel, strides and padding (NHWC, filter [kh, kw, ci, co]). */
export interface Geometry {
  n: number; h: number; w: number; ci: number; co: number;
  kh: number; kw: number; sh: number; sw: number;
  /** TF padding, or explicit [top, bottom, left, right]. */
  pad: 'same' | 'valid' | [number, number, number, number];
}

type Axis = { size: number; k: number; s: number; pad: 'same' | 'valid' | [number, number] };

/** A brute-force result in float64, and per element the sum of |terms| (the scale of its float32 rounding error). */
export interface Brute {
  value: Float64Array;
  scale: Float64Array;
}

/** TF's output size and leading pad along one axis, written out independently of TF.js. */
function outAndPadAxis({ size, k, s, pad }: Axis): { out: number; before: number } {
  if (Array.isArray(pad)) return { out: Math.floor((size + pad[0] + pad[1] - k) / s) + 1, before: pad[0] };
  if (pad === 'valid') return { out: Math.ceil((size - k + 1) / s), before: 0 };
  const out = Math.ceil(size / s);
  const total = Math.max(0, (out - 1) * s + k - size);
  return { out, before: Math.floor(total / 2) };
}

/** Output rows and top pad of a geometry. */
export const rows = (g: Geometry) => outAndPadAxis({ size: g.h, k: g.kh, s: g.sh, pad: Array.isArray(g.pad) ? [g.pad[0], g.pad[1]] : g.pad });
/** Output columns and left pad of a geometry. */
export const cols = (g: Geometry) => outAndPadAxis({ size: g.w, k: g.kw, s: g.sw, pad: Array.isArray(g.pad) ? [g.pad[2], g.pad[3]] : g.pad });

/** The pad attribute TF.js takes for a geometry. */
export function padAttr(g: Geometry): 'same' | 'valid' | number[][] {
  return Array.isArray(g.pad) ? [[0, 0], [g.pad[0], g.pad[1]], [g.pad[2], g.pad[3]], [0, 0]] : g.pad;
}

/** dW by the definition, in float64, plus the sum of |terms| of each output (for a float32 error bound). */
export function bruteFilterGrad(g: Geometry, x: Float32Array, dy: Float32Array): Brute {
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
export function bruteInputGrad(g: Geometry, dy: Float32Array, filter: Float32Array): Brute {
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
export function bruteConv(g: Geometry, x: Float32Array, filter: Float32Array): Brute {
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
export const ACTIVATIONS: Record<string, (v: number) => number> = {
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

/** Asserts that every element of `got` is within the float32 tolerance of the brute force. */
export function expectClose(got: Float32Array, want: Brute, label: string): void {
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
export function take(t: tf.Tensor): Float32Array {
  const values = t.dataSync() as Float32Array;
  t.dispose();
  return values;
}

/** Runs the registered Conv2DBackpropFilter kernel on a geometry: dW for x and dy. */
export function runFilterGrad(g: Geometry, x: Float32Array, dy: Float32Array, oh: number, ow: number): Float32Array {
  return take(tf.tidy(() => {
    const xt = tf.tensor4d(x, [g.n, g.h, g.w, g.ci]);
    const dyt = tf.tensor4d(dy, [g.n, oh, ow, g.co]);
    const attrs = { strides: [g.sh, g.sw], pad: padAttr(g), dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: [g.kh, g.kw, g.ci, g.co] };
    return tf.engine().runKernel('Conv2DBackpropFilter', { x: xt, dy: dyt }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
  }));
}

/** Runs the registered Conv2DBackpropInput kernel on a geometry: dx for dy and the filter. */
export function runInputGrad(g: Geometry, dy: Float32Array, filter: Float32Array, oh: number, ow: number): Float32Array {
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
export function geometries(): Geometry[] {
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

/** A geometry as a test name. */
export const label = (g: Geometry) =>
  `n${g.n} ${g.h}x${g.w} ci${g.ci} co${g.co} k${g.kh}x${g.kw} s${g.sh}x${g.sw} ${Array.isArray(g.pad) ? `pad[${g.pad}]` : g.pad}`;

/** The small call the bad-call cases vary: x [1, 6, 6, 2], dy [1, 3, 3, 4], filter [3, 3, 2, 4], stride 2, same padding. */
export const SMALL_CALL = Object.freeze({
  x: () => tf.zeros([1, 6, 6, 2]),
  dy: () => tf.zeros([1, 3, 3, 4]),
  filter: () => tf.zeros([3, 3, 2, 4]),
  attrs: Object.freeze({ strides: [2, 2], pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined }),
});
