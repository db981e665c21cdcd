// The wasm Conv2D kernel (forward, no bias): its bad call, then every geometry against the brute-force convolution.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../../tools/train/backends.js';
import { bruteConv, expectClose, geometries, label, padAttr, randomValues, take } from './brute-force.js';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('Conv2D: bad calls', () => {
  it('rejects a filter that does not fit the input channels', () => {
    const attrs = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined } as unknown as tf.NamedAttrMap;
    expect(() => tf.tidy(() => tf.engine().runKernel('Conv2D', { x: tf.zeros([1, 6, 6, 3]), filter: tf.zeros([3, 3, 2, 1]) }, attrs))).toThrow(/x has 3 channels but the filter expects 2/);
  });
});

describe('Conv2D', () => {
  it.each(geometries().map((g) => [label(g), g] as const))('matches the brute force: %s', (_, g) => {
    const x = randomValues(g.n * g.h * g.w * g.ci, 11 + g.h * 7 + g.ci);
    const filter = randomValues(g.kh * g.kw * g.ci * g.co, 13 + g.kw * 5 + g.co);
    const got = take(tf.tidy(() => tf.conv2d(tf.tensor4d(x, [g.n, g.h, g.w, g.ci]), tf.tensor4d(filter, [g.kh, g.kw, g.ci, g.co]), [g.sh, g.sw], padAttr(g) as tf.backend_util.ExplicitPadding)));
    expectClose(got, bruteConv(g, x, filter), label(g));
  });
});
