// Tiling: aligned overlapping tiles, blending weights that sum to 1, and the receptive field worked out by hand.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { blendWeights, planAxis, receptiveField } from '../../runtime-common/tiling.js';
import { buildModel } from '../../tools/model/build-tfjs.js';
import { loadSpec } from '../../tools/spec/spec.js';

describe('tiling: bad calls', () => {
  it('rejects tiles smaller than the overlap plus the alignment, and empty axes', () => {
    expect(() => planAxis(100, { tile: 20, overlap: 20, align: 4 })).toThrow('Expected an integer >= 24 for tile but received 20');
    expect(() => planAxis(0, { tile: 64, overlap: 8, align: 4 })).toThrow('Expected an integer >= 1 for length but received 0');
    expect(() => planAxis(10, { tile: 64, overlap: -1, align: 4 })).toThrow('Expected an integer >= 0 for overlap but received -1');
    expect(() => blendWeights([{ start: 0, end: 10 }, { start: 10, end: 20 }], 2)).toThrow('Expected overlapping tiles for tiles 0 and 1 but received 0');
  });

  it('gives no receptive field for a spec it cannot read: an unknown kind, a merge across scales, a missing tensor', () => {
    const conv = { name: 'a', kind: 'conv2d', kernelSize: 3, padding: 'same' };
    expect(receptiveField({ layers: [conv, { name: 'p', kind: 'maxPool2d' }] })).toBeUndefined();
    expect(receptiveField({ layers: [{ ...conv, strides: 2 }, { name: 's', kind: 'add', inputs: ['a', 'image'] }] })).toBeUndefined();
    expect(receptiveField({ layers: [conv, { name: 's', kind: 'add', inputs: ['a', 'nope'] }] })).toBeUndefined();
    expect(receptiveField({ layers: [conv, { name: 'b', kind: 'conv2d', kernelSize: 3, inputs: ['a', 'image'] }] })).toBeUndefined();
  });
});

describe('tiling', () => {
  it('covers every length with as few aligned, overlapping tiles as the tile size allows (brute force over lengths)', () => {
    for (const [tile, overlap, align] of [[64, 16, 4], [96, 32, 8], [48, 0, 1], [512, 24, 4], [30, 24, 4]] as const) {
      for (let length = 1; length < 1200; length += 7) {
        const spans = planAxis(length, { tile, overlap, align });
        const count = Math.max(1, Math.ceil((length - overlap) / tile));
        expect(spans.length).toBeLessThanOrEqual(count);
        expect(spans[0]!.start).toBe(0);
        expect(spans[spans.length - 1]!.end).toBe(length);
        const extent = spans[0]!.end - spans[0]!.start;
        if (spans.length === 1) expect(length).toBeLessThanOrEqual(tile + overlap);
        else expect(extent).toBeLessThanOrEqual(tile + overlap + 2 * align - 2);
        spans.forEach((s, i) => {
          expect(s.start % align).toBe(0);
          if (i < spans.length - 1) expect(s.end - s.start).toBe(extent);
          else if (spans.length > 1) expect(s.end - s.start - extent).toBeLessThan(align);
          if (i > 0) {
            expect(s.start).toBeGreaterThan(spans[i - 1]!.start);
            expect(spans[i - 1]!.end - s.start).toBeGreaterThanOrEqual(overlap);
          }
        });
      }
    }
  });

  it('cuts 1024 into two tiles of 528 and 4096 into eight of 536 for 512 px tiles with 24 px overlap', () => {
    expect(planAxis(1024, { tile: 512, overlap: 24, align: 4 })).toEqual([{ start: 0, end: 528 }, { start: 496, end: 1024 }]);
    const spans = planAxis(4096, { tile: 512, overlap: 24, align: 4 });
    expect(spans).toHaveLength(8);
    expect(spans.every((s) => s.end - s.start <= 540)).toBe(true);
  });

  it('blends with weights that sum to 1 and ignore the margin at inner edges', () => {
    const spans = planAxis(300, { tile: 96, overlap: 32, align: 4 });
    const margin = 11;
    const weights = blendWeights(spans, margin);
    const sum = new Float64Array(300);
    spans.forEach((s, t) => weights[t]!.forEach((w, i) => (sum[s.start + i]! += w)));
    for (const v of sum) expect(v).toBeCloseTo(1, 6);
    spans.forEach((s, t) => {
      const w = weights[t]!;
      for (let i = 0; i < margin; i++) {
        if (s.start > 0) expect(w[i]).toBe(0);
        if (s.end < 300) expect(w[w.length - 1 - i]).toBe(0);
      }
      // Outer image edges keep full weight.
      if (s.start === 0) expect(w[0]).toBe(1);
      if (s.end === 300) expect(w[w.length - 1]).toBe(1);
    });
  });

  it('computes the noise-reducer receptive field by hand: [-10, 11], radius 11, stride 4', () => {
    // Offsets in input pixels, scale = input pixels per tensor pixel; "same" pads 0 or 1 in front (k = 3):
    // conv s2:   scale 2, low 0 - 1*1 = -1,          high 0 + 1*2 = 2
    // conv s2:   scale 4, low -1 - 2*1 = -3,         high 2 + 2*2 = 6
    // deconv s2: scale 2, low -3 + 4*(-2)/2 = -7,    high 6 + 4*1/2 = 8
    // deconv s2: scale 1, low -7 + 2*(-2)/2 = -9,    high 8 + 2*1/2 = 9
    // conv s1:   scale 1, low -9 - 1 = -10,          high 9 + 2 = 11
    const spec = JSON.parse(readFileSync('models/noise-reducer.json', 'utf8'));
    expect(receptiveField(spec)).toEqual({ low: -10, high: 11, radius: 11, stride: 4 });
    expect(receptiveField({ layers: [{ name: 'a', kind: 'conv2d', kernelSize: 5, padding: 'valid' }] })).toEqual({ low: 0, high: 4, radius: 4, stride: 1 });
    expect(receptiveField({ layers: [] })).toBeUndefined();
    expect(receptiveField('nonsense')).toBeUndefined();
  });

  it('computes the residual-denoiser receptive field by hand: [-18, 27], radius 27, stride 4', () => {
    // As above, per layer [low, high] at its scale; a merge takes the widest of its inputs' spans:
    // enc1 conv s1 [-1, 2] (1); down1 s2 [-2, 4] (2); down2 s2 [-4, 8] (4); bottleneck s1 [-8, 16] (4);
    // up2 deconv s2 [-8 + 4*(-2)/2, 16 + 4*1/2] = [-12, 18] (2); skip2 = add(up2, down1 [-2, 4]) [-12, 18];
    // dec2 s1 [-14, 22] (2); up1 deconv s2 [-16, 23] (1); skip1 = concat(up1, enc1 [-1, 2]) [-16, 23];
    // dec1 [-17, 25]; noise [-18, 27]; residual = image [0, 0] - noise: [-18, 27]; clip adds nothing.
    const spec = JSON.parse(readFileSync('models/residual-denoiser.json', 'utf8'));
    expect(receptiveField(spec)).toEqual({ low: -18, high: 27, radius: 27, stride: 4 });
  });

  it('takes the widest span over the paths into a merge, and pointwise kinds add none', () => {
    // a: conv k5 s1 "same" reads [-2, 4]; b: conv k3 on the input reads [-1, 2]; the skip from the input reads [0, 0].
    const spec = {
      input: { name: 'x' },
      layers: [
        { name: 'a', kind: 'conv2d', kernelSize: 5, padding: 'same' },
        { name: 'b', kind: 'conv2d', kernelSize: [3, 1], padding: 'same', inputs: ['x'] },
        { name: 'cat', kind: 'concat', inputs: ['b', 'x'] },
        { name: 'sum', kind: 'add', inputs: ['a', 'cat'] },
        { name: 'diff', kind: 'subtract', inputs: ['x', 'sum'] },
        { name: 'clip', kind: 'clip' },
      ],
    };
    expect(receptiveField(spec)).toEqual({ low: -2, high: 4, radius: 4, stride: 1 });
    expect(receptiveField({ ...spec, output: 'cat' })).toEqual({ low: -1, high: 2, radius: 2, stride: 1 });
  });

  it.each([
    ['the noise-reducer', 'models/noise-reducer.json'],
    ['the residual denoiser', 'models/residual-denoiser.json'],
  ])('bounds what %s output pixels depend on (brute force: TF.js, one input pixel changed at a time)', async (_, file) => {
    await tf.setBackend('cpu');
    const spec = await loadSpec(file);
    const field = receptiveField(JSON.parse(readFileSync(file, 'utf8')))!;
    const model = buildModel(spec, { seed: 4 });
    const size = 48;
    const base = tf.randomUniform([1, size, size, 1], 0, 1, 'float32', 5);
    const before = (model.predict(base) as tf.Tensor).dataSync();
    let widest = 0;
    // Three stride phases of the perturbed pixel.
    for (const [py, px] of [[24, 24], [25, 22], [22, 27]] as const) {
      const input = tf.buffer([1, size, size, 1], 'float32', Float32Array.from(base.dataSync()));
      input.set(input.get(0, py, px, 0) + 5, 0, py, px, 0);
      const after = (model.predict(input.toTensor()) as tf.Tensor).dataSync();
      let changed = 0;
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          if (after[y * size + x] === before[y * size + x]) continue;
          changed++;
          // Output o reads inputs o + [low, high]: the perturbed pixel must lie in that window on both axes.
          expect(py - y, `output ${y},${x} from input ${py},${px}`).toBeGreaterThanOrEqual(field.low);
          expect(py - y, `output ${y},${x} from input ${py},${px}`).toBeLessThanOrEqual(field.high);
          expect(px - x, `output ${y},${x} from input ${py},${px}`).toBeGreaterThanOrEqual(field.low);
          expect(px - x, `output ${y},${x} from input ${py},${px}`).toBeLessThanOrEqual(field.high);
          widest = Math.max(widest, Math.abs(py - y), Math.abs(px - x));
        }
      }
      expect(changed).toBeGreaterThan(0);
    }
    process.stdout.write(`${file}: receptive field [${field.low}, ${field.high}], farthest output reached ${widest}\n`);
    // Conservative ("same" pads are taken on either side) but not loose: the farthest output reached is over half the radius.
    expect(widest).toBeGreaterThan(field.radius / 2);
    model.dispose();
  });
});
