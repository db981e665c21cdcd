// Int8 specs: the quantization key checked, which tensors are quantized (worked out by hand), range weights, and weight rounding against values computed here.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { activationScale, quantizedTensors, quantizeWeights, rangeDefs, roundHalfEven } from '../../../tools/layers/quantization.js';
import { parseSpec } from '../../../tools/layers/spec.js';
import { thrownMessage } from '../../validation-message.js';

const photo = () => JSON.parse(readFileSync('models/photo-denoiser.json', 'utf8')) as Record<string, unknown>;
const conv = (name: string, extra: Record<string, unknown> = {}) => ({ name, kind: 'conv2d', filters: 2, kernelSize: 3, padding: 'same', ...extra });
const tiny = (layers: Record<string, unknown>[], extra: Record<string, unknown> = {}) =>
  parseSpec({ format: 'onnx-denoiser/spec', version: 1, name: 't', input: { name: 'image', channels: 2 }, layers, quantization: 'int8', ...extra });

describe('spec.quantization: bad values', () => {
  it('names the key and lists the modes', () => {
    expect(thrownMessage(() => parseSpec({ ...photo(), quantization: 'int4' }))).toBe('Expected one of "int8" for spec.quantization but received "int4"');
    expect(thrownMessage(() => parseSpec({ ...photo(), quantization: true }))).toBe('Expected one of "int8" for spec.quantization but received true');
  });
});

describe('quantizedTensors and rangeDefs', () => {
  it('a float spec quantizes nothing and has no ranges', () => {
    const spec = parseSpec(photo());
    expect(quantizedTensors(spec)).toEqual([]);
    expect(rangeDefs(spec)).toEqual([]);
  });

  it('the photo network: the joined input and every relu output and skip sum that a convolution or add reads, not the linear noise estimate', () => {
    const spec = parseSpec({ ...photo(), quantization: 'int8' });
    // The image and map are read by the concat (not quantized themselves); `noise` is linear and only subtracted.
    expect(quantizedTensors(spec)).toEqual(['with_map', 'enc0', 'enc0b', 'enc0c', 'down1', 'enc1', 'down2', 'mid1', 'mid2', 'up2', 'skip2', 'dec1', 'up1', 'skip1', 'dec0', 'dec0b', 'dec0c']);
    expect(rangeDefs(spec)[0]).toEqual({ name: 'with_map.range', layer: 'with_map', suffix: 'range', shape: [1], layout: 'scalar: the running maximum; scale = range / 255' });
  });

  it('an input read by a convolution is quantized; a linear output, a sum with it and what reads them stay float; a clip from 0 that a convolution reads is quantized, the relu sum that only the clip reads is not', () => {
    const spec = tiny([
      conv('a', { activation: 'relu' }),
      conv('lin', { inputs: ['a'] }),
      { name: 'mixed', kind: 'add', inputs: ['a', 'lin'] },
      conv('b', { activation: 'relu', inputs: ['mixed'] }),
      { name: 'summed', kind: 'add', inputs: ['a', 'b'], activation: 'relu' },
      { name: 'kept', kind: 'clip', min: 0, max: 1, inputs: ['summed'] },
      conv('out', { inputs: ['kept'] }),
    ]);
    expect(quantizedTensors(spec)).toEqual(['image', 'a', 'b', 'kept']);
  });
});

describe('quantizeWeights', () => {
  it('rounds each output channel to 127 levels of its largest magnitude, ties to even, worked out by hand', () => {
    // Two channels interleaved (inner 1): channel 0 holds 2.54, -1.27, 0.01; channel 1 holds 0.5, -0.25, 0.
    const { values, scales } = quantizeWeights(Float32Array.from([2.54, 0.5, -1.27, -0.25, 0.01, 0]), 2, 1);
    expect(scales[0]).toBeCloseTo(0.02, 7);
    expect(scales[1]).toBeCloseTo(0.5 / 127, 7);
    expect([...values]).toEqual([127, 127, -64, -64, 0, 0]);
    // An all-zero channel gets the smallest scale, not a division by zero.
    const zero = quantizeWeights(new Float32Array(4), 1, 4);
    expect([...zero.values]).toEqual([0, 0, 0, 0]);
    expect(zero.scales[0]).toBeGreaterThan(0);
  });

  it('blocks of `inner` values per channel (Conv OIHW: the output channel first)', () => {
    const { values, scales } = quantizeWeights(Float32Array.from([1, 0.5, 4, -2]), 2, 2);
    expect([...scales].map((s) => s * 127)).toEqual([1, 4].map((v) => expect.closeTo(v, 5)));
    expect([...values]).toEqual([127, 64, 127, -64]);
  });

  it('roundHalfEven and activationScale', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, -2.6].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, -2, 2, -3]);
    expect(activationScale(2.55)).toBeCloseTo(0.01, 9);
    expect(activationScale(0)).toBeGreaterThan(0);
  });
});
