// The wasm training kernels' setup: the backend that loads them, what it says runs, registering twice, and no leaked tensors.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { BACKEND_NAMES, initBackend } from '../../../../tools/train/backends.js';
import { WASM_TRAINING_KERNELS, registerWasmTrainingKernels } from '../../../../tools/train/wasm-kernels.js';
import { type Geometry, cols, randomValues, rows, runFilterGrad, runInputGrad, take } from './brute-force.js';

describe('wasm training kernels: bad calls', () => {
  it('rejects an unknown backend name, listing the valid ones', async () => {
    await expect(initBackend('tpu')).rejects.toThrow('Expected one of "auto", "cuda", "tensorflow", "wasm", "webgpu", "cpu" for --backend but received "tpu"');
    expect(BACKEND_NAMES).toEqual(['auto', 'cuda', 'tensorflow', 'wasm', 'webgpu', 'cpu']);
  });
});

describe('wasm training kernels: setup', () => {
  beforeAll(async () => {
    await initBackend('wasm');
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
});
