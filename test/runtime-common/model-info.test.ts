// Model description: metadata_props read from the ONNX bytes, foreign models refused, value range and size multiple.
import { describe, expect, it } from 'vitest';
import { checkModelOutput, describeModel, readOnnxMetadata } from '../../runtime-common/model-info.js';
import { foreignModel, identityModel, testMetadata } from '../../tools/onnx/test-models.js';

const image = (channels: number | string = 1) => [{ name: 'image', isTensor: true, type: 'float32', shape: ['N', channels, 'H', 'W'] }];
const out = (channels: number | string = 1) => [{ name: 'denoised', isTensor: true, type: 'float32', shape: ['N', channels, 'H', 'W'] }];

describe('model info: bad calls', () => {
  it('refuses bytes that are not an ONNX model', () => {
    expect(() => readOnnxMetadata(new Uint8Array(0), 'm.onnx')).toThrow('Expected an ONNX model file for m.onnx but received an empty file');
    expect(() => readOnnxMetadata(new TextEncoder().encode('hello, not a model'), 'm.onnx')).toThrow(/Expected an ONNX model file for m.onnx but received bytes that are not one/);
    const truncated = identityModel().subarray(0, 40);
    expect(() => readOnnxMetadata(truncated, 't.onnx')).toThrow(/for t.onnx but received/);
  });

  it('refuses models that are not image denoisers, saying what they have', () => {
    expect(() => describeModel([{ name: 'a', type: 'int64', shape: [3] }, { name: 'b', type: 'int64', shape: [3] }], [{ name: 'c', type: 'int64', shape: [3] }], {}, 'add.onnx')).toThrow(
      'Expected an image denoiser (one float32 input and one float32 output [N, C, H, W]) for add.onnx but received a model with 2 input(s) (a: int64[3], b: int64[3]) and 1 output(s) (c: int64[3])',
    );
    expect(() => describeModel([{ name: 'x', type: 'float32', shape: [1, 28, 28] }], out(), {}, 'm')).toThrow(/received input x: float32\[1, 28, 28\]/);
    expect(() => describeModel(image('C'), out('C'), {}, 'm')).toThrow(/neither fixed in its shape nor in the metadata/);
    expect(() => describeModel(image(1), out(3), {}, 'm')).toThrow(/1 input channels but 3 output channels/);
    expect(() => describeModel(image(1), out(), { channels: '3' }, 'm')).toThrow(/input channels 1 but metadata channels 3/);
    expect(() => describeModel(image(1), out(), { value_range: '[1, 0]' }, 'm')).toThrow(/metadata value_range "\[1, 0\]"/);
  });
});

describe('checkModelOutput: bad outputs', () => {
  it('refuses an output whose shape is not the input\'s, naming the model', () => {
    const dims = [1, 1, 4, 6];
    expect(() => checkModelOutput('m.onnx', dims, { data: new Float32Array(6), dims: [1, 1, 2, 3] })).toThrow("Expected an output of [1, 1, 4, 6] (the input's N, C, H, W) from m.onnx but received [1, 1, 2, 3]: it is not a denoiser that keeps the image size");
    // The same number of values in another layout is no better.
    expect(() => checkModelOutput('m.onnx', dims, { data: new Float32Array(24), dims: [1, 1, 6, 4] })).toThrow(/received \[1, 1, 6, 4\]/);
    expect(() => checkModelOutput('m.onnx', dims, { data: new Float32Array(24), dims: [1, 24] })).toThrow(/received \[1, 24\]/);
    expect(() => checkModelOutput('m.onnx', dims, { data: new Int32Array(24), dims })).toThrow('Expected a float32 output from m.onnx but received Int32Array');
  });

  it('refuses NaN and infinite values, saying where the first is and how many there are', () => {
    const dims = [1, 1, 2, 2];
    expect(() => checkModelOutput('m.onnx', dims, { data: new Float32Array([0.5, NaN, 0.25, NaN]), dims })).toThrow('Expected finite output values from m.onnx but received NaN at index 1 (2 of 4 values not finite)');
    expect(() => checkModelOutput('m.onnx', dims, { data: new Float32Array([0, 0, 0, -Infinity]), dims })).toThrow('Expected finite output values from m.onnx but received -Infinity at index 3 (1 of 4 values not finite)');
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

  it('describes a model: channels, range, size multiple, receptive field from the spec', () => {
    const spec = JSON.stringify({ name: 'tiny', layers: [{ name: 'c', kind: 'conv2d', kernelSize: 3, strides: 2, padding: 'same' }, { name: 'd', kind: 'conv2dTranspose', kernelSize: 3, strides: 2, padding: 'same' }] });
    const info = describeModel(image(), out(), { value_range: '0, 255', size_multiple: '3', spec }, 'm.onnx');
    expect(info).toMatchObject({ source: 'm.onnx', inputName: 'image', outputName: 'denoised', channels: 1, valueRange: [0, 255], name: 'tiny' });
    // lcm(3, the spec's stride 2) = 6
    expect(info.sizeMultiple).toBe(6);
    expect(info.receptiveField?.stride).toBe(2);
    const plain = describeModel(image('C'), out('C'), { channels: '3', value_range: '{"min":-1,"max":1}' }, 'm');
    expect(plain).toMatchObject({ channels: 3, valueRange: [-1, 1], sizeMultiple: 1, receptiveField: undefined });
    expect(plain.fixedSize).toBeUndefined();
    expect(describeModel([{ name: 'x', type: 'float32', shape: [1, 1, 28, 28] }], out(), {}, 'm').fixedSize).toEqual([28, 28]);
  });
});
