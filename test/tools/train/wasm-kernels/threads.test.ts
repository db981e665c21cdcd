// The wasm backend on several XNNPACK threads (tfjs-backend-wasm's threaded build, started in Node): the thread option's bad values, what runs, and kernels that still match the brute force.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { MAX_WASM_THREADS, initBackend, wasmThreads } from '../../../../tools/train/backends.js';
import { type Geometry, bruteConv, bruteFilterGrad, bruteInputGrad, cols, expectClose, padAttr, randomValues, rows, runFilterGrad, runInputGrad, take } from './brute-force.js';

describe('wasm threads: bad calls', () => {
  it('rejects a thread count that is not an integer from 1 to 8, naming --threads', async () => {
    for (const bad of [0, 9, 1.5, -1, Number.NaN]) {
      await expect(initBackend('wasm', { threads: bad })).rejects.toThrow(`Expected an integer >= 1 and <= ${MAX_WASM_THREADS} for --threads but received ${bad}`);
    }
  });
});

describe('wasm threads: two threads', () => {
  beforeAll(async () => {
    // Two threads even on a one-core machine: the threaded build must compute what the single-threaded one does.
    await initBackend('wasm', { threads: 2 });
  });

  it('says it runs two threads, and keeps them when asked again with another count', async () => {
    expect((await initBackend('wasm', { threads: 2 })).description).toMatch(/^wasm \(XNNPACK, SIMD, 2 threads\) \+ 5 project kernels$/);
    expect((await initBackend('wasm', { threads: 1 })).description).toContain('2 threads');
    expect(wasmThreads()).toBeGreaterThanOrEqual(1);
    expect(wasmThreads()).toBeLessThanOrEqual(MAX_WASM_THREADS);
  });

  it('computes a convolution and both of its gradients as the brute force does, at sizes XNNPACK splits over threads', () => {
    for (const g of [
      { n: 4, h: 24, w: 20, ci: 16, co: 16, kh: 3, kw: 3, sh: 1, sw: 1, pad: 'same' },
      { n: 2, h: 17, w: 23, ci: 8, co: 24, kh: 3, kw: 3, sh: 2, sw: 2, pad: 'same' },
      { n: 3, h: 12, w: 12, ci: 32, co: 3, kh: 3, kw: 3, sh: 1, sw: 1, pad: 'valid' },
    ] satisfies Geometry[]) {
      const label = JSON.stringify(g);
      const { out: oh } = rows(g);
      const { out: ow } = cols(g);
      const x = randomValues(g.n * g.h * g.w * g.ci, 11);
      const filter = randomValues(g.kh * g.kw * g.ci * g.co, 12);
      const dy = randomValues(g.n * oh * ow * g.co, 13);
      const y = take(tf.tidy(() => tf.conv2d(tf.tensor4d(x, [g.n, g.h, g.w, g.ci]), tf.tensor4d(filter, [g.kh, g.kw, g.ci, g.co]), [g.sh, g.sw], padAttr(g) as 'same')));
      expectClose(y, bruteConv(g, x, filter), `${label} forward`);
      expectClose(runFilterGrad(g, x, dy, oh, ow), bruteFilterGrad(g, x, dy), `${label} filter gradient`);
      expectClose(runInputGrad(g, dy, filter, oh, ow), bruteInputGrad(g, dy, filter), `${label} input gradient`);
    }
  });
});
