// Grown networks: identity layers (net2deeper) and a noise map's zero weights; bad layer choices named, and a grown network computes what the trained one did.
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel, getWeights, setWeights } from '../../../tools/model/build-tfjs.js';
import { identityWeights, noiseMapKernels, widenedWeights } from '../../../tools/model/identity-layers.js';
import { loadSpec, parseSpec, type NetworkSpec } from '../../../tools/layers/spec.js';
import { Rng } from '../../../runtime-common/rng.js';

type RawSpec = { layers: Record<string, unknown>[] } & Record<string, unknown>;
/** The photo network of stage 4, before stage 5 grew enc0b and dec0b into it. */
const photoRaw = () => JSON.parse(readFileSync('models/photo-denoiser-training/stage4/spec.json', 'utf8')) as RawSpec;

/** The raw spec with `layer` inserted right after the layer `after`, which later layers now read through it. */
function insertAfter(raw: RawSpec, after: string, layer: Record<string, unknown>): RawSpec {
  const at = raw.layers.findIndex((l) => l.name === after);
  const later = raw.layers.slice(at + 1).map((l) => (Array.isArray(l.inputs) ? { ...l, inputs: (l.inputs as string[]).map((i) => (i === after ? layer.name : i)) } : l));
  return { ...raw, layers: [...raw.layers.slice(0, at + 1), { ...layer, inputs: [after] }, ...later] };
}

const identityConv = (name: string, filters: number, extra: Record<string, unknown> = {}) => ({ name, kind: 'conv2d', filters, kernelSize: 3, padding: 'same', activation: 'relu', ...extra });

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('identityWeights: bad calls', () => {
  const spec = parseSpec(insertAfter(photoRaw(), 'enc0', identityConv('extra', 16)));
  it('names a layer that is not a conv2d of the spec, listing those that are', () => {
    expect(() => identityWeights(spec, ['nope'], '--init-identity')).toThrow(/^Expected the name of a conv2d layer of photo-denoiser \(enc0, extra, down1, .*, noise\) for --init-identity but received "nope"$/);
    expect(() => identityWeights(spec, ['skip1'], '--init-identity')).toThrow('for --init-identity but received "skip1"');
  });

  it('refuses layers that cannot pass their input through: stride 2, other channel counts, valid padding, even kernels, a relu after a linear layer', () => {
    expect(() => identityWeights(spec, ['down1'], '--init-identity')).toThrow('Expected a layer with strides 1 for --init-identity (layer down1) but received strides 2x2');
    expect(() => identityWeights(spec, ['noise'], '--init-identity')).toThrow('Expected a layer with as many filters as input channels (16) for --init-identity (layer noise) but received 3');
    const plain = { format: 'onnx-denoiser/spec', version: 1, name: 'plain', input: { name: 'image', channels: 1 }, layers: [identityConv('first', 16), { name: 'out', kind: 'conv2d', filters: 1, kernelSize: 3, padding: 'same' }] };
    const valid = parseSpec(insertAfter(plain, 'first', identityConv('extra', 16, { padding: 'valid' })));
    expect(() => identityWeights(valid, ['extra'])).toThrow(`Expected a layer with 'same' padding for identity layers (layer extra) but received "valid"`);
    const even = parseSpec(insertAfter(photoRaw(), 'enc0', identityConv('extra', 16, { kernelSize: 2 })));
    expect(() => identityWeights(even, ['extra'])).toThrow('Expected a layer with an odd kernel size for identity layers (layer extra) but received kernel 2x2');
    // skip1 adds without an activation: its output can be negative, and a relu would cut it.
    const afterAdd = parseSpec(insertAfter(photoRaw(), 'skip1', identityConv('extra', 16)));
    expect(() => identityWeights(afterAdd, ['extra'])).toThrow('Expected a relu layer whose input comes from a relu layer (non-negative, so the relu keeps it) for identity layers (layer extra) but received input skip1 (linear)');
    const tanh = parseSpec(insertAfter(photoRaw(), 'enc0', identityConv('extra', 16, { activation: 'tanh' })));
    expect(() => identityWeights(tanh, ['extra'])).toThrow(`Expected a layer with a 'linear' or 'relu' activation for identity layers (layer extra) but received "tanh"`);
  });
});

describe('identityWeights', () => {
  it('is the identity kernel worked out by hand: 1 at the centre tap from channel c to c, zero bias', () => {
    const spec = parseSpec(insertAfter(photoRaw(), 'enc0', identityConv('extra', 16)));
    const weights = identityWeights(spec, ['extra']);
    const kernel = weights.get('extra.kernel')!;
    expect(kernel.shape).toEqual([3, 3, 16, 16]);
    for (let y = 0; y < 3; y++) for (let x = 0; x < 3; x++) for (let i = 0; i < 16; i++) for (let o = 0; o < 16; o++) {
      expect(kernel.data[((y * 3 + x) * 16 + i) * 16 + o]).toBe(y === 1 && x === 1 && i === o ? 1 : 0);
    }
    expect([...weights.get('extra.bias')!.data]).toEqual(new Array(16).fill(0));
  });

  it('grows a network deeper without changing its output: relu layers after relu layers and a linear one after an add', async () => {
    const base: NetworkSpec = parseSpec(photoRaw());
    let raw = insertAfter(photoRaw(), 'enc0', identityConv('enc0b', 16));
    raw = insertAfter(raw, 'dec0', identityConv('dec0b', 16));
    raw = insertAfter(raw, 'skip2', identityConv('skip2b', 32, { activation: 'linear' }));
    const grown = parseSpec(raw);
    // enc0b and dec0b alone give the network of stages 5 and 6 (stage 7, shipped, added the noise map to it).
    expect(parseSpec(insertAfter(insertAfter(photoRaw(), 'enc0', identityConv('enc0b', 16)), 'dec0', identityConv('dec0b', 16))).layers).toEqual((await loadSpec('models/photo-denoiser-training/stage6/spec.json')).layers);
    const trained = await getWeights(buildModel(base, { seed: 5 }), base);
    const weights = new Map([...trained, ...identityWeights(grown, ['enc0b', 'dec0b', 'skip2b'])]);
    const small = buildModel(base);
    setWeights(small, base, trained);
    const deep = buildModel(grown);
    setWeights(deep, grown, weights);
    const rng = new Rng(9);
    const input = tf.tensor4d(Float32Array.from({ length: 2 * 20 * 24 * 3 }, () => rng.nextFloat()), [2, 20, 24, 3]);
    const a = (small.predict(input) as tf.Tensor).dataSync();
    const b = (deep.predict(input) as tf.Tensor).dataSync();
    let max = 0;
    for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
    expect(max).toBeLessThan(1e-6);
    // Not trivially equal: the output depends on the input.
    expect(Math.abs(a[0]! - a[a.length - 1]!)).toBeGreaterThan(0);
    tf.dispose(input);
  });
});

/** The raw spec with a noise map joined to the image before its first layer. */
function withNoiseMap(raw: RawSpec): RawSpec {
  const [first, ...rest] = raw.layers;
  return {
    ...raw,
    input: { ...(raw.input as object), noiseMap: 'noise_map' },
    layers: [{ name: 'with_map', kind: 'concat', inputs: ['image', 'noise_map'] }, { ...first, inputs: ['with_map'] }, ...rest],
  };
}

describe('noiseMapKernels', () => {
  it('is empty for a blind spec and for weights that already have the map channel', async () => {
    const base = parseSpec(photoRaw());
    const trained = await getWeights(buildModel(base, { seed: 5 }), base);
    expect(noiseMapKernels(base, trained).size).toBe(0);
    const mapped = parseSpec(withNoiseMap(photoRaw()));
    const full = await getWeights(buildModel(mapped, { seed: 5 }), mapped);
    expect(noiseMapKernels(mapped, full).size).toBe(0);
  });

  it('inserts zeros for the map at its place in the concat, worked out by hand (map first: every old channel moves up one)', () => {
    const raw = { format: 'onnx-denoiser/spec', version: 1, name: 'tiny', input: { name: 'image', channels: 2, noiseMap: 'm' }, layers: [
      { name: 'joined', kind: 'concat', inputs: ['m', 'image'] },
      { name: 'conv', kind: 'conv2d', filters: 2, kernelSize: 1, padding: 'same' },
    ] };
    const old = { shape: [1, 1, 2, 2], data: Float32Array.from([1, 2, 3, 4]) };
    const grown = noiseMapKernels(parseSpec(raw), new Map([['conv.kernel', old], ['conv.bias', { shape: [2], data: new Float32Array(2) }]]));
    // [kh, kw, in, out]: in 0 is the map (zeros), in 1 and 2 the old in 0 and 1.
    expect(grown.get('conv.kernel')).toEqual({ shape: [1, 1, 3, 2], data: Float32Array.from([0, 0, 1, 2, 3, 4]) });
    expect(grown.has('conv.bias')).toBe(false);
  });

  it('grows the photo network a noise map without changing its output, whatever level it is told (stage 8\'s spec is stage 6\'s so grown, and the shipped one stage 8\'s with enc0c and dec0c)', async () => {
    const stage8 = withNoiseMap(JSON.parse(readFileSync('models/photo-denoiser-training/stage6/spec.json', 'utf8')));
    expect(parseSpec(stage8).layers).toEqual((await loadSpec('models/photo-denoiser-training/stage8/spec.json')).layers);
    const stage9 = insertAfter(insertAfter(stage8, 'enc0b', identityConv('enc0c', 16)), 'dec0b', identityConv('dec0c', 16));
    expect(parseSpec(stage9).layers).toEqual((await loadSpec('models/photo-denoiser.json')).layers);
    const base = parseSpec(photoRaw());
    const mapped = parseSpec(withNoiseMap(photoRaw()));
    const trained = await getWeights(buildModel(base, { seed: 6 }), base);
    const weights = new Map([...trained, ...noiseMapKernels(mapped, trained)]);
    expect(weights.get('enc0.kernel')!.shape).toEqual([3, 3, 4, 16]);
    const blind = buildModel(base);
    setWeights(blind, base, trained);
    const grown = buildModel(mapped);
    setWeights(grown, mapped, weights);
    const rng = new Rng(10);
    const input = tf.tensor4d(Float32Array.from({ length: 2 * 16 * 20 * 3 }, () => rng.nextFloat()), [2, 16, 20, 3]);
    const a = (blind.predict(input) as tf.Tensor).dataSync();
    for (const level of [0, 0.1, 0.5]) {
      const b = (grown.predict([input, tf.fill([2, 16, 20, 1], level)]) as tf.Tensor).dataSync();
      let max = 0;
      for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
      expect(max).toBeLessThan(1e-6);
    }
    tf.dispose(input);
  });
});

describe('widenedWeights', () => {
  it('leaves alone layers that are not wider, and weights that do not fit (checkWeights names those)', async () => {
    const base = parseSpec(photoRaw());
    const trained = await getWeights(buildModel(base, { seed: 5 }), base);
    expect(widenedWeights(base, trained, 1).size).toBe(0);
    const taps = new Map([...trained, ['enc0.kernel', { shape: [5, 5, 3, 8], data: new Float32Array(5 * 5 * 3 * 8) }]]);
    expect(widenedWeights(base, taps, 1).has('enc0.kernel')).toBe(false);
  });

  it('is the trained kernel in the leading corner, zeros from new inputs to old outputs, drawn weights into new outputs, worked out by hand', () => {
    const raw = { format: 'onnx-denoiser/spec', version: 1, name: 'tiny', input: { name: 'image', channels: 1 }, layers: [
      { name: 'a', kind: 'conv2d', filters: 2, kernelSize: 1, padding: 'same', activation: 'relu' },
      { name: 'b', kind: 'conv2dTranspose', filters: 1, kernelSize: 1, strides: 2, padding: 'same' },
    ] };
    const trained = new Map([
      ['a.kernel', { shape: [1, 1, 1, 1], data: Float32Array.from([3]) }],
      ['a.bias', { shape: [1], data: Float32Array.from([0.5]) }],
      ['b.kernel', { shape: [1, 1, 1, 1], data: Float32Array.from([7]) }],
      ['b.bias', { shape: [1], data: Float32Array.from([-1]) }],
    ]);
    const grown = widenedWeights(parseSpec(raw), trained, 3);
    // a [kh, kw, in 1, out 2]: out 0 keeps 3, out 1 is drawn within Glorot's limit sqrt(6 / (1 + 2)).
    const a = grown.get('a.kernel')!;
    expect(a.shape).toEqual([1, 1, 1, 2]);
    expect(a.data[0]).toBe(3);
    expect(a.data[1]).not.toBe(0);
    expect(Math.abs(a.data[1]!)).toBeLessThanOrEqual(Math.sqrt(2));
    expect(grown.get('a.bias')).toEqual({ shape: [2], data: Float32Array.from([0.5, 0]) });
    // b (transposed) [kh, kw, out 1, in 2]: in 0 keeps 7, in 1 (new) to the old output is 0; its bias is unchanged.
    expect(grown.get('b.kernel')).toEqual({ shape: [1, 1, 1, 2], data: Float32Array.from([7, 0]) });
    expect(grown.has('b.bias')).toBe(false);
    // The same seed draws the same weights.
    expect(widenedWeights(parseSpec(raw), trained, 3).get('a.kernel')).toEqual(a);
  });

  it('widens the shipped photo network at every size (full 32, half 48, quarter 64 channels) without changing its output, across skips and a transposed convolution', async () => {
    const base = await loadSpec('models/photo-denoiser.json');
    const raw = JSON.parse(readFileSync('models/photo-denoiser.json', 'utf8')) as RawSpec;
    const widths: Record<string, number> = { enc0: 32, enc0b: 32, enc0c: 32, up1: 32, dec0: 32, dec0b: 32, dec0c: 32, down1: 48, enc1: 48, up2: 48, dec1: 48, down2: 64, mid1: 64, mid2: 64 };
    const wide = parseSpec({ ...raw, layers: raw.layers.map((l) => (widths[l.name as string] ? { ...l, filters: widths[l.name as string] } : l)) });
    const trained = await getWeights(buildModel(base, { seed: 5 }), base);
    const grown = widenedWeights(wide, trained, 2);
    expect([...grown.keys()].filter((n) => n.endsWith('.kernel')).map((n) => n.split('.')[0])).toEqual([...Object.keys(widths), 'noise'].sort((x, y) => wide.layers.findIndex((l) => l.name === x) - wide.layers.findIndex((l) => l.name === y)));
    const small = buildModel(base);
    setWeights(small, base, trained);
    const big = buildModel(wide);
    setWeights(big, wide, new Map([...trained, ...grown]));
    const rng = new Rng(11);
    const input = tf.tensor4d(Float32Array.from({ length: 2 * 20 * 24 * 3 }, () => rng.nextFloat()), [2, 20, 24, 3]);
    const map = tf.fill([2, 20, 24, 1], 0.1);
    const a = (small.predict([input, map]) as tf.Tensor).dataSync();
    const b = (big.predict([input, map]) as tf.Tensor).dataSync();
    let max = 0;
    for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
    expect(max).toBeLessThan(1e-5);
    expect(Math.abs(a[0]! - a[a.length - 1]!)).toBeGreaterThan(0);
    // The new channels are alive: enc0's drawn weights make non-zero activations that a later step can use.
    expect(grown.get('enc0.kernel')!.data.some((v, i) => i % 32 >= 16 && v !== 0)).toBe(true);
    tf.dispose([input, map]);
  });
});
