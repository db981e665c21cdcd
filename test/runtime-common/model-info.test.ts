// Model description: metadata_props read from the ONNX bytes, non-denoisers refused, the one metadata reader's values (strict for onnx-denoiser models), the receptive-field warning.
import { describe, expect, it } from 'vitest';
import { checkModelOutput, describeModel, readOnnxMetadata } from '../../runtime-common/model-info.js';
import { encodeDenoiserMetadata, type DenoiserMetadata } from '../../runtime-common/model-metadata.js';
import { foreignModel, identityModel, testMetadata } from '../../tools/onnx/test-models.js';

const image = (channels: number | string = 1) => [{ name: 'image', isTensor: true, type: 'float32', shape: ['N', channels, 'H', 'W'] }];
const out = (channels: number | string = 1) => [{ name: 'denoised', isTensor: true, type: 'float32', shape: ['N', channels, 'H', 'W'] }];

const spec = { format: 'onnx-denoiser/spec', version: 1, name: 'tiny', description: '', input: { name: 'image', channels: 1 }, layers: [], output: 'a' };
const own: DenoiserMetadata = {
  formatVersion: 2,
  name: 'tiny',
  spec,
  channels: 1,
  valueRange: [0, 1],
  sizeMultiple: 4,
  receptiveField: { low: -7, high: 7, radius: 7 },
  layout: 'NCHW',
  precision: 'float32',
  contentHash: 'ab'.repeat(32),
  image: {},
};

describe('model info: bad calls', () => {
  it('refuses bytes that are not an ONNX model', () => {
    expect(() => readOnnxMetadata(new Uint8Array(0), 'm.onnx')).toThrow('Expected an ONNX model file for m.onnx but received an empty file');
    expect(() => readOnnxMetadata(new TextEncoder().encode('hello, not a model'), 'm.onnx')).toThrow(/Expected an ONNX model file for m.onnx but received bytes that are not one/);
    const truncated = identityModel().subarray(0, 40);
    expect(() => readOnnxMetadata(truncated, 't.onnx')).toThrow(/for t.onnx but received/);
  });

  it('refuses models that are not image denoisers, saying what they have', () => {
    expect(() => describeModel([{ name: 'a', type: 'int64', shape: [3] }, { name: 'b', type: 'int64', shape: [3] }], [{ name: 'c', type: 'int64', shape: [3] }], {}, 'add.onnx')).toThrow(
      'Expected an image denoiser (one float32 input and one float32 output [N, C, H, W], and a noise map input where its metadata names one) for add.onnx but received a model with 2 input(s) (a: int64[3], b: int64[3]) and 1 output(s) (c: int64[3])',
    );
    expect(() => describeModel([{ name: 'x', type: 'float32', shape: [1, 28, 28] }], out(), {}, 'm')).toThrow(/received input x: float32\[1, 28, 28\]/);
    expect(() => describeModel(image('C'), out('C'), {}, 'm')).toThrow(/neither fixed in its shape nor in the metadata/);
    expect(() => describeModel(image(1), out(3), {}, 'm')).toThrow(/1 input channels but 3 output channels/);
    expect(() => describeModel(image(1), out(), { channels: '3' }, 'm')).toThrow(/input channels 1 but metadata channels 3/);
  });

  it('takes a second input only where the metadata names it the noise map, of one channel', () => {
    const mapped: DenoiserMetadata = { ...own, formatVersion: 3, noiseMap: 'noise_map', spec: { ...spec, input: { ...spec.input, noiseMap: 'noise_map' } } };
    const map = (channels: number | string = 1) => [{ name: 'noise_map', isTensor: true, type: 'float32', shape: ['N', channels, 'H', 'W'] }];
    const info = describeModel([...map(), ...image()], out(), encodeDenoiserMetadata(mapped), 'm');
    expect([info.inputName, info.noiseMapName]).toEqual(['image', 'noise_map']);
    expect(describeModel(image(), out(), encodeDenoiserMetadata(own), 'm').noiseMapName).toBeUndefined();
    expect(() => describeModel([...image(), ...map()], out(), encodeDenoiserMetadata(own), 'm')).toThrow(/but received a model with 2 input\(s\) \(image: float32\[N, 1, H, W\], noise_map: float32\[N, 1, H, W\]\)/);
    expect(() => describeModel(image(), out(), encodeDenoiserMetadata(mapped), 'm')).toThrow(/but received a model with 1 input\(s\)/);
    expect(() => describeModel([...image(), ...map(3)], out(), encodeDenoiserMetadata(mapped), 'm')).toThrow(/but received a noise map with 3 channels \(noise_map: float32\[N, 3, H, W\]\)/);
  });

  it('refuses invalid values a foreign model states, naming the key', () => {
    expect(() => describeModel(image(1), out(), { value_range: '[1, 0]' }, 'm')).toThrow('Expected "low,high" (or "[low, high]") with low < high for metadata "value_range" of m but received "[1, 0]"');
    expect(() => describeModel(image(1), out(), { size_multiple: '0' }, 'm')).toThrow('Expected an integer >= 1 for metadata "size_multiple" of m but received "0"');
    expect(() => describeModel(image(1), out(), { receptive_field: '3,5' }, 'm')).toThrow('Expected "low,high": integers with low <= 0 <= high for metadata "receptive_field" of m but received "3,5"');
  });

  it('reads onnx-denoiser metadata strictly: a missing or invalid key is named', () => {
    const { content_sha256: _, ...noHash } = encodeDenoiserMetadata(own);
    expect(() => describeModel(image(1), out(), noHash, 'm.onnx')).toThrow('Expected a non-empty value for metadata "content_sha256" of m.onnx but received undefined');
    const { receptive_field: __, ...noField } = encodeDenoiserMetadata(own);
    expect(() => describeModel(image(1), out(), noField, 'm.onnx')).toThrow('Expected a non-empty value for metadata "receptive_field" of m.onnx but received undefined');
    expect(() => describeModel(image(1), out(), { ...encodeDenoiserMetadata(own), value_range: 'all' }, 'm.onnx')).toThrow(/for metadata "value_range" of m.onnx but received "all"$/);
  });
});

describe('checkModelOutput: bad outputs', () => {
  it('refuses an output whose shape is not the input\'s, naming the model', () => {
    const dims = [1, 1, 4, 6];
    expect(() => checkModelOutput('m.onnx', dims, { data: new Float32Array(6), dims: [1, 1, 2, 3] })).toThrow("Expected [1, 1, 4, 6] (the input's N, C, H, W) for the output shape of m.onnx but received [1, 1, 2, 3]: it is not a denoiser that keeps the image size");
    // The same number of values in another layout is no better.
    expect(() => checkModelOutput('m.onnx', dims, { data: new Float32Array(24), dims: [1, 1, 6, 4] })).toThrow(/received \[1, 1, 6, 4\]/);
    expect(() => checkModelOutput('m.onnx', dims, { data: new Float32Array(24), dims: [1, 24] })).toThrow(/received \[1, 24\]/);
    expect(() => checkModelOutput('m.onnx', dims, { data: new Int32Array(24), dims })).toThrow('Expected float32 values for the output of m.onnx but received Int32Array');
  });

  it('refuses NaN and infinite values, saying where the first is and how many there are', () => {
    const dims = [1, 1, 2, 2];
    expect(() => checkModelOutput('m.onnx', dims, { data: new Float32Array([0.5, NaN, 0.25, NaN]), dims })).toThrow('Expected finite values for the output of m.onnx but received NaN at index 1 (2 of 4 values not finite)');
    expect(() => checkModelOutput('m.onnx', dims, { data: new Float32Array([0, 0, 0, -Infinity]), dims })).toThrow('Expected finite values for the output of m.onnx but received -Infinity at index 3 (1 of 4 values not finite)');
  });
});

describe('model info', () => {
  it('passes a well-formed output through as it is', () => {
    const data = new Float32Array([0, 1, -0.5, 2]);
    expect(checkModelOutput('m.onnx', [1, 1, 2, 2], { data, dims: [1, 1, 2, 2] })).toBe(data);
  });

  it('reads metadata_props from a model file', () => {
    expect(readOnnxMetadata(identityModel(1, testMetadata(1, { note: 'héllo' })), 'm')).toEqual({ channels: '1', value_range: '[0,1]', size_multiple: '1', note: 'héllo' });
    expect(readOnnxMetadata(foreignModel(), 'f')).toEqual({});
  });

  it('describes an onnx-denoiser model from its metadata: range, size multiple, receptive field, the typed metadata, no warning', () => {
    const info = describeModel(image(), out(), encodeDenoiserMetadata(own), 'm.onnx');
    expect(info).toMatchObject({ source: 'm.onnx', inputName: 'image', outputName: 'denoised', channels: 1, valueRange: [0, 1], sizeMultiple: 4, name: 'tiny' });
    expect(info.receptiveField).toEqual({ low: -7, high: 7, radius: 7 });
    expect(info.denoiserMetadata).toEqual(own);
    expect(info.warnings).toEqual([]);
  });

  it('describes a foreign model from what it states, with defaults for the rest', () => {
    const info = describeModel(image(), out(), { value_range: '0, 255', size_multiple: '3', receptive_field: '-2,3', name: 'theirs', spec: 'not read' }, 'm.onnx');
    expect(info).toMatchObject({ channels: 1, valueRange: [0, 255], sizeMultiple: 3, receptiveField: { low: -2, high: 3, radius: 3 }, name: 'theirs', warnings: [] });
    expect(info.denoiserMetadata).toBeUndefined();
    const plain = describeModel(image('C'), out('C'), { channels: '3', value_range: '[-1,1]' }, 'm');
    expect(plain).toMatchObject({ channels: 3, valueRange: [-1, 1], sizeMultiple: 1, receptiveField: undefined, name: undefined });
    expect(plain.fixedSize).toBeUndefined();
    expect(describeModel([{ name: 'x', type: 'float32', shape: [1, 1, 28, 28] }], out(), {}, 'm').fixedSize).toEqual([28, 28]);
  });

  it('warns, with the default it tiles with, when a model does not state its receptive field', () => {
    expect(describeModel(image(), out(), {}, 'their.onnx').warnings).toEqual([
      'their.onnx does not state its receptive field (metadata "receptive_field"): tiling assumes [-32, 32] and overlaps tiles by 66 px unless told otherwise; seams may show if the network sees farther',
    ]);
    // Aligned up to the size multiple; an export from before format version 2 is told how to get the key.
    const { receptive_field: _, ...old } = encodeDenoiserMetadata({ ...own, formatVersion: 1 });
    const info = describeModel(image(), out(), old, 'old.onnx');
    expect(info.receptiveField).toBeUndefined();
    expect(info.warnings).toEqual([
      'old.onnx is an export of format version 1, without metadata "receptive_field" (export it again to add it): tiling assumes [-32, 32] and overlaps tiles by 68 px unless told otherwise; seams may show if the network sees farther',
    ]);
    // A fixed-size model runs untiled: nothing to warn about.
    expect(describeModel([{ name: 'x', type: 'float32', shape: [1, 1, 28, 28] }], out(), {}, 'm').warnings).toEqual([]);
  });
});
