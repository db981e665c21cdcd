// Weights for layers grown into a trained network without changing what it computes: identity convolutions (net2deeper), wider layers (net2wider) and zero weights for a new noise-map input.
import { check, invalid, described, Rng } from 'onnx-denoiser-common';
import { weightDefs, type NetworkSpec } from '../layers/spec.js';
import type { Conv2DLayer, LayerSpec } from '../layers/layer-registry.js';
import type { WeightTensor } from './build-tfjs.js';

/**
 * Weights that make each named conv2d layer the identity: the kernel's centre tap is 1 from input channel c to
 * output channel c and every other value (and the bias) is 0, so the layer passes its input through unchanged. A
 * `relu` layer is the identity only on non-negative inputs, so its input must come from a layer with a `relu`
 * activation; a `linear` one always is. Such a layer needs stride 1, `same` padding, an odd kernel and as many
 * filters as input channels.
 * @param argument the flag or option named in errors.
 * @throws ValidationError naming `argument` and the layer for a layer that is missing or cannot be the identity.
 */
export function identityWeights(spec: NetworkSpec, layerNames: readonly string[], argument = 'identity layers'): Map<string, WeightTensor> {
  const byName = new Map<string, LayerSpec>(spec.layers.map((l) => [l.name, l]));
  const convs = spec.layers.filter((l) => l.kind === 'conv2d').map((l) => l.name);
  const defs = weightDefs(spec);
  const out = new Map<string, WeightTensor>();
  for (const name of layerNames) {
    const layer = byName.get(name);
    if (layer?.kind !== 'conv2d') throw invalid(`the name of a conv2d layer of ${spec.name} (${convs.join(', ')})`, argument, name);
    const conv = layer as Conv2DLayer;
    const [kh, kw] = conv.kernelSize;
    const kernel = defs.find((d) => d.layer === name && d.name === `${name}.kernel`)!;
    const inChannels = kernel.shape[2]!;
    const why = (expected: string, received: unknown) => invalid(expected, `${argument} (layer ${name})`, received);
    if (conv.strides[0] !== 1 || conv.strides[1] !== 1) throw why('a layer with strides 1', described(`strides ${conv.strides.join('x')}`));
    if (conv.padding !== 'same') throw why("a layer with 'same' padding", conv.padding);
    if (kh % 2 === 0 || kw % 2 === 0) throw why('a layer with an odd kernel size', described(`kernel ${kh}x${kw}`));
    if (conv.filters !== inChannels) throw why(`a layer with as many filters as input channels (${inChannels})`, conv.filters);
    if (conv.activation !== 'linear') {
      check(conv.activation === 'relu', "a layer with a 'linear' or 'relu' activation", `${argument} (layer ${name})`, conv.activation);
      const source = byName.get(conv.inputs[0]!);
      const activation = source && 'activation' in source ? source.activation : undefined;
      if (activation !== 'relu') throw why('a relu layer whose input comes from a relu layer (non-negative, so the relu keeps it)', described(`input ${conv.inputs[0]} (${activation ?? 'no activation'})`));
    }
    // [kh, kw, in, out] (TF HWIO): 1 at the centre tap from channel c to channel c.
    const data = new Float32Array(kh * kw * inChannels * conv.filters);
    const centre = ((kh - 1) / 2) * kw + (kw - 1) / 2;
    for (let c = 0; c < inChannels; c++) data[(centre * inChannels + c) * conv.filters + c] = 1;
    out.set(kernel.name, { shape: kernel.shape, data });
    const bias = defs.find((d) => d.name === `${name}.bias`);
    if (bias) out.set(bias.name, { shape: bias.shape, data: new Float32Array(bias.shape[0]!) });
  }
  return out;
}

/**
 * Kernels for a blind network grown into one with a noise map (net2wider on the input side): each conv2d that reads
 * a `concat` holding the spec's noise map, and whose trained kernel in `trained` lacks exactly the map's channel,
 * gets that kernel with zero weights for the map inserted at its place in the concat. The grown network then
 * computes what the trained one did whatever level it is told, and training teaches it to use the level. Returns
 * only the grown kernels (an empty map for a spec without a noise map).
 */
export function noiseMapKernels(spec: NetworkSpec, trained: ReadonlyMap<string, WeightTensor>): Map<string, WeightTensor> {
  const out = new Map<string, WeightTensor>();
  const map = spec.input.noiseMap;
  if (map === undefined) return out;
  const channels = new Map<string, number>([[spec.input.name, spec.input.channels], [map, 1]]);
  const defs = weightDefs(spec);
  for (const layer of spec.layers) {
    const kernel = defs.find((d) => d.name === `${layer.name}.kernel`);
    if (kernel) channels.set(layer.name, layer.kind === 'conv2dTranspose' ? kernel.shape[2]! : kernel.shape[3]!);
    else channels.set(layer.name, layer.kind === 'concat' ? layer.inputs.reduce((sum, t) => sum + channels.get(t)!, 0) : channels.get(layer.inputs[0]!)!);
  }
  const byName = new Map<string, LayerSpec>(spec.layers.map((l) => [l.name, l]));
  for (const layer of spec.layers) {
    const source = byName.get(layer.inputs[0]!);
    if (layer.kind !== 'conv2d' || source?.kind !== 'concat' || !source.inputs.includes(map)) continue;
    const def = defs.find((d) => d.name === `${layer.name}.kernel`)!;
    const old = trained.get(def.name);
    const [kh, kw, inNew, filters] = def.shape as [number, number, number, number];
    if (!old || old.shape.length !== 4 || old.shape[0] !== kh || old.shape[1] !== kw || old.shape[2] !== inNew - 1 || old.shape[3] !== filters) continue;
    // Channels before the map in the concat keep their index; those after it move up by one.
    const at = source.inputs.slice(0, source.inputs.indexOf(map)).reduce((sum, t) => sum + channels.get(t)!, 0);
    const data = new Float32Array(kh * kw * inNew * filters);
    // [kh, kw, in, out] (TF HWIO)
    for (let tap = 0; tap < kh * kw; tap++) {
      for (let c = 0; c < inNew - 1; c++) {
        const to = c < at ? c : c + 1;
        data.set(old.data.subarray((tap * (inNew - 1) + c) * filters, (tap * (inNew - 1) + c + 1) * filters), (tap * inNew + to) * filters);
      }
    }
    out.set(def.name, { shape: [...def.shape], data });
  }
  return out;
}

/**
 * Weights for a trained network made wider (net2wider with zero fan-out): each conv2d or conv2dTranspose of the spec
 * whose trained kernel has the same taps but fewer input or output channels gets that kernel in its leading corner.
 * Weights from a new input channel to an old output channel are 0, so the old outputs ignore the new channels;
 * weights into a new output channel are drawn (Glorot uniform) so its activation, and the gradient of the zero
 * weights that read it, are not zero. New biases are 0. The wider network computes what the trained one did until
 * training moves the zero weights. Returns only the widened tensors, kernels and biases.
 */
export function widenedWeights(spec: NetworkSpec, trained: ReadonlyMap<string, WeightTensor>, seed: number): Map<string, WeightTensor> {
  const out = new Map<string, WeightTensor>();
  const rng = new Rng(seed);
  const defs = weightDefs(spec);
  for (const layer of spec.layers) {
    if (layer.kind !== 'conv2d' && layer.kind !== 'conv2dTranspose') continue;
    const def = defs.find((d) => d.name === `${layer.name}.kernel`)!;
    const old = trained.get(def.name);
    const [kh, kw] = def.shape as [number, number, number, number];
    if (!old || old.shape.length !== 4 || old.shape[0] !== kh || old.shape[1] !== kw) continue;
    // conv2d [kh, kw, in, out]; conv2dTranspose [kh, kw, out, in].
    const transposed = layer.kind === 'conv2dTranspose';
    const [inAxis, outAxis] = transposed ? [3, 2] : [2, 3];
    const inNew = def.shape[inAxis]!, outNew = def.shape[outAxis]!, inOld = old.shape[inAxis]!, outOld = old.shape[outAxis]!;
    if (inOld > inNew || outOld > outNew || (inOld === inNew && outOld === outNew)) continue;
    const limit = Math.sqrt(6 / (kh * kw * (inNew + outNew)));
    const [a, b] = [def.shape[2]!, def.shape[3]!];
    const [aOld, bOld] = [old.shape[2]!, old.shape[3]!];
    const data = new Float32Array(kh * kw * a * b);
    for (let tap = 0; tap < kh * kw; tap++) {
      for (let i = 0; i < a; i++) {
        for (let j = 0; j < b; j++) {
          const [ci, co] = transposed ? [j, i] : [i, j];
          const at = (tap * a + i) * b + j;
          if (ci < inOld && co < outOld) data[at] = old.data[(tap * aOld + i) * bOld + j]!;
          else if (co >= outOld) data[at] = (2 * rng.nextFloat() - 1) * limit;
        }
      }
    }
    out.set(def.name, { shape: [...def.shape], data });
    const bias = defs.find((d) => d.name === `${layer.name}.bias`);
    const oldBias = bias && trained.get(bias.name);
    if (bias && oldBias && oldBias.data.length === outOld && outNew > outOld) {
      const grown = new Float32Array(outNew);
      grown.set(oldBias.data);
      out.set(bias.name, { shape: [...bias.shape], data: grown });
    }
  }
  return out;
}
