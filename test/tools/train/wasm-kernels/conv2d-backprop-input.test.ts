// The wasm Conv2DBackpropInput kernel (dx): its bad calls, then every geometry against the brute-force scatter.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../../tools/train/backends.js';
import { SMALL_CALL, bruteInputGrad, cols, expectClose, geometries, label, randomValues, rows, runInputGrad } from './brute-force.js';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('Conv2DBackpropInput: bad calls', () => {
  const { dy, filter } = SMALL_CALL;
  const inputGrad = (attrs: object, inputs = () => ({ dy: dy(), filter: filter() })) => () =>
    tf.tidy(() => tf.engine().runKernel('Conv2DBackpropInput', inputs(), { ...SMALL_CALL.attrs, inputShape: [1, 6, 6, 2], ...attrs } as unknown as tf.NamedAttrMap));

  it('rejects NCHW data', () => {
    expect(inputGrad({ dataFormat: 'NCHW' })).toThrow(/dataFormat 'NCHW' is not supported/);
  });

  it('rejects dilations other than 1', () => {
    expect(inputGrad({ dilations: 2 })).toThrow(/dilations \[2,2\] are not supported/);
  });

  it('rejects non-float32 tensors', () => {
    expect(inputGrad({}, () => ({ dy: dy(), filter: tf.zeros([3, 3, 2, 4], 'int32') }))).toThrow(/expected a float32 filter/);
  });

  it('rejects shapes that do not fit together', () => {
    expect(inputGrad({ inputShape: [1, 6, 6, 3] })).toThrow(/inputShape \[1,6,6,3\] does not match filter in-channels 2/);
    expect(inputGrad({ strides: [1, 1] })).toThrow(/dy shape \[1,3,3,4\] does not match the expected \[1,6,6,4\]/);
  });
});

describe('Conv2DBackpropInput', () => {
  it.each(geometries().map((g) => [label(g), g] as const))('matches the brute force: %s', (_, g) => {
    const { out: oh } = rows(g);
    const { out: ow } = cols(g);
    const dy = randomValues(g.n * oh * ow * g.co, 3 + g.h * 13 + g.co);
    const filter = randomValues(g.kh * g.kw * g.ci * g.co, 5 + g.kw * 11 + g.ci);
    expectClose(runInputGrad(g, dy, filter, oh, ow), bruteInputGrad(g, dy, filter), label(g));
  });
});
