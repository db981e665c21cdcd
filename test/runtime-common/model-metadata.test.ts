// The one metadata reader: foreign, corrupt and invalid models rejected naming the source and key; foreign models read when accepted; round trips; browser-safe.
import { build } from 'esbuild';
import onnxProto, { type onnx as Onnx } from 'onnx-proto';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import {
  bitmapPixelFormat,
  decodeDenoiserMetadata,
  encodeDenoiserMetadata,
  describeNoise,
  MODEL_FORMAT,
  ModelFormatError,
  type DenoiserMetadata,
} from '../../runtime-common/model-metadata.js';
import { decodeOnnxModel, int64ToNumber, readModelMetadata } from '../../runtime-common/onnx-model.js';

const { onnx } = onnxProto;

const spec = {
  format: 'onnx-denoiser/spec',
  version: 1,
  name: 'tiny',
  description: '',
  input: { name: 'image', channels: 1 },
  layers: [{ kind: 'conv2d', name: 'a', inputs: ['image'], filters: 1, kernelSize: [1, 1], strides: [1, 1], padding: 'same', activation: 'linear', useBias: true }],
  output: 'a',
};

const full: DenoiserMetadata = {
  formatVersion: 2,
  name: 'tiny',
  spec,
  channels: 1,
  valueRange: [0, 1],
  sizeMultiple: 4,
  receptiveField: { low: -3, high: 4, radius: 4 },
  layout: 'NCHW',
  precision: 'float16',
  noise: { kind: 'gaussian', factor: 0.4 },
  training: { data: 'fashion-mnist (60000 train / 10000 validation images)', epochs: 10, valLoss: 0.01, valPsnr: 22.5, noisyPsnr: 11.75 },
  contentHash: 'ab'.repeat(32),
  image: { bitmapPixelFormat: 'Gray8', colorSpaceGamma: 'SRGB', nominalPixelRange: 'Normalized_0_1' },
};

/** A one-node ONNX model (Identity) with the given metadata_props. */
function model(props: Record<string, string>, extra: Partial<Onnx.IModelProto> = {}): Uint8Array {
  const info = (name: string): Onnx.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimParam: 'N' }, { dimValue: 1 }, { dimParam: 'H' }, { dimParam: 'W' }] } } },
  });
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'test',
    producerVersion: '1.2.3',
    modelVersion: 7,
    graph: { name: 'g', node: [{ opType: 'Identity', name: 'id', input: ['image'], output: ['denoised'] }], input: [info('image')], output: [info('denoised')] },
    metadataProps: Object.entries(props).map(([key, value]) => ({ key, value })),
    ...extra,
  }).finish();
}

function errorOf(run: () => unknown): ModelFormatError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ModelFormatError);
    return error as ModelFormatError;
  }
  throw new Error('expected a ModelFormatError');
}

describe('readModelMetadata: bad files', () => {
  it('rejects an empty file, naming the source', () => {
    const error = errorOf(() => readModelMetadata(new Uint8Array(), 'empty.onnx'));
    expect(error.message).toBe('Expected an ONNX model file for empty.onnx but received an empty file');
    expect(error.argument).toBe('empty.onnx');
  });

  it('rejects a PNG, a truncated model and text', () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
    expect(errorOf(() => readModelMetadata(png, 'photo.png')).message).toMatch(/^Expected an ONNX model file for photo\.png but received /);
    const bytes = model(encodeDenoiserMetadata(full));
    expect(errorOf(() => readModelMetadata(bytes.subarray(0, bytes.length - 9), 'cut.onnx')).message).toMatch(/^Expected an ONNX model file for cut\.onnx but received bytes that are not one/);
    expect(errorOf(() => readModelMetadata(new TextEncoder().encode('{"format": "onnx-denoiser/spec"}'), 'spec.json')).message).toMatch(/^Expected an ONNX model file for spec\.json/);
  });

  it('rejects a foreign ONNX model (no onnx-denoiser metadata)', () => {
    expect(errorOf(() => readModelMetadata(model({ author: 'someone' }), 'resnet.onnx')).message).toBe(
      'Expected an onnx-denoiser model (metadata "format" = "onnx-denoiser/model") for resnet.onnx but received a model without it',
    );
    expect(errorOf(() => readModelMetadata(model({ format: 'other' }), 'x.onnx')).message).toMatch(/but received format "other"$/);
  });

  it.each([
    ['format_version', '4', 'a supported format version (1, 2, 3)'],
    ['format_version', 'one', 'an integer >= 1'],
    ['channels', '0', 'an integer >= 1 and <= 4'],
    ['channels', '1.5', 'an integer >= 1 and <= 4'],
    ['size_multiple', '', 'a non-empty value'],
    ['size_multiple', '4px', 'an integer >= 1'],
    ['value_range', '1,0', '"low,high" (or "[low, high]") with low < high'],
    ['value_range', '0;1', '"low,high" (or "[low, high]") with low < high'],
    ['value_range', '[0,1', '"low,high" (or "[low, high]") with low < high'],
    ['receptive_field', '', 'a non-empty value'],
    ['receptive_field', '-3', '"low,high": integers with low <= 0 <= high'],
    ['receptive_field', '-2.5,2', '"low,high": integers with low <= 0 <= high'],
    ['receptive_field', '1,4', '"low,high": integers with low <= 0 <= high'],
    ['spec', '{not json', 'the layer spec as JSON'],
    ['spec', '{"format":"keras"}', 'a layer spec (JSON with format "onnx-denoiser/spec", name, input, layers, output)'],
    ['layout', 'NHWC', '"NCHW"'],
    ['precision', 'int8', 'one of "float32", "float16"'],
    ['content_sha256', 'abc', 'a sha256 in 64 lowercase hex digits'],
    ['noise_factor', '-1', 'a number >= 0'],
    ['train_epochs', '2.5', 'an integer >= 0'],
    ['val_psnr', 'high', 'a number'],
  ])('rejects metadata "%s" = %j, naming the key and source', (key, value, accepted) => {
    const props = { ...encodeDenoiserMetadata(full), [key]: value };
    const error = errorOf(() => readModelMetadata(model(props), 'm.onnx'));
    expect(error.message).toBe(`Expected ${accepted} for metadata "${key}" of m.onnx but received ${JSON.stringify(value)}`);
  });

  it('rejects a spec whose channels disagree with metadata "channels"', () => {
    const props = { ...encodeDenoiserMetadata(full), channels: '3' };
    expect(errorOf(() => readModelMetadata(model(props), 'm.onnx')).message).toBe('Expected a spec whose input has 3 channel(s), as metadata "channels" says for metadata "spec" of m.onnx but received "input.channels 1"');
  });

  it('rejects a noise factor without a kind, and a kind without a factor', () => {
    const props = encodeDenoiserMetadata(full);
    const { noise_kind: _, ...noKind } = props;
    expect(errorOf(() => decodeDenoiserMetadata(noKind, 'm')).message).toBe('Expected a value only with metadata "noise_kind" for metadata "noise_factor" of m but received "0.4"');
    const { noise_factor: __, ...noFactor } = props;
    expect(errorOf(() => decodeDenoiserMetadata(noFactor, 'm')).message).toBe('Expected a non-empty value for metadata "noise_factor" of m but received undefined');
  });

  it('rejects a version 2 model without metadata "receptive_field", naming it', () => {
    const { receptive_field: _, ...props } = encodeDenoiserMetadata(full);
    expect(errorOf(() => decodeDenoiserMetadata(props, 'm')).message).toBe('Expected a non-empty value for metadata "receptive_field" of m but received undefined');
  });

  it('rejects invalid values of a foreign model it accepts, and a bad foreign option', () => {
    expect(errorOf(() => decodeDenoiserMetadata({ channels: '9' }, 'f', { foreign: 'accept' })).message).toBe('Expected an integer >= 1 and <= 4 for metadata "channels" of f but received "9"');
    expect(() => decodeDenoiserMetadata({}, 'f', { foreign: 'maybe' as never })).toThrow('Expected one of "refuse", "accept" for options.foreign but received "maybe"');
  });

  it('rejects a noise map in a version 2 model, one the spec does not name, and a spec map the metadata leaves out', () => {
    const mapped = { ...full, formatVersion: 3, noiseMap: 'noise_map', spec: { ...spec, input: { ...spec.input, noiseMap: 'noise_map' } } };
    const props = encodeDenoiserMetadata(mapped);
    expect(errorOf(() => decodeDenoiserMetadata({ ...props, format_version: '2' }, 'm')).message).toBe(
      'Expected no value in a format version 2 model (noise maps came with version 3) for metadata "noise_map" of m but received "noise_map"',
    );
    expect(errorOf(() => decodeDenoiserMetadata({ ...props, noise_map: 'sigma' }, 'm')).message).toBe('Expected the spec\'s input.noiseMap ("noise_map") for metadata "noise_map" of m but received "sigma"');
    const { noise_map: _, ...unnamed } = props;
    expect(errorOf(() => decodeDenoiserMetadata(unnamed, 'm')).message).toBe('Expected a value, the spec\'s input.noiseMap "noise_map" for metadata "noise_map" of m but received none');
  });

  it('rejects a blind range whose top is below its bottom', () => {
    const props = { ...encodeDenoiserMetadata(full), noise_factor_max: '0.1' };
    expect(errorOf(() => decodeDenoiserMetadata(props, 'm')).message).toBe('Expected a number >= metadata "noise_factor" for metadata "noise_factor_max" of m but received "0.1"');
  });
});

describe('readModelMetadata', () => {
  it('returns what was written: every field typed, numbers as numbers, the spec as an object', () => {
    const { metadata, model: summary } = readModelMetadata(model(encodeDenoiserMetadata(full)), 'm.onnx');
    expect(metadata).toEqual(full);
    expect(summary).toMatchObject({ irVersion: 8, opset: 17, producerName: 'test', producerVersion: '1.2.3', modelVersion: 7, graphName: 'g' });
    expect(summary.inputs).toEqual([{ name: 'image', type: 'FLOAT', dims: ['N', 1, 'H', 'W'] }]);
    expect(summary.metadataProps.format).toBe(MODEL_FORMAT);
  });

  it('round-trips a model with a noise map (format version 3)', () => {
    const mapped: DenoiserMetadata = { ...full, formatVersion: 3, noiseMap: 'noise_map', spec: { ...spec, input: { ...spec.input, noiseMap: 'noise_map' } } };
    const props = encodeDenoiserMetadata(mapped);
    expect(props.noise_map).toBe('noise_map');
    expect(decodeDenoiserMetadata(props, 'm')).toEqual(mapped);
  });

  it('round-trips the noise range of a blind model and describes it', () => {
    const blind = { ...full, noise: { kind: 'gaussian', factor: 0.05, maxFactor: 0.6 } };
    const props = encodeDenoiserMetadata(blind);
    expect(props.noise_factor_max).toBe('0.6');
    expect(decodeDenoiserMetadata(props, 'm')).toEqual(blind);
    expect(describeNoise(blind.noise)).toBe('gaussian 0.05 to 0.6 (blind)');
    expect(describeNoise(blind.noise, 'noise_map')).toBe('gaussian 0.05 to 0.6 (level told by a noise map)');
    expect(describeNoise(full.noise!)).toBe('gaussian 0.4');
  });

  it('leaves optional fields out when absent', () => {
    const { noise: _, training: __, ...minimal } = full;
    const minimalMeta = { ...minimal, image: {} } as DenoiserMetadata;
    const props = encodeDenoiserMetadata(minimalMeta);
    expect(Object.keys(props)).toEqual(['format', 'format_version', 'name', 'spec', 'channels', 'value_range', 'size_multiple', 'receptive_field', 'layout', 'precision', 'content_sha256']);
    expect(decodeDenoiserMetadata(props, 'm')).toEqual(minimalMeta);
  });

  it('reads a version 1 export, which predates "receptive_field", without one', () => {
    const { receptiveField: _, ...v1 } = { ...full, formatVersion: 1 };
    const props = encodeDenoiserMetadata(v1);
    expect(props).not.toHaveProperty('receptive_field');
    expect(decodeDenoiserMetadata(props, 'm')).toEqual(v1);
  });

  it('with foreign: "accept", reads what a foreign model states of the keys a runtime needs, and strict metadata as ever', () => {
    expect(decodeDenoiserMetadata({ author: 'someone' }, 'f', { foreign: 'accept' })).toEqual({ foreign: true });
    const stated = { format: 'other', name: 'theirs', channels: '3', value_range: '[0, 255]', size_multiple: '8', receptive_field: '-20,20', spec: '{not json' };
    expect(decodeDenoiserMetadata(stated, 'f', { foreign: 'accept' })).toEqual({ foreign: true, name: 'theirs', channels: 3, valueRange: [0, 255], sizeMultiple: 8, receptiveField: { low: -20, high: 20, radius: 20 } });
    expect(decodeDenoiserMetadata(encodeDenoiserMetadata(full), 'm', { foreign: 'accept' })).toEqual(full);
  });

  it('names standard pixel formats and converts int64s', () => {
    expect([1, 2, 3, 4].map(bitmapPixelFormat)).toEqual(['Gray8', undefined, 'Rgb8', 'Rgba8']);
    expect(int64ToNumber({ low: 5, high: 1, unsigned: false })).toBe(2 ** 32 + 5);
    expect(int64ToNumber(7)).toBe(7);
    expect(decodeOnnxModel(model({}, { irVersion: 10 }), 'm').model.irVersion).toBe(10);
  });

  it('bundles for the browser (no Node built-ins) and reads a model inside a bare JS realm; the reader itself needs no onnx-proto', async () => {
    const bundle = async (entry: string) =>
      (await build({ entryPoints: [entry], bundle: true, platform: 'browser', format: 'iife', globalName: 'metadataReader', write: false, logLevel: 'silent' })).outputFiles[0]!.text;
    const code = await bundle('runtime-common/onnx-model.ts');
    expect(code).not.toMatch(/require\(["']node:|onnxruntime/);
    expect(await bundle('runtime-common/model-metadata.ts')).not.toMatch(/protobuf|onnx-proto|require\(/);
    // A realm with only the JS built-ins plus TextEncoder/TextDecoder, as a browser page has: no require, process or Buffer.
    const context = vm.createContext({ TextDecoder, TextEncoder });
    vm.runInContext(code, context);
    const source = model(encodeDenoiserMetadata(full));
    const inner = vm.runInContext(`new Uint8Array(${source.length})`, context) as Uint8Array;
    inner.set(source);
    context.bytes = inner;
    const read = vm.runInContext('metadataReader.readModelMetadata(bytes, "browser.onnx").metadata', context);
    expect(JSON.parse(JSON.stringify(read))).toEqual(full);
  });
});
