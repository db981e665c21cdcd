// The wasm FusedConv2D kernel (bias and activation): its bad call, then every geometry against the brute-force convolution.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../../tools/train/backends.js';
import { ACTIVATIONS, bruteConv, expectClose, geometries, label, padAttr, randomValues, take } from './brute-force.js';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('FusedConv2D: bad calls', () => {
  it('rejects a filter that does not fit the input channels', () => {
    const attrs = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined } as unknown as tf.NamedAttrMap;
    expect(() => tf.tidy(() => tf.engine().runKernel('FusedConv2D', { x: tf.zeros([1, 6, 6, 3]), filter: tf.zeros([3, 3, 2, 1]) }, attrs))).toThrow(/x has 3 channels but the filter expects 2/);
  });
});

describe('FusedConv2D', () => {
  const activations = Object.keys(ACTIVATIONS);
  it.each(geometries().map((g, i) => [`${label(g)} ${activations[i % activations.length]}`, g, activations[i % activations.length]!, i % 3] as const))(
    '(bias, activation) matches the brute force: %s',
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
});
