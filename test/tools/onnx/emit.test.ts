// The emitter's contract: bad calls rejected with the standard message, structure invariants, pads, layouts and metadata.
import onnxProto, { type onnx as Onnx } from 'onnx-proto';
import { beforeAll, describe, expect, it } from 'vitest';
import { METADATA_KEYS } from '../../../runtime-common/model-metadata.js';
import { decodeOnnxModel, int64ToNumber, readModelMetadata } from '../../../runtime-common/onnx-model.js';
import type { WeightTensor } from '../../../tools/model/build-tfjs.js';
import { ACTIVATION_EMITTERS, checkStaticPads, emitOnnx, ONNX_EMITTERS, packageInfo, permuteKernel } from '../../../tools/onnx/emit.js';
import { float16BytesToFloat32 } from '../../../tools/onnx/float16.js';
import { OPSET_IR_VERSIONS } from '../../../tools/onnx/onnx-graph.js';
import { structureProblems } from '../../../tools/onnx/structure.js';
import { ACTIVATIONS, convPads, convTransposePads, deconvOutputLength, LAYER_KIND_NAMES, tfSamePads } from '../../../tools/layers/layer-registry.js';
import { loadSpec, weightDefs, type NetworkSpec } from '../../../tools/layers/spec.js';
import { randomWeights, testSpec } from './parity-helpers.js';
import { thrownMessage } from '../../validation-message.js';

const { onnx } = onnxProto;

let seed: NetworkSpec;
let weights: Map<string, WeightTensor>;

beforeAll(async () => {
  seed = await loadSpec('models/noise-reducer.json');
  weights = randomWeights(seed, 3);
});

describe('emitOnnx: bad calls', () => {
  it('rejects an unsupported opset, listing the supported ones', () => {
    expect(thrownMessage(() => emitOnnx(seed, weights, { opset: 16 }))).toBe('Expected one of 17, 18, 19, 20, 21 for opset but received 16');
    expect(thrownMessage(() => emitOnnx(seed, weights, { opset: 22 }))).toBe('Expected one of 17, 18, 19, 20, 21 for opset but received 22');
  });

  it('rejects a layer kind without an emitter, naming the layer', () => {
    const spec = structuredClone(seed);
    (spec.layers[1] as { kind: string }).kind = 'dense';
    expect(thrownMessage(() => emitOnnx(spec, weights))).toBe(
      'Expected a layer kind the ONNX emitter knows ("conv2d", "conv2dTranspose", "add", "subtract", "concat", "clip") for layers[1] ("encoder_conv2").kind but received "dense"',
    );
  });

  it('rejects weights that disagree with the spec, naming the tensor and both shapes', () => {
    const wrong = new Map(weights);
    wrong.set('decoder_deconv1.kernel', { shape: [3, 3, 16, 8], data: new Float32Array(3 * 3 * 16 * 8) });
    expect(thrownMessage(() => emitOnnx(seed, wrong, { source: 'w.safetensors' }))).toBe('Expected shape [3, 3, 8, 8] for tensor "decoder_deconv1.kernel" in w.safetensors but received [3, 3, 16, 8]');
    const missing = new Map(weights);
    missing.delete('encoder_conv1.bias');
    expect(thrownMessage(() => emitOnnx(seed, missing))).toBe('Expected shape [16] for tensor "encoder_conv1.bias" in weights but received no tensor of that name');
  });

  it('rejects non-finite weights, naming the tensor and index', () => {
    const bad = new Map(weights);
    const data = Float32Array.from(weights.get('encoder_conv2.kernel')!.data);
    data[5] = NaN;
    bad.set('encoder_conv2.kernel', { shape: [3, 3, 16, 8], data });
    expect(thrownMessage(() => emitOnnx(seed, bad, { source: 'w.safetensors' }))).toBe('Expected finite values for tensor "encoder_conv2.kernel" in w.safetensors but received NaN at index 5');
  });

  it('rejects an output name that the input or a layer uses', () => {
    expect(thrownMessage(() => emitOnnx(seed, weights, { outputName: 'encoder_conv1' }))).toBe('Expected a name that neither an input nor a layer uses for outputName but received "encoder_conv1"');
    expect(thrownMessage(() => emitOnnx(seed, weights, { outputName: 'has space' }))).toMatch(/for outputName but received "has space"/);
  });

  it('rejects a spec whose output never keeps the input size', () => {
    const shrinking = testSpec([{ name: 'a', kind: 'conv2d', filters: 1, kernelSize: 3 }]);
    expect(thrownMessage(() => emitOnnx(shrinking, randomWeights(shrinking, 1)))).toBe(
      'Expected a spec whose output keeps the input size for inputs that are multiples of some size (see tools summary) for spec "t" but received one whose output size differs from its input size for every multiple up to 256',
    );
  });

  it('checkStaticPads rejects a multiple under which a strided "same" Conv would see an odd size', () => {
    expect(thrownMessage(() => checkStaticPads(seed, 2))).toBe('Expected a layer whose input height is a multiple of its stride 2 for every input padded to a multiple of 2 for layers[1] ("encoder_conv2") but received "height 1"');
    expect(() => checkStaticPads(seed, 4)).not.toThrow();
  });
});

describe('tables cover the registry', () => {
  it('has one emitter per layer kind and one rendering per activation', () => {
    expect(Object.keys(ONNX_EMITTERS).sort()).toEqual([...LAYER_KIND_NAMES].sort());
    expect(Object.keys(ACTIVATION_EMITTERS).sort()).toEqual([...ACTIVATIONS].sort());
  });
});

describe('pads', () => {
  it('static Conv pads equal TF "same" pads for every size that is a multiple of the stride', () => {
    for (let k = 1; k <= 7; k++) {
      for (let s = 1; s <= 4; s++) {
        for (let size = s; size <= 12 * s; size += s) expect(convPads(k, s, 'same'), `k${k} s${s} n${size}`).toEqual(tfSamePads(size, k, s));
        expect(convPads(k, s, 'valid')).toEqual([0, 0]);
      }
    }
    expect(tfSamePads(7, 3, 2)).toEqual([1, 1]);
    expect(tfSamePads(8, 3, 2)).toEqual([0, 1]);
  });

  it('ConvTranspose pads give TF output lengths (k3 s2 same: [0, 1])', () => {
    expect(convTransposePads(3, 2, 'same')).toEqual({ pads: [0, 1], outputPadding: 0 });
    expect(convTransposePads(4, 2, 'same')).toEqual({ pads: [1, 1], outputPadding: 0 });
    expect(convTransposePads(5, 1, 'same')).toEqual({ pads: [2, 2], outputPadding: 0 });
    expect(convTransposePads(3, 2, 'valid')).toEqual({ pads: [0, 0], outputPadding: 0 });
    expect(convTransposePads(1, 2, 'same')).toEqual({ pads: [0, 0], outputPadding: 1 });
    for (const padding of ['same', 'valid'] as const) {
      for (let k = 1; k <= 7; k++) {
        for (let s = 1; s <= 4; s++) {
          const { pads, outputPadding } = convTransposePads(k, s, padding);
          for (let n = 1; n <= 9; n++) {
            // ONNX: s * (n - 1) + output_padding + k - pads_begin - pads_end
            expect(s * (n - 1) + outputPadding + k - pads[0] - pads[1], `${padding} k${k} s${s} n${n}`).toBe(deconvOutputLength(n, k, s, padding));
          }
          expect(pads[1] - pads[0]).toBeGreaterThanOrEqual(0);
          expect(pads[1] - pads[0]).toBeLessThanOrEqual(1);
        }
      }
    }
  });
});

describe('weight layouts', () => {
  it('moves every kernel value to its ONNX index: HWIO -> OIHW and [kh, kw, out, in] -> [in, out, kh, kw]', () => {
    const [kh, kw, a, b] = [2, 3, 4, 5];
    const data = Float32Array.from({ length: kh * kw * a * b }, (_, i) => i);
    const conv = permuteKernel({ shape: [kh, kw, a, b], data }, 'hwio', 'oihw');
    expect(conv.dims).toEqual([b, a, kh, kw]);
    const deconv = permuteKernel({ shape: [kh, kw, a, b], data }, 'hwoi', 'iohw');
    expect(deconv.dims).toEqual([b, a, kh, kw]);
    for (let y = 0; y < kh; y++) {
      for (let x = 0; x < kw; x++) {
        for (let i = 0; i < a; i++) {
          for (let o = 0; o < b; o++) {
            const tf = data[((y * kw + x) * a + i) * b + o];
            expect(conv.data[((o * a + i) * kh + y) * kw + x]).toBe(tf);
            expect(deconv.data[((o * a + i) * kh + y) * kw + x]).toBe(tf);
          }
        }
      }
    }
  });
});

function attribute(node: Onnx.INodeProto, name: string): number[] | string | number | undefined {
  const a = node.attribute?.find((x) => x.name === name);
  if (!a) return undefined;
  if (a.ints?.length) return a.ints.map(int64ToNumber);
  if (a.s?.length) return new TextDecoder().decode(a.s);
  return a.i !== undefined && a.i !== null ? int64ToNumber(a.i) : a.f ?? undefined;
}

describe('the emitted model', () => {
  it('is structurally sound for every option and opset', () => {
    for (const options of [{}, { fp16: true }, { symmetricPads: true }, { opset: 19 }, { opset: 21, fp16: true, symmetricPads: true }]) {
      const { model, bytes } = emitOnnx(seed, weights, options);
      expect(structureProblems(model), JSON.stringify(options)).toEqual([]);
      // The bytes decode to the same structure.
      expect(structureProblems(onnx.ModelProto.decode(bytes)), JSON.stringify(options)).toEqual([]);
    }
  });

  it('has unique node and tensor names, topological order and every initializer read', () => {
    const { model } = emitOnnx(seed, weights);
    const graph = model.graph!;
    const nodes = graph.node!;
    expect(new Set(nodes.map((n) => n.name)).size).toBe(nodes.length);
    const produced = new Set<string>(['image', ...graph.initializer!.map((t) => t.name!)]);
    for (const node of nodes) {
      for (const input of node.input!) expect(produced.has(input), `${node.name} reads ${input}`).toBe(true);
      for (const output of node.output!) {
        expect(produced.has(output), `${output} produced twice`).toBe(false);
        produced.add(output);
      }
    }
    const read = new Set(nodes.flatMap((n) => n.input!));
    for (const init of graph.initializer!) expect(read.has(init.name!), init.name!).toBe(true);
    expect(nodes.at(-1)!.output).toEqual(['denoised']);
  });

  it('pairs each opset with its IR version and carries names, producer and docs', () => {
    for (const [opset, ir] of Object.entries(OPSET_IR_VERSIONS)) {
      const { model } = decodeOnnxModel(emitOnnx(seed, weights, { opset: Number(opset) }).bytes, 'm');
      expect([model.opset, model.irVersion]).toEqual([Number(opset), ir]);
    }
    expect(OPSET_IR_VERSIONS).toEqual({ 17: 8, 18: 8, 19: 9, 20: 9, 21: 10 });
    const { model } = decodeOnnxModel(emitOnnx(seed, weights).bytes, 'm');
    expect(model.graphName).toBe('noise-reducer');
    expect(model.producerName).toBe('onnx-denoiser-tools');
    expect(model.producerVersion).toBe(packageInfo().version);
    expect(model.domain).toBe('onnx-denoiser');
    expect(model.modelVersion).toBe(1);
    expect(model.docString).toMatch(/padded up to a multiple of 4 by edge replication/);
    expect(model.inputs).toEqual([{ name: 'image', type: 'FLOAT', dims: ['N', 1, 'H', 'W'] }]);
    expect(model.outputs).toEqual([{ name: 'denoised', type: 'FLOAT', dims: ['N', 1, 'H', 'W'] }]);
  });

  it('names initializers as the spec weights, in ONNX layout, documenting the layout change', () => {
    const { model } = emitOnnx(seed, weights);
    const inits = new Map(model.graph!.initializer!.map((t) => [t.name!, t]));
    for (const def of weightDefs(seed)) expect(inits.has(def.name), def.name).toBe(true);
    const conv = inits.get('encoder_conv2.kernel')!;
    expect(conv.dims!.map(int64ToNumber)).toEqual([8, 16, 3, 3]);
    expect(conv.docString).toBe('TF HWIO [kh, kw, in, out] [3, 3, 16, 8] transposed to ONNX Conv OIHW [out, in, kh, kw] [8, 16, 3, 3]');
    const deconv = inits.get('decoder_deconv2.kernel')!;
    expect(deconv.dims!.map(int64ToNumber)).toEqual([8, 16, 3, 3]);
    expect(deconv.docString).toBe('TF transposed-conv [kh, kw, out, in] [3, 3, 16, 8] transposed to ONNX ConvTranspose [in, out, kh, kw] [8, 16, 3, 3]');
    expect(inits.get('encoder_conv1.bias')!.dataType).toBe(onnx.TensorProto.DataType.FLOAT);
  });

  it('writes explicit pads (TF "same": the odd pad at the end), never auto_pad, and edge padding of the input', () => {
    const nodes = emitOnnx(seed, weights).model.graph!.node!;
    const byName = new Map(nodes.map((n) => [n.name!, n]));
    expect(attribute(byName.get('encoder_conv1/Conv')!, 'pads')).toEqual([0, 0, 1, 1]);
    expect(attribute(byName.get('decoder_deconv1/ConvTranspose')!, 'pads')).toEqual([0, 0, 1, 1]);
    expect(attribute(byName.get('decoder_output/Conv')!, 'pads')).toEqual([1, 1, 1, 1]);
    expect(nodes.some((n) => attribute(n, 'auto_pad') !== undefined)).toBe(false);
    expect(attribute(byName.get('image/Pad')!, 'mode')).toBe('edge');
    expect(nodes.map((n) => n.opType).slice(0, 7)).toEqual(['Shape', 'Gather', 'Mod', 'Sub', 'Mod', 'Concat', 'Pad']);
  });

  it('symmetricPads: ConvTranspose pads [0, 0, 0, 0] and a Slice cutting one row and column at the end', () => {
    const nodes = emitOnnx(seed, weights, { symmetricPads: true }).model.graph!.node!;
    const deconv = nodes.find((n) => n.name === 'decoder_deconv1/ConvTranspose')!;
    expect(attribute(deconv, 'pads')).toEqual([0, 0, 0, 0]);
    const slice = nodes.find((n) => n.name === 'decoder_deconv1/Slice')!;
    expect(slice.input).toEqual(['decoder_deconv1/uncropped', 'decoder_deconv1/crop_starts', 'decoder_deconv1/crop_ends', 'decoder_deconv1/crop_axes']);
    expect(nodes.filter((n) => n.opType === 'ConvTranspose').every((n) => {
      const p = attribute(n, 'pads') as number[];
      return p[0] === p[2] && p[1] === p[3];
    })).toBe(true);
  });

  it('fp16: float16 initializers (correctly rounded), Casts after the input and before the output, float32 I/O', () => {
    const { model, metadata } = emitOnnx(seed, weights, { fp16: true });
    const graph = model.graph!;
    expect(metadata.precision).toBe('float16');
    expect(graph.input![0]!.type!.tensorType!.elemType).toBe(onnx.TensorProto.DataType.FLOAT);
    expect(graph.output![0]!.type!.tensorType!.elemType).toBe(onnx.TensorProto.DataType.FLOAT);
    const casts = graph.node!.filter((n) => n.opType === 'Cast');
    expect(casts.map((n) => [n.name, attribute(n, 'to')])).toEqual([
      ['image/Cast', onnx.TensorProto.DataType.FLOAT16],
      ['denoised/Cast', onnx.TensorProto.DataType.FLOAT],
    ]);
    const bias = graph.initializer!.find((t) => t.name === 'encoder_conv1.bias')!;
    expect(bias.dataType).toBe(onnx.TensorProto.DataType.FLOAT16);
    expect(bias.docString).toMatch(/stored as float16/);
    const values = float16BytesToFloat32(bias.rawData as Uint8Array);
    const original = weights.get('encoder_conv1.bias')!.data;
    for (let i = 0; i < values.length; i++) expect(Math.abs(values[i]! - original[i]!)).toBeLessThanOrEqual(Math.abs(original[i]!) * 2 ** -11 + 2 ** -25);
  });

  it('relu6 uses Clip with typed min and max inputs', () => {
    const spec = testSpec([
      { name: 'a', kind: 'conv2d', filters: 2, kernelSize: 3, padding: 'same', activation: 'relu6' },
      { name: 'b', kind: 'conv2d', filters: 1, kernelSize: 1, activation: 'swish' },
    ]);
    for (const fp16 of [false, true]) {
      const graph = emitOnnx(spec, randomWeights(spec, 1), { fp16 }).model.graph!;
      const clip = graph.node!.find((n) => n.opType === 'Clip')!;
      expect(clip.input).toEqual(['a/linear', 'a/clip_min', 'a/clip_max']);
      const max = graph.initializer!.find((t) => t.name === 'a/clip_max')!;
      expect(max.dataType).toBe(fp16 ? onnx.TensorProto.DataType.FLOAT16 : onnx.TensorProto.DataType.FLOAT);
      expect(graph.node!.filter((n) => n.name!.startsWith('b/')).map((n) => n.opType)).toEqual(['Conv', 'Sigmoid', 'Mul']);
      // A size multiple of 1: no padding prelude, and an Identity (or the fp16 Cast) names the output.
      expect(graph.node!.at(-1)!.opType).toBe(fp16 ? 'Cast' : 'Identity');
    }
  });

  it('is deterministic: same spec and weights, same bytes', () => {
    expect(Buffer.from(emitOnnx(seed, weights).bytes).equals(Buffer.from(emitOnnx(seed, weights).bytes))).toBe(true);
  });
});

describe('add, subtract, concat and clip nodes', () => {
  const mergeSpec = () =>
    testSpec([
      { name: 'e1', kind: 'conv2d', filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' },
      { name: 'e2', kind: 'conv2d', filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' },
      { name: 'd1', kind: 'conv2dTranspose', filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' },
      { name: 'skip', kind: 'add', inputs: ['d1', 'e1'], activation: 'tanh' },
      { name: 'sum', kind: 'add', inputs: ['skip', 'e1', 'd1'] },
      { name: 'cat', kind: 'concat', inputs: ['sum', 'image', 'e1'] },
      { name: 'noise', kind: 'conv2d', filters: 1, kernelSize: 3, padding: 'same' },
      { name: 'residual', kind: 'subtract', inputs: ['image', 'noise'] },
      { name: 'out', kind: 'clip', min: -0.5, max: 1.5 },
    ]);

  it('is structurally sound for every option, with initializers only for the convolutions and the clip bounds', () => {
    const spec = mergeSpec();
    const w = randomWeights(spec, 2);
    for (const options of [{}, { fp16: true }, { symmetricPads: true }, { opset: 21, fp16: true }]) {
      const { model } = emitOnnx(spec, w, options);
      expect(structureProblems(model), JSON.stringify(options)).toEqual([]);
      const names = model.graph!.initializer!.map((t) => t.name!);
      expect(names.filter((n) => n.includes('.')).sort(), JSON.stringify(options)).toEqual(weightDefs(spec).map((d) => d.name).sort());
      const weightless = new Set(['skip', 'sum', 'cat', 'residual', 'out']);
      expect(names.filter((n) => weightless.has(n.split(/[./]/)[0]!)).sort(), JSON.stringify(options)).toEqual(['out/clip_max', 'out/clip_min']);
    }
  });

  it('emits Add (two inputs) then the activation, Sum (three), Concat on the NCHW channel axis in inputs order, Sub as a - b, Clip', () => {
    const { model } = emitOnnx(mergeSpec(), randomWeights(mergeSpec(), 2));
    const nodes = model.graph!.node!;
    const of = (layer: string) => nodes.filter((n) => n.name!.startsWith(`${layer}/`)).map((n) => ({ op: n.opType, inputs: n.input, outputs: n.output }));
    expect(of('skip')).toEqual([
      { op: 'Add', inputs: ['d1', 'e1'], outputs: ['skip/linear'] },
      { op: 'Tanh', inputs: ['skip/linear'], outputs: ['skip'] },
    ]);
    expect(of('sum')).toEqual([{ op: 'Sum', inputs: ['skip', 'e1', 'd1'], outputs: ['sum'] }]);
    // The input as the network sees it: padded up to the size multiple.
    expect(of('cat')).toEqual([{ op: 'Concat', inputs: ['sum', 'image/padded', 'e1'], outputs: ['cat'] }]);
    expect(attribute(nodes.find((n) => n.name === 'cat/Concat')!, 'axis')).toBe(1);
    expect(of('residual')).toEqual([{ op: 'Sub', inputs: ['image/padded', 'noise'], outputs: ['residual'] }]);
    expect(of('out')).toEqual([{ op: 'Clip', inputs: ['residual', 'out/clip_min', 'out/clip_max'], outputs: ['out'] }]);
    // The output is cropped from the clip's result.
    expect(nodes.at(-1)!.input![0]).toBe('out');
    expect(model.graph!.docString).toContain('skip: add d1 + e1 tanh; sum: add skip + e1 + d1 linear; cat: concat channels of sum, image, e1; ');
    expect(model.graph!.docString).toContain('residual: subtract image - noise linear; out: clip to [-0.5, 1.5]');
  });

  it('types the clip bounds like the data: float32, or float16 after the Cast', () => {
    for (const fp16 of [false, true]) {
      const graph = emitOnnx(mergeSpec(), randomWeights(mergeSpec(), 2), { fp16 }).model.graph!;
      const bounds = ['out/clip_min', 'out/clip_max'].map((name) => graph.initializer!.find((t) => t.name === name)!);
      for (const t of bounds) {
        expect(t.dims).toEqual([]);
        expect(t.dataType).toBe(fp16 ? onnx.TensorProto.DataType.FLOAT16 : onnx.TensorProto.DataType.FLOAT);
      }
      const values = bounds.map((t) => (fp16 ? float16BytesToFloat32(t.rawData as Uint8Array)[0] : new DataView((t.rawData as Uint8Array).buffer, (t.rawData as Uint8Array).byteOffset).getFloat32(0, true)));
      expect(values).toEqual([-0.5, 1.5]);
      if (fp16) expect(graph.node!.find((n) => n.name === 'residual/Sub')!.input).toEqual(['image/float16', 'noise']);
    }
  });

  it('reaches the emitter only with weights the registry lists (a weightless kind has none to convert)', () => {
    const clip = mergeSpec().layers.find((l) => l.kind === 'clip')!;
    expect(() => (ONNX_EMITTERS.clip.weight as (...args: unknown[]) => unknown)(clip, 'kernel', { shape: [1], data: new Float32Array(1) })).toThrow(
      'ONNX emitter: layer "out" (clip) has no weights, but was given "kernel"',
    );
  });
});

describe('metadata', () => {
  it('the shared reader returns what the emitter wrote', () => {
    const noise = { kind: 'gaussian', factor: 0.4 };
    const training = { data: 'fashion-mnist (60000 train / 10000 validation images)', epochs: 10, valLoss: 0.0123, valPsnr: 21.5, noisyPsnr: 12.25 };
    const emitted = emitOnnx(seed, weights, { noise, training });
    const { metadata, model } = readModelMetadata(emitted.bytes, 'm.onnx');
    expect(metadata).toEqual(emitted.metadata);
    expect(metadata).toMatchObject({ formatVersion: 2, name: 'noise-reducer', channels: 1, valueRange: [0, 1], sizeMultiple: 4, layout: 'NCHW', precision: 'float32', noise, training });
    expect(metadata.spec).toEqual(JSON.parse(JSON.stringify(seed)));
    expect(metadata.image).toEqual({ bitmapPixelFormat: 'Gray8', colorSpaceGamma: 'SRGB', nominalPixelRange: 'Normalized_0_1' });
    expect(model.metadataProps[METADATA_KEYS.valueRange]).toBe('0,1');
    // The tutorial network's receptive field, worked out by hand in test/tools/layers/receptive-field.test.ts.
    expect(model.metadataProps[METADATA_KEYS.receptiveField]).toBe('-7,7');
    expect(model.metadataProps[METADATA_KEYS.sizeMultiple]).toBe('4');
    expect(metadata.receptiveField).toEqual({ low: -7, high: 7, radius: 7 });
    expect(model.metadataProps['Image.NominalPixelRange']).toBe('Normalized_0_1');
    expect(metadata.contentHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('leaves out what is not known, names RGB as Rgb8, and hashes content', () => {
    const rgb = testSpec([
      { name: 'a', kind: 'conv2d', filters: 3, kernelSize: 3, padding: 'same', activation: 'sigmoid' },
    ], 3);
    const w = randomWeights(rgb, 1);
    const { metadata, props } = emitOnnx(rgb, w);
    expect(metadata.noise).toBeUndefined();
    expect(metadata.training).toBeUndefined();
    expect(props).not.toHaveProperty('noise_kind');
    expect(metadata.image.bitmapPixelFormat).toBe('Rgb8');
    const changed = new Map(w);
    const data = Float32Array.from(w.get('a.bias')!.data);
    data[0]! += 1e-6;
    changed.set('a.bias', { shape: [3], data });
    expect(emitOnnx(rgb, changed).metadata.contentHash).not.toBe(metadata.contentHash);
    expect(emitOnnx(rgb, w, { opset: 21 }).metadata.contentHash).toBe(metadata.contentHash);
    expect(emitOnnx(rgb, w, { fp16: true }).metadata.contentHash).not.toBe(metadata.contentHash);
  });
});
