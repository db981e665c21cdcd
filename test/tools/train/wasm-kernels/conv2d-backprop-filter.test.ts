// The wasm Conv2DBackpropFilter kernel (dW): its bad calls, then every geometry against the brute-force sum.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../../tools/train/backends.js';
import { SMALL_CALL, bruteFilterGrad, cols, expectClose, geometries, label, randomValues, rows, runFilterGrad } from './brute-force.js';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('Conv2DBackpropFilter: bad calls', () => {
  const { x, dy } = SMALL_CALL;
  const filterGrad = (attrs: object, inputs = () => ({ x: x(), dy: dy() })) => () =>
    tf.tidy(() => tf.engine().runKernel('Conv2DBackpropFilter', inputs(), { ...SMALL_CALL.attrs, filterShape: [3, 3, 2, 4], ...attrs } as unknown as tf.NamedAttrMap));

  it('rejects NCHW data', () => {
    expect(filterGrad({ dataFormat: 'NCHW' })).toThrow(/dataFormat 'NCHW' is not supported/);
  });

  it('rejects dilations other than 1', () => {
    expect(filterGrad({ dilations: [2, 2] })).toThrow(/dilations \[2,2\] are not supported/);
  });

  it('rejects non-float32 tensors', () => {
    expect(filterGrad({}, () => ({ x: tf.zeros([1, 6, 6, 2], 'int32'), dy: dy() }))).toThrow(/expected a float32 x but received int32/);
  });

  it('rejects shapes that do not fit together', () => {
    expect(filterGrad({}, () => ({ x: x(), dy: tf.zeros([1, 4, 3, 4]) }))).toThrow(/dy shape \[1,4,3,4\] does not match the expected \[1,3,3,4\]/);
    expect(filterGrad({ filterShape: [3, 3, 5, 4] })).toThrow(/filterShape \[3,3,5,4\] does not match x channels 2/);
  });

  it('rejects strides that are not positive integers', () => {
    expect(filterGrad({ strides: [0, 1] })).toThrow(/strides must be positive integers/);
  });
});

describe('Conv2DBackpropFilter', () => {
  it.each(geometries().map((g) => [label(g), g] as const))('matches the brute force: %s', (_, g) => {
    const { out: oh } = rows(g);
    const { out: ow } = cols(g);
    const x = randomValues(g.n * g.h * g.w * g.ci, 1 + g.h * 31 + g.ci);
    const dy = randomValues(g.n * oh * ow * g.co, 7 + g.w * 17 + g.co);
    expectClose(runFilterGrad(g, x, dy, oh, ow), bruteFilterGrad(g, x, dy), label(g));
  });
});
