// The wasm Sum kernel (bias gradients over leading axes): what it leaves to the stock kernel, then shapes and axes against a brute-force sum.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../../tools/train/backends.js';
import { expectClose, randomValues, take } from './brute-force.js';

beforeAll(async () => {
  await initBackend('wasm');
});

// Sum has no calls of its own to refuse: what it does not take (int32, axes other than the leading ones) goes to the stock kernel.
describe('Sum: what it leaves to the stock kernel', () => {
  it('leaves int32 to the stock kernel', () => {
    expect(Array.from(take(tf.tidy(() => tf.sum(tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], 'int32'), 0))))).toEqual([9, 12]);
  });
});

describe('Sum', () => {
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
    'matches the brute force: %s',
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
});
