// The receptive field from the layer registry: unknown kinds and mixed scales refused, the shipped specs worked out by hand, checked by brute force in TF.js.
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { buildModel } from '../../../tools/model/build-tfjs.js';
import { loadSpec, receptiveField, type NetworkSpec } from '../../../tools/layers/spec.js';
import { testSpec } from '../onnx/parity-helpers.js';
import { thrownMessage } from '../../validation-message.js';

const conv = (name: string, kernelSize: number | [number, number], strides: number | [number, number] = 1, extra: Record<string, unknown> = {}) =>
  ({ name, kind: 'conv2d', filters: 1, kernelSize, strides, padding: 'same', ...extra });
const deconv = (name: string, kernelSize: number, strides: number) => ({ name, kind: 'conv2dTranspose', filters: 1, kernelSize, strides, padding: 'same' });

describe('receptiveField: bad calls', () => {
  it('refuses a layer kind the registry does not know: no silent default', () => {
    const spec = structuredClone(testSpec([conv('a', 3), conv('b', 3)]));
    (spec.layers[1] as { kind: string }).kind = 'maxPool2d';
    expect(thrownMessage(() => receptiveField(spec))).toBe('Expected one of "conv2d", "conv2dTranspose", "add", "subtract", "concat", "clip" for layers[1] ("b").kind but received "maxPool2d"');
  });

  it('refuses a merge of tensors at different scales and an output at another scale, naming them', () => {
    // parseSpec would refuse these shapes already: built by hand to reach the field's own checks.
    const base = testSpec([conv('a', 3, 2), deconv('b', 3, 2)]);
    const merge = { ...base, layers: [base.layers[0]!, { name: 's', kind: 'add', inputs: ['a', 'image'], activation: 'linear' }], output: 's' } as NetworkSpec;
    expect(thrownMessage(() => receptiveField(merge))).toBe('Expected input tensors at one scale (the same strides on every path) for layers[1] ("s").inputs but received "a (scale 2), image (scale 1)"');
    const half = { ...base, layers: [base.layers[0]!], output: 'a' } as NetworkSpec;
    expect(thrownMessage(() => receptiveField(half))).toBe('Expected an output at the input\'s scale for spec.output but received "a at scale 2/1"');
  });
});

describe('receptiveField', () => {
  // Per layer, the span [low, high] of input pixels a pixel depends on (relative to where it sits) at its scale S
  // (input pixels per pixel). In the emitted graph every 3x3 "same" layer pads at the begin:
  // conv s1: 1, so [low - S, high + S]; conv s2: 0 (the graph pads to the size multiple, sizes are even), so
  // [low, high + 2S] at 2S; deconv s2: 0 (TF "same" cuts floor((k - s) / 2) at the begin), so [low - S, high] at S/2.
  it('works out the tutorial network by hand: conv3 s2, conv3 s2, deconv3 s2, deconv3 s2, conv3 -> [-7, 7]', async () => {
    // encoder_conv1 [0, 2] (2); encoder_conv2 [0, 6] (4); decoder_deconv1 [-4, 6] (2); decoder_deconv2 [-6, 6] (1);
    // decoder_output [-7, 7] (1).
    expect(receptiveField(await loadSpec('models/noise-reducer.json'))).toEqual({ low: -7, high: 7, radius: 7, stride: 4 });
  });

  it('works out the residual denoiser by hand: [-15, 15], a merge taking the widest of its inputs', async () => {
    // enc1 [-1, 1] (1); down1 [-1, 3] (2); down2 [-1, 7] (4); bottleneck [-5, 11] (4); up2 [-9, 11] (2);
    // skip2 = add(up2, down1 [-1, 3]) [-9, 11]; dec2 [-11, 13] (2); up1 [-13, 13] (1); skip1 = concat(up1, enc1) [-13, 13];
    // dec1 [-14, 14]; noise [-15, 15]; residual = image [0, 0] - noise [-15, 15]; clip adds nothing.
    expect(receptiveField(await loadSpec('models/residual-denoiser.json'))).toEqual({ low: -15, high: 15, radius: 15, stride: 4 });
  });

  it('works out the photo denoiser by hand: [-25, 25]', async () => {
    // enc0 [-1, 1] (1); enc0b [-2, 2] (1); enc0c [-3, 3] (1); down1 [-3, 5] (2); enc1 [-5, 7] (2); down2 [-5, 11] (4);
    // mid1 [-9, 15]; mid2 [-13, 19] (4); up2 [-17, 19] (2); skip2 = add(up2, enc1) [-17, 19]; dec1 [-19, 21] (2);
    // up1 [-21, 21] (1); skip1 = add(up1, enc0c); dec0 [-22, 22]; dec0b [-23, 23]; dec0c [-24, 24]; noise [-25, 25];
    // residual and clip add nothing.
    expect(receptiveField(await loadSpec('models/photo-denoiser.json'))).toEqual({ low: -25, high: 25, radius: 25, stride: 4 });
    // Stages 7 and 8, before enc0c and dec0c grew in: [-23, 23]; stage 4, before enc0b and dec0b: [-21, 21].
    expect(receptiveField(await loadSpec('models/photo-denoiser-training/stage8/spec.json'))).toEqual({ low: -23, high: 23, radius: 23, stride: 4 });
    expect(receptiveField(await loadSpec('models/photo-denoiser-training/stage4/spec.json'))).toEqual({ low: -21, high: 21, radius: 21, stride: 4 });
  });

  it('takes each axis on its own, even kernels, kernels below the stride, and the lcm of the scales as the stride', () => {
    // conv [3, 1]: [-1, 1] down the height, [0, 0] across; the field covers both axes.
    expect(receptiveField(testSpec([conv('a', [3, 1])]))).toEqual({ low: -1, high: 1, radius: 1, stride: 1 });
    // conv k4 s2 pads 1 at the begin: [-1, 2] (2); deconv k4 s2 cuts 1: [-1 + (1 - 3), 2 + 1] = [-3, 3] (1).
    expect(receptiveField(testSpec([conv('a', 4, 2), deconv('b', 4, 2)]))).toEqual({ low: -3, high: 3, radius: 3, stride: 2 });
    // Up first: deconv k4 s2 [(1 - 3) / 2, 1 / 2] = [-1, 0.5] (1/2); conv k3 s2 [-1, 0.5 + 1] (1): 1.5 rounds out to 2.
    expect(receptiveField(testSpec([deconv('a', 4, 2), conv('b', 3, 2)]))).toEqual({ low: -1, high: 2, radius: 2, stride: 1 });
    // deconv k1 s2 (below the stride: output padding at the end) adds no offset.
    expect(receptiveField(testSpec([conv('a', 1, 2), deconv('b', 1, 2)]))).toEqual({ low: 0, high: 0, radius: 0, stride: 2 });
    // Strides 2 then 3 down, back up by 3 then 2: scales 2 and 6, so tiles align to 6.
    expect(receptiveField(testSpec([conv('a', 1, 2), conv('b', 1, 3), deconv('c', 3, 3), deconv('d', 2, 2)])).stride).toBe(6);
    // Height strided, width not: height [0, 2] (2) then [-2, 2] (1); width [-1, 1] then [-2, 2] (deconv k3 s1 cuts 1).
    expect(receptiveField(testSpec([conv('a', 3, [2, 1]), { name: 'b', kind: 'conv2dTranspose', filters: 1, kernelSize: 3, strides: [2, 1], padding: 'same' }]))).toEqual({ low: -2, high: 2, radius: 2, stride: 2 });
  });

  it.each([
    ['the noise-reducer', 'models/noise-reducer.json'],
    ['the residual denoiser', 'models/residual-denoiser.json'],
  ])('bounds exactly what %s output pixels depend on (brute force: TF.js, one input pixel changed at a time)', async (_, file) => {
    await tf.setBackend('cpu');
    const spec = await loadSpec(file);
    const field = receptiveField(spec);
    const model = buildModel(spec, { seed: 4 });
    // 48 is a multiple of the size multiple 4, as every size is inside the emitted graph.
    const size = 48;
    const base = tf.randomUniform([1, size, size, 1], 0, 1, 'float32', 5);
    const before = (model.predict(base) as tf.Tensor).dataSync();
    let low = 0;
    let high = 0;
    // Four stride phases of the perturbed pixel.
    for (const [py, px] of [[24, 24], [25, 22], [22, 27], [23, 23]] as const) {
      const input = tf.buffer([1, size, size, 1], 'float32', Float32Array.from(base.dataSync()));
      input.set(input.get(0, py, px, 0) + 5, 0, py, px, 0);
      const after = (model.predict(input.toTensor()) as tf.Tensor).dataSync();
      let changed = 0;
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          if (after[y * size + x] === before[y * size + x]) continue;
          changed++;
          // Output o reads inputs o + [low, high]: the perturbed pixel must lie in that window on both axes.
          for (const offset of [py - y, px - x]) {
            expect(offset, `output ${y},${x} from input ${py},${px}`).toBeGreaterThanOrEqual(field.low);
            expect(offset, `output ${y},${x} from input ${py},${px}`).toBeLessThanOrEqual(field.high);
            low = Math.min(low, offset);
            high = Math.max(high, offset);
          }
        }
      }
      expect(changed).toBeGreaterThan(0);
    }
    model.dispose();
    // Not loose either: some output reaches each end of the field.
    expect([low, high]).toEqual([field.low, field.high]);
  });
});
