// Spec validator: one failing case per rule (each message names the layer and key), then the seed spec's facts.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../runtime-common/validate.js';
import type { Conv2DLayer } from '../../../tools/layers/layer-registry.js';
import { countParams, inferShapes, loadSpec, parseSpec, serializeSpec, sizeMultiple, weightDefs } from '../../../tools/layers/spec.js';
import { tempDirs } from '../../temp-dir.js';

const makeTempDir = tempDirs();

const seedJson = JSON.parse(readFileSync('models/noise-reducer.json', 'utf8'));
const clone = () => structuredClone(seedJson);

/** Applies `edit` to a fresh copy of the seed spec and returns the validator's message. */
function messageFor(edit: (spec: any) => void): string {
  const spec = clone();
  edit(spec);
  try {
    parseSpec(spec);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as Error).message;
  }
  throw new Error('expected the spec to be rejected');
}

describe('parseSpec rejects', () => {
  it.each([
    ['a non-object spec', (s: any) => Object.assign(s, { layers: 5 }), /Expected a non-empty array of layers for spec\.layers but received 5/],
    ['an unknown top-level key', (s: any) => (s.extra = 1), /spec.*unknown key "extra"/],
    ['a foreign format', (s: any) => (s.format = 'keras'), /Expected "onnx-denoiser\/spec" for spec\.format but received "keras"/],
    ['an unsupported version', (s: any) => (s.version = 2), /Expected a supported version \(1\) for spec\.version but received 2/],
    ['a bad model name', (s: any) => (s.name = 'has space'), /for spec\.name but received "has space"/],
    ['a non-string description', (s: any) => (s.description = 3), /Expected a string for spec\.description but received 3/],
    ['a missing input', (s: any) => delete s.input, /Expected an object for spec\.input but received undefined/],
    ['an unknown input key', (s: any) => (s.input.size = 28), /spec\.input.*unknown key "size"/],
    ['input channels of 0', (s: any) => (s.input.channels = 0), /Expected an integer >= 1 and <= 4 for spec\.input\.channels but received 0/],
    ['fractional input channels', (s: any) => (s.input.channels = 1.5), /for spec\.input\.channels but received 1\.5/],
    ['a bad input name', (s: any) => (s.input.name = '9x'), /for spec\.input\.name but received "9x"/],
    ['an empty layer list', (s: any) => (s.layers = []), /Expected a non-empty array of layers for spec\.layers but received \[\]/],
    ['a layer that is not an object', (s: any) => (s.layers[1] = 'conv'), /Expected an object for layers\[1\] but received "conv"/],
  ])('%s', (_, edit, pattern) => {
    expect(messageFor(edit)).toMatch(pattern);
  });

  it.each([
    ['name', (l: any) => (l.name = 'bad-name'), /for layers\[1\] \("bad-name"\)\.name but received "bad-name"/],
    ['name (duplicate)', (l: any) => (l.name = 'encoder_conv1'), /Expected a name not used by the input or an earlier layer for layers\[1\] \("encoder_conv1"\)\.name but received "encoder_conv1"/],
    ['kind', (l: any) => (l.kind = 'dense'), /Expected one of "conv2d", "conv2dTranspose", "add", "subtract", "concat", "clip" for layers\[1\] \("encoder_conv2"\)\.kind but received "dense"/],
    ['inputs (arity)', (l: any) => (l.inputs = ['image', 'encoder_conv1']), /Expected an array of 1 tensor name for layers\[1\] \("encoder_conv2"\)\.inputs but received \["image","encoder_conv1"\]/],
    ['inputs (unknown tensor)', (l: any) => (l.inputs = ['decoder_output']), /Expected the input's or an earlier layer's name \("image", "encoder_conv1"\) for layers\[1\] \("encoder_conv2"\)\.inputs but received "decoder_output"/],
    ['an unknown key', (l: any) => (l.dilation = 2), /layers\[1\] \("encoder_conv2"\).*unknown key "dilation"/],
    ['filters (missing)', (l: any) => delete l.filters, /filters is required\) for layers\[1\] \("encoder_conv2"\)\.filters but received undefined/],
    ['filters (zero)', (l: any) => (l.filters = 0), /Expected an integer >= 1 for layers\[1\] \("encoder_conv2"\)\.filters but received 0/],
    ['kernelSize (missing)', (l: any) => delete l.kernelSize, /for layers\[1\] \("encoder_conv2"\)\.kernelSize but received undefined/],
    ['kernelSize (bad pair)', (l: any) => (l.kernelSize = [3, 0]), /Expected an integer >= 1 or a pair \[height, width\] of integers >= 1 for layers\[1\] \("encoder_conv2"\)\.kernelSize but received \[3,0\]/],
    ['strides', (l: any) => (l.strides = -1), /Expected an integer >= 1 for layers\[1\] \("encoder_conv2"\)\.strides but received -1/],
    ['padding', (l: any) => (l.padding = 'full'), /Expected one of "same", "valid" for layers\[1\] \("encoder_conv2"\)\.padding but received "full"/],
    ['activation', (l: any) => (l.activation = 'gelu9'), /Expected one of "linear", "relu".* for layers\[1\] \("encoder_conv2"\)\.activation but received "gelu9"/],
    ['useBias', (l: any) => (l.useBias = 'yes'), /Expected a boolean for layers\[1\] \("encoder_conv2"\)\.useBias but received "yes"/],
  ])('a bad layer key: %s', (_, edit, pattern) => {
    expect(messageFor((s) => edit(s.layers[1]))).toMatch(pattern);
  });

  it('an output that names no layer', () => {
    expect(messageFor((s) => (s.output = 'nope'))).toMatch(/Expected the name of a layer for spec\.output but received "nope"/);
    expect(messageFor((s) => (s.output = 'image'))).toMatch(/for spec\.output but received "image"/);
  });

  it('an output whose channels differ from the input', () => {
    expect(messageFor((s) => (s.input.channels = 3))).toMatch(/Expected an output with 3 channel\(s\), as the input for spec\.output but received "1 channel\(s\) from layer decoder_output"/);
  });

  it('a layer the output does not depend on', () => {
    const message = messageFor((s) => {
      s.layers.splice(4, 0, { name: 'dead_end', kind: 'conv2d', filters: 4, kernelSize: 1, inputs: ['encoder_conv1'] });
      s.layers[5].inputs = ['decoder_deconv2'];
    });
    expect(message).toMatch(/for layers\[4\] \("dead_end"\) but received "an unused layer"/);
  });

  it('a valid-padding layer that leaves no pixels for a given input size', () => {
    const spec = clone();
    spec.layers[0].padding = 'valid';
    spec.layers[0].kernelSize = 5;
    spec.layers[0].strides = 1;
    const parsed = parseSpec(spec);
    expect(() => inferShapes(parsed, 3, 3)).toThrow(/layers\[0\] \("encoder_conv1"\) for input 3x3 but received "height 3"/);
  });

  it('a missing or malformed spec file, naming the file', async () => {
    await expect(loadSpec('test/nope.json')).rejects.toThrow(/Cannot read spec file test\/nope\.json/);
    await expect(loadSpec('package-lock.json')).rejects.toThrow(/^package-lock\.json: Expected "onnx-denoiser\/spec" for spec\.format/);
    const dir = makeTempDir('spec-');
    writeFileSync(join(dir, 'broken.json'), '{"format": ');
    await expect(loadSpec(join(dir, 'broken.json'))).rejects.toThrow(/Expected JSON for spec file .*broken\.json but received text that does not parse/);
  });
});

/** A spec of the given layers on a 1-channel input named `image`. */
function specOf(layers: Record<string, unknown>[], extra: Record<string, unknown> = {}) {
  return { format: 'onnx-denoiser/spec', version: 1, name: 't', input: { name: 'image', channels: 1 }, layers, ...extra };
}

/** The validator's message for a spec of `layers`. */
function messageOfLayers(layers: Record<string, unknown>[], extra: Record<string, unknown> = {}): string {
  try {
    parseSpec(specOf(layers, extra));
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as Error).message;
  }
  throw new Error('expected the spec to be rejected');
}

const conv = (name: string, filters: number, more: Record<string, unknown> = {}) => ({ name, kind: 'conv2d', filters, kernelSize: 3, padding: 'same', ...more });

describe('parseSpec rejects bad add, subtract, concat and clip layers', () => {
  it.each([
    ['add with one input (the default, the previous layer)', [conv('a', 1), { name: 's', kind: 'add' }], /Expected an array of 2 or more tensor names for layers\[1\] \("s"\)\.inputs but received \["a"\]/],
    ['concat with an empty list', [conv('a', 1), { name: 's', kind: 'concat', inputs: [] }], /Expected an array of 2 or more tensor names for layers\[1\] \("s"\)\.inputs but received \[\]/],
    ['subtract with three inputs', [conv('a', 1), conv('b', 1), { name: 's', kind: 'subtract', inputs: ['image', 'a', 'b'] }], /Expected an array of 2 tensor names for layers\[2\] \("s"\)\.inputs but received \["image","a","b"\]/],
    ['clip with two inputs', [conv('a', 1), { name: 'c', kind: 'clip', inputs: ['image', 'a'] }], /Expected an array of 1 tensor name for layers\[1\] \("c"\)\.inputs but received \["image","a"\]/],
    ['a non-string input name', [conv('a', 1), { name: 's', kind: 'add', inputs: ['a', 3] }], /Expected an array of 2 or more tensor names for layers\[1\] \("s"\)\.inputs but received \["a",3\]/],
    ['an unknown tensor', [conv('a', 1), { name: 's', kind: 'add', inputs: ['a', 'later'] }, conv('later', 1)], /Expected the input's or an earlier layer's name \("image", "a"\) for layers\[1\] \("s"\)\.inputs but received "later"/],
    ['a tensor named twice', [conv('a', 1), { name: 's', kind: 'add', inputs: ['a', 'a'] }], /Expected distinct tensor names for layers\[1\] \("s"\)\.inputs but received \["a","a"\]/],
    ['add of different channel counts', [conv('a', 16), { name: 's', kind: 'add', inputs: ['a', 'image'] }], /Expected input tensors with equal channel counts for layers\[1\] \("s"\)\.inputs but received "a \(HxWx16\), image \(HxWx1\)"/],
    ['subtract of different channel counts', [conv('a', 2), { name: 's', kind: 'subtract', inputs: ['image', 'a'] }], /Expected input tensors with equal channel counts for layers\[1\] \("s"\)\.inputs but received "image \(HxWx1\), a \(HxWx2\)"/],
    ['add across a stride', [conv('down', 1, { strides: 2 }), { name: 's', kind: 'add', inputs: ['image', 'down'] }], /Expected input tensors of equal height and width for some input size H x W for layers\[1\] \("s"\)\.inputs but received "image \(H x W\), down \(H\/2 x W\/2\)"/],
    ['concat across an upsampling', [{ name: 'up', kind: 'conv2dTranspose', filters: 1, kernelSize: 3, strides: [2, 1], padding: 'same' }, { name: 's', kind: 'concat', inputs: ['up', 'image'] }, conv('o', 1)], /for layers\[1\] \("s"\)\.inputs but received "up \(2H x W\), image \(H x W\)"/],
    ['add of a valid-padded branch', [conv('v', 1, { padding: 'valid' }), { name: 's', kind: 'add', inputs: ['image', 'v'] }], /for layers\[1\] \("s"\)\.inputs but received "image \(H x W\), v \(H - 2 x W - 2\)"/],
    ['an unknown key', [conv('a', 1), { name: 's', kind: 'add', inputs: ['a', 'image'], filters: 4 }], /layers\[1\] \("s"\).*unknown key "filters"/],
    ['an activation on concat', [conv('a', 1), { name: 's', kind: 'concat', inputs: ['a', 'image'], activation: 'relu' }, conv('o', 1)], /layers\[1\] \("s"\).*unknown key "activation"/],
    ['a bad activation', [conv('a', 1), { name: 's', kind: 'subtract', inputs: ['a', 'image'], activation: 'gelu9' }], /Expected one of "linear", "relu".* for layers\[1\] \("s"\)\.activation but received "gelu9"/],
    ['a clip min that is no number', [{ name: 'c', kind: 'clip', min: '0' }], /Expected a finite number for layers\[0\] \("c"\)\.min but received "0"/],
    ['a clip max at min', [{ name: 'c', kind: 'clip', min: 1 }], /Expected a finite number > 1 for layers\[0\] \("c"\)\.max but received 1/],
    ['a clip max below min', [{ name: 'c', kind: 'clip', min: 0, max: -1 }], /Expected a finite number > 0 for layers\[0\] \("c"\)\.max but received -1/],
    ['an infinite clip bound', [{ name: 'c', kind: 'clip', max: Infinity }], /Expected a finite number > 0 for layers\[0\] \("c"\)\.max but received Infinity/],
    ['an unknown clip key', [{ name: 'c', kind: 'clip', inputs: ['image'], low: 0 }], /layers\[0\] \("c"\).*unknown key "low"/],
  ])('%s', (_, layers, pattern) => {
    expect(messageOfLayers(layers as Record<string, unknown>[])).toMatch(pattern);
  });

  it('an output whose channel count differs from the input after a concat', () => {
    expect(messageOfLayers([conv('a', 16), { name: 'cat', kind: 'concat', inputs: ['a', 'image'] }])).toMatch(
      /Expected an output with 1 channel\(s\), as the input for spec\.output but received "17 channel\(s\) from layer cat"/,
    );
  });

  it('a merge that fails at a given input size, naming the layer, key, size and both shapes', () => {
    const spec = parseSpec(specOf([
      conv('down', 4, { strides: 2 }),
      { name: 'up', kind: 'conv2dTranspose', filters: 1, kernelSize: 3, strides: 2, padding: 'same' },
      { name: 'residual', kind: 'subtract', inputs: ['image', 'up'] },
    ]));
    // ceil(27 / 2) * 2 = 28: the decoder comes back larger than an odd input.
    expect(() => inferShapes(spec, 27, 30)).toThrow(
      'Expected input tensors of equal height and width for layers[2] ("residual").inputs for input 27x30 but received "image (27x30x1), up (28x30x1)"',
    );
    expect(inferShapes(spec, 28, 30).get('residual')).toEqual({ height: 28, width: 30, channels: 1 });
    expect(sizeMultiple(spec)).toBe(2);
  });
});

describe('add, subtract, concat and clip', () => {
  it('apply their defaults and keep the input shape (add, subtract, clip) or sum the channels (concat)', () => {
    const spec = parseSpec(specOf([
      conv('a', 4),
      conv('b', 4, { inputs: ['image'] }),
      { name: 'sum3', kind: 'add', inputs: ['a', 'b'] },
      { name: 'cat', kind: 'concat', inputs: ['sum3', 'image', 'b'] },
      conv('c', 1),
      { name: 'diff', kind: 'subtract', inputs: ['image', 'c'], activation: 'relu' },
      { name: 'clip', kind: 'clip', max: 0.5 },
    ]));
    expect(spec.layers.slice(2).map((l) => JSON.stringify(l))).toEqual([
      '{"kind":"add","name":"sum3","inputs":["a","b"],"activation":"linear"}',
      '{"kind":"concat","name":"cat","inputs":["sum3","image","b"]}',
      expect.stringContaining('"kind":"conv2d"'),
      '{"kind":"subtract","name":"diff","inputs":["image","c"],"activation":"relu"}',
      '{"kind":"clip","name":"clip","inputs":["diff"],"min":0,"max":0.5}',
    ]);
    const shapes = inferShapes(spec, 12, 20);
    expect(shapes.get('sum3')).toEqual({ height: 12, width: 20, channels: 4 });
    expect(shapes.get('cat')).toEqual({ height: 12, width: 20, channels: 9 });
    expect(shapes.get('clip')).toEqual({ height: 12, width: 20, channels: 1 });
    expect(inferShapes(spec, null, null).get('cat')).toEqual({ height: null, width: null, channels: 9 });
    // Only the convolutions have weights: (9 * 1 + 1) * 4 twice, then (9 * 9 + 1) * 1.
    expect(weightDefs(spec).map((w) => w.layer)).toEqual(['a', 'a', 'b', 'b', 'c', 'c']);
    expect(countParams(spec)).toBe(40 + 40 + 82);
    expect(sizeMultiple(spec)).toBe(1);
    expect(parseSpec(JSON.parse(serializeSpec(spec)))).toEqual(spec);
  });

  it('add takes three or more inputs', () => {
    const spec = parseSpec(specOf([conv('a', 1), conv('b', 1, { inputs: ['image'] }), { name: 's', kind: 'add', inputs: ['a', 'b', 'image'] }]));
    expect(spec.layers[2]!.inputs).toEqual(['a', 'b', 'image']);
  });

  it('accept a merge whose sizes agree only for odd inputs, and reject it at even ones', () => {
    // valid k3 s2: n -> (n - 1) / 2 for odd n; the valid transposed conv brings that back to n.
    const spec = parseSpec(specOf([
      conv('down', 2, { strides: 2, padding: 'valid' }),
      { name: 'up', kind: 'conv2dTranspose', filters: 1, kernelSize: 3, strides: 2, padding: 'valid' },
      { name: 's', kind: 'add', inputs: ['up', 'image'] },
    ]));
    expect(inferShapes(spec, 9, 13).get('s')).toEqual({ height: 9, width: 13, channels: 1 });
    expect(() => inferShapes(spec, 10, 13)).toThrow(/for layers\[2\] \("s"\)\.inputs for input 10x13 but received "up \(9x13x1\), image \(10x13x1\)"/);
    expect(sizeMultiple(spec)).toBeNull();
  });
});

describe('the seed spec (models/noise-reducer.json)', () => {
  const spec = parseSpec(clone(), 'models/noise-reducer.json');

  it('has the tutorial layers with defaults applied', () => {
    const layers = spec.layers as Conv2DLayer[];
    expect(layers.map((l) => [l.name, l.kind, l.filters, l.strides[0], l.activation])).toEqual([
      ['encoder_conv1', 'conv2d', 16, 2, 'relu'],
      ['encoder_conv2', 'conv2d', 8, 2, 'relu'],
      ['decoder_deconv1', 'conv2dTranspose', 8, 2, 'relu'],
      ['decoder_deconv2', 'conv2dTranspose', 16, 2, 'relu'],
      ['decoder_output', 'conv2d', 1, 1, 'sigmoid'],
    ]);
    expect(layers.every((l) => l.padding === 'same' && l.useBias && l.kernelSize.join() === '3,3')).toBe(true);
    expect(spec.layers[1]!.inputs).toEqual(['encoder_conv1']);
  });

  it('counts 3,217 parameters, summed by hand per layer', () => {
    // (kh*kw*in + 1) * out per layer: 160 + 1160 + 584 + 1168 + 145.
    const byHand = (3 * 3 * 1 + 1) * 16 + (3 * 3 * 16 + 1) * 8 + (3 * 3 * 8 + 1) * 8 + (3 * 3 * 8 + 1) * 16 + (3 * 3 * 16 + 1) * 1;
    expect(byHand).toBe(3217);
    expect(countParams(spec)).toBe(3217);
  });

  it('names weights after layers, with TF layouts', () => {
    expect(weightDefs(spec).map((w) => `${w.name}:${w.shape.join('x')}`)).toEqual([
      'encoder_conv1.kernel:3x3x1x16',
      'encoder_conv1.bias:16',
      'encoder_conv2.kernel:3x3x16x8',
      'encoder_conv2.bias:8',
      'decoder_deconv1.kernel:3x3x8x8',
      'decoder_deconv1.bias:8',
      'decoder_deconv2.kernel:3x3x16x8',
      'decoder_deconv2.bias:16',
      'decoder_output.kernel:3x3x16x1',
      'decoder_output.bias:1',
    ]);
  });

  it('infers output shapes for 28x28, 32x48 and odd sizes, and a size multiple of 4', () => {
    expect(inferShapes(spec, 28, 28).get('encoder_conv2')).toEqual({ height: 7, width: 7, channels: 8 });
    expect(inferShapes(spec, 32, 48).get('decoder_output')).toEqual({ height: 32, width: 48, channels: 1 });
    // ceil(27/2)=14, ceil(14/2)=7, then x2 x2 = 28: odd sizes come back larger, hence the multiple.
    expect(inferShapes(spec, 27, 31).get('decoder_output')).toEqual({ height: 28, width: 32, channels: 1 });
    expect(sizeMultiple(spec)).toBe(4);
  });

  it('round-trips through serializeSpec unchanged', () => {
    const again = parseSpec(JSON.parse(serializeSpec(spec)));
    expect(again).toEqual(spec);
    expect(serializeSpec(again)).toBe(serializeSpec(spec));
  });

  it('accepts explicit non-square kernels and strides, and valid padding (Keras length rules)', () => {
    const s = clone();
    s.layers[0] = { ...s.layers[0], kernelSize: [3, 5], strides: [1, 2], padding: 'valid' };
    s.layers[4].padding = 'valid';
    const parsed = parseSpec(s);
    // valid conv: floor((28-3)/1)+1 = 26, floor((28-5)/2)+1 = 12
    expect(inferShapes(parsed, 28, 28).get('encoder_conv1')).toEqual({ height: 26, width: 12, channels: 16 });
    expect(sizeMultiple(parsed)).toBeNull();
  });
});

describe('the residual model spec (models/residual-denoiser.json)', () => {
  const spec = parseSpec(JSON.parse(readFileSync('models/residual-denoiser.json', 'utf8')), 'models/residual-denoiser.json');

  it('is a U-Net with an added and a concatenated skip, predicting the noise that is subtracted and clipped', () => {
    expect(spec.layers.map((l) => `${l.name}:${l.kind}(${l.inputs.join(',')})`)).toEqual([
      'enc1:conv2d(image)',
      'down1:conv2d(enc1)',
      'down2:conv2d(down1)',
      'bottleneck:conv2d(down2)',
      'up2:conv2dTranspose(bottleneck)',
      'skip2:add(up2,down1)',
      'dec2:conv2d(skip2)',
      'up1:conv2dTranspose(dec2)',
      'skip1:concat(up1,enc1)',
      'dec1:conv2d(skip1)',
      'noise:conv2d(dec1)',
      'residual:subtract(image,noise)',
      'clipped:clip(residual)',
    ]);
    expect(spec.layers.at(-1)).toEqual({ kind: 'clip', name: 'clipped', inputs: ['residual'], min: 0, max: 1 });
    expect(spec.output).toBe('clipped');
  });

  it('counts 44,257 parameters, summed by hand per convolution', () => {
    // (kh*kw*in + 1) * out; the concat feeds dec1 16 + 16 channels.
    const conv = (i: number, o: number) => (9 * i + 1) * o;
    const byHand = conv(1, 16) + conv(16, 32) + conv(32, 32) + conv(32, 32) + conv(32, 32) + conv(32, 16) + conv(16, 16) + conv(32, 16) + conv(16, 1);
    expect(byHand).toBe(44257);
    expect(countParams(spec)).toBe(44257);
    expect(weightDefs(spec).filter((w) => w.suffix === 'kernel').map((w) => `${w.name}:${w.shape.join('x')}`)).toContain('dec1.kernel:3x3x32x16');
    expect(new Set(weightDefs(spec).map((w) => w.layer))).toEqual(new Set(['enc1', 'down1', 'down2', 'bottleneck', 'up2', 'dec2', 'up1', 'dec1', 'noise']));
  });

  it('keeps 28x28 and every multiple of 4, and round-trips', () => {
    expect(inferShapes(spec, 28, 28).get('skip1')).toEqual({ height: 28, width: 28, channels: 32 });
    expect(inferShapes(spec, 28, 28).get('clipped')).toEqual({ height: 28, width: 28, channels: 1 });
    expect(inferShapes(spec, 64, 36).get('clipped')).toEqual({ height: 64, width: 36, channels: 1 });
    expect(sizeMultiple(spec)).toBe(4);
    expect(parseSpec(JSON.parse(serializeSpec(spec)))).toEqual(spec);
  });
});
