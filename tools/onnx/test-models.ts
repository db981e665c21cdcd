// Small ONNX models for the runtime tests, written with onnx-proto: identity, 3x3 box blur, a shift, a shift by the noise map, the noise-reducer's shape, and broken ones (half size, NaN).
import onnxProto, { type onnx as Onnx } from 'onnx-proto';
import { Rng } from 'onnx-denoiser-common';

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

/** Metadata written into a test model's metadata_props (string values, as an exporter writes them). */
export type TestMetadata = Record<string, string>;

function valueInfo(name: string, channels: number | string): Onnx.IValueInfoProto {
  const dim = (d: number | string) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d });
  return {
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: [dim('N'), dim(channels), dim('H'), dim('W')] } } },
  };
}

function floatTensor(name: string, dims: number[], values: ArrayLike<number>): Onnx.ITensorProto {
  return { name, dataType: FLOAT, dims, floatData: Array.from(values) };
}

function int64Tensor(name: string, dims: number[], values: number[]): Onnx.ITensorProto {
  return { name, dataType: INT64, dims, int64Data: values };
}

function attrInts(name: string, ints: number[]): Onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INTS, ints };
}

function attrString(name: string, value: string): Onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(value) };
}

function encode(nodes: Onnx.INodeProto[], initializer: Onnx.ITensorProto[], channels: number, metadata: TestMetadata, opset = 13, extraInputs: Onnx.IValueInfoProto[] = []): Uint8Array {
  const model: Onnx.IModelProto = {
    irVersion: 7,
    producerName: 'onnx-denoiser-tests',
    opsetImport: [{ domain: '', version: opset }],
    graph: {
      name: 'test',
      node: nodes,
      initializer,
      input: [valueInfo('image', channels), ...extraInputs],
      output: [valueInfo('denoised', channels)],
    },
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  };
  return onnx.ModelProto.encode(model).finish();
}

/** Default metadata for a 1-channel test model in [0, 1]. */
export function testMetadata(channels = 1, extra: TestMetadata = {}): TestMetadata {
  return { channels: String(channels), value_range: '[0,1]', size_multiple: '1', ...extra };
}

/** output = input. */
export function identityModel(channels = 1, metadata: TestMetadata = testMetadata(channels)): Uint8Array {
  return encode([{ opType: 'Identity', input: ['image'], output: ['denoised'] }], [], channels, metadata);
}

/** output = input + offset (per channel the same), to see which value range the runtime maps pixels to. */
export function offsetModel(offset: number, channels = 1, metadata: TestMetadata = testMetadata(channels)): Uint8Array {
  return encode([{ opType: 'Add', input: ['image', 'offset'], output: ['denoised'] }], [floatTensor('offset', [], [offset])], channels, metadata);
}

/** 3x3 box blur per channel with zero padding (a depthwise Conv with weights 1/9). */
export function boxBlurModel(channels = 1, metadata: TestMetadata = testMetadata(channels)): Uint8Array {
  const weights = new Array(channels * 9).fill(1 / 9);
  return encode(
    [{ opType: 'Conv', input: ['image', 'w'], output: ['denoised'], attribute: [attrInts('kernel_shape', [3, 3]), attrInts('pads', [1, 1, 1, 1]), { name: 'group', type: onnx.AttributeProto.AttributeType.INT, i: channels }] }],
    [floatTensor('w', [channels, 1, 3, 3], weights)],
    channels,
    metadata,
  );
}

/** `count` numbers `map(u)` for the project's seeded uniforms u in [0, 1) (computed in double before the float32 store). */
function seeded(seed: number, count: number, map: (u: number) => number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = map(rng.nextFloat());
  return out;
}

/** Deterministic numbers in [0, 1] (the project's {@link Rng}; the float32 store may round the top draws to 1): test inputs and weights, the same for a seed on every machine. */
export function uniforms(seed: number, count: number): Float32Array {
  return seeded(seed, count, (u) => u);
}

/** Deterministic numbers in [-1, 1] from the same generator. */
function randoms(seed: number, count: number): Float32Array {
  return seeded(seed, count, (u) => u * 2 - 1);
}

/** The metadata an export of the noise-reducer states for tiling: size multiple 4, receptive field [-7, 7]. */
export function noiseReducerLikeMetadata(channels = 1): TestMetadata {
  return testMetadata(channels, { size_multiple: '4', receptive_field: '-7,7' });
}

/**
 * The noise-reducer's architecture with seeded random weights: pad H and W up to multiples of 4 (edge), Conv(16, s2) ->
 * Conv(8, s2) -> ConvTranspose(8, s2) -> ConvTranspose(16, s2) -> Conv(C, sigmoid), then crop back: any H, W works.
 * Its pads are the emitter's (begin 0 for the strided layers), so the receptive field is the tutorial network's.
 */
export function noiseReducerLikeModel(seed = 1, channels = 1, metadata: TestMetadata = noiseReducerLikeMetadata(channels)): Uint8Array {
  const layers: { name: string; dims: number[] }[] = [
    { name: 'c1', dims: [16, channels, 3, 3] },
    { name: 'c2', dims: [8, 16, 3, 3] },
    { name: 'd1', dims: [8, 8, 3, 3] },
    { name: 'd2', dims: [8, 16, 3, 3] },
    { name: 'c5', dims: [channels, 16, 3, 3] },
  ];
  const init: Onnx.ITensorProto[] = [];
  layers.forEach((layer, i) => {
    const count = layer.dims.reduce((a, b) => a * b, 1);
    const fanIn = (layer.name.startsWith('d') ? layer.dims[0]! : layer.dims[1]!) * 9;
    const scale = Math.sqrt(3 / fanIn);
    init.push(floatTensor(`${layer.name}.w`, layer.dims, randoms(seed * 100 + i, count).map((v) => v * scale)));
    const outChannels = layer.name.startsWith('d') ? layer.dims[1]! : layer.dims[0]!;
    init.push(floatTensor(`${layer.name}.b`, [outChannels], randoms(seed * 100 + 50 + i, outChannels).map((v) => v * 0.1)));
  });
  init.push(int64Tensor('hw_idx', [2], [2, 3]), int64Tensor('four', [], [4]), int64Tensor('zeros6', [6], [0, 0, 0, 0, 0, 0]), int64Tensor('axes', [2], [2, 3]), int64Tensor('starts', [2], [0, 0]));
  const conv = (name: string, input: string, output: string, strided: boolean): Onnx.INodeProto => ({
    opType: 'Conv',
    input: [input, `${name}.w`, `${name}.b`],
    output: [output],
    attribute: strided ? [attrInts('kernel_shape', [3, 3]), attrInts('strides', [2, 2]), attrString('auto_pad', 'SAME_UPPER')] : [attrInts('kernel_shape', [3, 3]), attrInts('pads', [1, 1, 1, 1])],
  });
  const deconv = (name: string, input: string, output: string): Onnx.INodeProto => ({
    opType: 'ConvTranspose',
    input: [input, `${name}.w`, `${name}.b`],
    output: [output],
    attribute: [attrInts('kernel_shape', [3, 3]), attrInts('strides', [2, 2]), attrInts('pads', [0, 0, 1, 1])],
  });
  const nodes: Onnx.INodeProto[] = [
    { opType: 'Shape', input: ['image'], output: ['shape'] },
    { opType: 'Gather', input: ['shape', 'hw_idx'], output: ['hw'] },
    { opType: 'Mod', input: ['hw', 'four'], output: ['hw_mod'] },
    { opType: 'Sub', input: ['four', 'hw_mod'], output: ['hw_rest'] },
    { opType: 'Mod', input: ['hw_rest', 'four'], output: ['hw_pad'] },
    { opType: 'Concat', input: ['zeros6', 'hw_pad'], output: ['pads'], attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 }] },
    { opType: 'Pad', input: ['image', 'pads'], output: ['padded'], attribute: [attrString('mode', 'edge')] },
    conv('c1', 'padded', 'c1.y', true),
    { opType: 'Relu', input: ['c1.y'], output: ['c1.r'] },
    conv('c2', 'c1.r', 'c2.y', true),
    { opType: 'Relu', input: ['c2.y'], output: ['c2.r'] },
    deconv('d1', 'c2.r', 'd1.y'),
    { opType: 'Relu', input: ['d1.y'], output: ['d1.r'] },
    deconv('d2', 'd1.r', 'd2.y'),
    { opType: 'Relu', input: ['d2.y'], output: ['d2.r'] },
    conv('c5', 'd2.r', 'c5.y', false),
    { opType: 'Sigmoid', input: ['c5.y'], output: ['full'] },
    { opType: 'Slice', input: ['full', 'starts', 'hw', 'axes'], output: ['denoised'] },
  ];
  return encode(nodes, init, channels, metadata);
}

/** A foreign model that passes every static check ([N, C, H, W] float32, free sizes) but returns half the height and width (2x2 average pooling). */
export function halfSizeModel(channels = 1): Uint8Array {
  return encode([{ opType: 'AveragePool', input: ['image'], output: ['denoised'], attribute: [attrInts('kernel_shape', [2, 2]), attrInts('strides', [2, 2])] }], [], channels, testMetadata(channels));
}

/** A model whose output is NaN everywhere: (x - x) / (x - x). */
export function nanModel(channels = 1): Uint8Array {
  return encode(
    [
      { opType: 'Sub', input: ['image', 'image'], output: ['zero'] },
      { opType: 'Div', input: ['zero', 'zero'], output: ['denoised'] },
    ],
    [],
    channels,
    testMetadata(channels),
  );
}

/**
 * output = image + noise_map (the map broadcast over the channels): a model with a noise map whose output shows the
 * level each pixel was told. Its metadata is onnx-denoiser's (format version 3), as only that declares a map.
 */
export function noiseMapOffsetModel(channels = 3): Uint8Array {
  const spec = { format: 'onnx-denoiser/spec', version: 1, name: 'map-offset', input: { name: 'image', channels, noiseMap: 'noise_map' }, layers: [], output: 'denoised' };
  const metadata: TestMetadata = {
    format: 'onnx-denoiser/model',
    format_version: '3',
    name: 'map-offset',
    spec: JSON.stringify(spec),
    channels: String(channels),
    value_range: '0,1',
    size_multiple: '1',
    receptive_field: '0,0',
    noise_map: 'noise_map',
    layout: 'NCHW',
    precision: 'float32',
    content_sha256: '0'.repeat(64),
  };
  return encode([{ opType: 'Add', input: ['image', 'noise_map'], output: ['denoised'] }], [], channels, metadata, 13, [valueInfo('noise_map', 1)]);
}

/** A valid ONNX model that is no denoiser: two int64 inputs added. */
export function foreignModel(): Uint8Array {
  const model: Onnx.IModelProto = {
    irVersion: 7,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'add',
      node: [{ opType: 'Add', input: ['a', 'b'], output: ['c'] }],
      input: [
        { name: 'a', type: { tensorType: { elemType: INT64, shape: { dim: [{ dimValue: 3 }] } } } },
        { name: 'b', type: { tensorType: { elemType: INT64, shape: { dim: [{ dimValue: 3 }] } } } },
      ],
      output: [{ name: 'c', type: { tensorType: { elemType: INT64, shape: { dim: [{ dimValue: 3 }] } } } }],
    },
  };
  return onnx.ModelProto.encode(model).finish();
}
