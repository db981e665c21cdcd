// The parity matrix: one fixed set of inputs through every runtime path, each compared with TF.js (the training backend).
import * as tf from '@tensorflow/tfjs-core';
import { Denoiser, useSwiftShaderWithoutGpu } from 'onnx-denoiser-node/internal';
import { buildModel, setWeights, type WeightTensor } from '../model/build-tfjs.js';
import { emitOnnx } from '../onnx/emit.js';
import { Rng } from 'onnx-denoiser-common';
import { sizeMultiple, type NetworkSpec } from '../layers/spec.js';
import { initBackend } from '../train/backends.js';
import { openBrowserPage, runInBrowser, type BrowserPage } from '../web/browser-harness.js';

/** One network with its weights, as trained. */
export interface ParityModel {
  name: string;
  spec: NetworkSpec;
  weights: ReadonlyMap<string, WeightTensor>;
  /** The shipped ONNX bytes, when there is a file: then that file is what the ONNX paths run. */
  onnx?: Uint8Array;
}

/** Batch, height, width of one input. */
export type ParityCase = readonly [number, number, number];

/** The fixed inputs: batch 1 and 8 at 28x28 (the training size), 64x64 and an odd size through the in-graph padding. */
export const PARITY_CASES: readonly ParityCase[] = Object.freeze([
  [1, 28, 28],
  [8, 28, 28],
  [1, 64, 64],
  [8, 64, 64],
  [1, 27, 31],
  [8, 27, 31],
] as const);

/** Tolerances on the max abs difference against TF.js, per kind of path. */
export const TOLERANCES = Object.freeze({
  /** fp32 on a CPU. */
  cpu: 1e-5,
  /** fp32 on WebGPU (other summation orders and fused multiply-adds on the GPU). */
  webgpu: 1e-4,
  /** float16 weights and arithmetic: below one 8-bit grey level (1/255). */
  fp16: 1 / 255,
});

/** One path's outcome. */
export interface PathResult {
  model: string;
  path: string;
  tolerance: number;
  /** `ok` within tolerance, `failed` past it, `unavailable` when it cannot run here (with the reason). */
  status: 'ok' | 'failed' | 'unavailable';
  reason?: string;
  maxAbs: number;
  meanAbs: number;
  /** The worst case's input size. */
  worst?: string;
}

type Runner = (model: ParityModel, bytes: Uint8Array, input: Float32Array, dims: [number, number, number, number]) => Promise<Float32Array>;

/** A way of running the model: its name, tolerance, and a setup that returns a runner or why it cannot run. */
interface PathDef {
  path: string;
  tolerance: number;
  /** Bytes to run: the fp32 model unless this path wants a variant. */
  bytes?: (model: ParityModel) => Uint8Array;
  /** A GPU path that runs on a CPU emulation here (SwiftShader): it takes {@link MatrixOptions.emulatedCases}. */
  emulated?: boolean;
  open: () => Promise<{ run: Runner; close: () => Promise<void> } | string>;
}

/** Deterministic inputs in [0, 1) from the project's seeded generator. */
export function parityInput(seed: number, count: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: count }, () => rng.nextFloat());
}

/**
 * TF.js on NCHW input: transposed to NHWC, edge-padded by hand to the size multiple (as the ONNX graph does inside),
 * run, cropped back, transposed to NCHW.
 */
/** The noise level every path tells a model with a noise map (sigma 25 on 0..255); undefined for a blind model. */
export function parityNoiseLevel(model: ParityModel): number | undefined {
  return model.spec.input.noiseMap === undefined ? undefined : 25 / 255;
}

async function tfjsReference(model: ParityModel, input: Float32Array, [n, c, h, w]: [number, number, number, number]): Promise<Float32Array> {
  const multiple = sizeMultiple(model.spec) ?? 1;
  const H = Math.ceil(h / multiple) * multiple;
  const W = Math.ceil(w / multiple) * multiple;
  const net = buildModel(model.spec);
  setWeights(net, model.spec, model.weights, model.name);
  const out = tf.tidy(() => {
    const x = tf.transpose(tf.tensor4d(input, [n, c, h, w]), [0, 2, 3, 1]); // NCHW -> NHWC
    // tf.pad only fills constants: the edge rows and columns are replicated by hand, as the ONNX graph's Pad(edge).
    const edged = H === h && W === w ? x : edgePad(x, H, W);
    const level = parityNoiseLevel(model);
    // The noise map is constant, so padding it changes nothing.
    const y = net.predict(level === undefined ? edged : [edged, tf.fill([n, H, W, 1], level)]) as tf.Tensor4D;
    return tf.transpose(tf.slice(y, [0, 0, 0, 0], [n, h, w, y.shape[3]]), [0, 3, 1, 2]); // NHWC -> NCHW
  });
  const data = Float32Array.from(await out.data());
  out.dispose();
  net.dispose();
  return data;
}

/** Edge replication of an NHWC tensor up to H x W (extra rows and columns at the bottom and right). */
function edgePad(x: tf.Tensor4D, H: number, W: number): tf.Tensor4D {
  const [, h, w] = x.shape;
  let out: tf.Tensor4D = x;
  if (H > h) out = tf.concat([out, tf.tile(tf.slice(out, [0, h - 1, 0, 0], [-1, 1, -1, -1]), [1, H - h, 1, 1])], 1);
  if (W > w) out = tf.concat([out, tf.tile(tf.slice(out, [0, 0, w - 1, 0], [-1, -1, 1, -1]), [1, 1, W - w, 1])], 2);
  return out;
}

function differences(a: Float32Array, b: Float32Array): { max: number; sum: number } {
  if (a.length !== b.length) return { max: Infinity, sum: Infinity };
  let max = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    sum += d;
    if (!(d <= max)) max = d;
  }
  return { max, sum };
}

function nodePath(device: 'cpu' | 'webgpu' | 'cuda', label: string, tolerance: number, bytes?: (m: ParityModel) => Uint8Array, emulated = false): PathDef {
  return {
    path: label,
    tolerance,
    bytes,
    emulated,
    open: async () => {
      const cache = new Map<Uint8Array, Denoiser>();
      // Opening with the first model tells whether the device is there at all.
      return {
        run: async (model, modelBytes, input, dims) => {
          let denoiser = cache.get(modelBytes);
          if (!denoiser) cache.set(modelBytes, (denoiser = await Denoiser.create({ model: modelBytes, device, tile: 0 })));
          return denoiser.runTensor(input, dims, parityNoiseLevel(model));
        },
        close: async () => {
          await Promise.all([...cache.values()].map((d) => d.dispose()));
        },
      };
    },
  };
}

function browserPath(device: 'wasm' | 'webgpu', label: string, tolerance: number, shared: { page?: Promise<BrowserPage> }, emulated = false): PathDef {
  return {
    path: label,
    tolerance,
    emulated,
    open: async () => {
      try {
        shared.page ??= openBrowserPage();
        const page = await shared.page;
        return {
          run: async (model, bytes, input, dims) => {
            const level = parityNoiseLevel(model);
            const result = await runInBrowser(page, { model: bytes, input, dims, device, ...(level === undefined ? {} : { noiseLevel: level }) });
            if (result.device !== device) throw new Error(`asked for ${device}, ran on ${result.device}`);
            return result.output;
          },
          close: async () => {},
        };
      } catch (error) {
        return `the browser could not start: ${(error as Error).message.split('\n')[0]}`;
      }
    },
  };
}

/** Options for {@link runParityMatrix}. */
export interface MatrixOptions {
  cases?: readonly ParityCase[];
  /** Progress lines. */
  onLine?: (text: string) => void;
  /** Leave out the browser paths (e.g. where no chromium is installed). */
  browser?: boolean;
  /**
   * The inputs of the WebGPU paths when they run on a CPU emulation (SwiftShader), a subset of `cases`: there a
   * batch of 8 at 64x64 through the photo model takes minutes. Default: `cases`.
   */
  emulatedCases?: readonly ParityCase[];
}

/**
 * Runs every model through every path on {@link PARITY_CASES} and compares each output with TF.js on the wasm
 * backend with the project's kernels (the training backend here). A path that cannot run is reported with why.
 */
export async function runParityMatrix(models: readonly ParityModel[], options: MatrixOptions = {}): Promise<PathResult[]> {
  const cases = options.cases ?? PARITY_CASES;
  const emulatedCases = options.emulatedCases ?? cases;
  if (emulatedCases.some((e) => !cases.some((c) => c.join('x') === e.join('x')))) throw new Error('emulatedCases must be a subset of cases');
  const say = options.onLine ?? (() => {});
  const emulated = useSwiftShaderWithoutGpu();
  const fp32 = new Map<ParityModel, Uint8Array>();
  const bytesOf = (m: ParityModel) => fp32.get(m) ?? fp32.set(m, m.onnx ?? emitOnnx(m.spec, m.weights).bytes).get(m)!;
  const shared: { page?: Promise<BrowserPage> } = {};
  const gpuNote = emulated ? ` on ${emulated}` : '';
  const paths: PathDef[] = [
    {
      path: 'TF.js cpu backend (stock kernels)',
      tolerance: TOLERANCES.cpu,
      open: async () => {
        await initBackend('cpu');
        return { run: (m, _b, input, dims) => tfjsReference(m, input, dims), close: async () => {} };
      },
    },
    nodePath('cpu', 'onnxruntime-node CPU', TOLERANCES.cpu),
    nodePath('cpu', 'onnxruntime-node CPU, symmetric-pads export', TOLERANCES.cpu, (m) => emitOnnx(m.spec, m.weights, { symmetricPads: true }).bytes),
    nodePath('cpu', 'onnxruntime-node CPU, fp16 export', TOLERANCES.fp16, (m) => emitOnnx(m.spec, m.weights, { fp16: true }).bytes),
    nodePath('webgpu', `onnxruntime-node WebGPU${gpuNote}`, TOLERANCES.webgpu, undefined, Boolean(emulated)),
    nodePath('cuda', 'onnxruntime-node CUDA', TOLERANCES.cpu),
    ...(options.browser === false ? [] : [browserPath('wasm', 'onnxruntime-web wasm (chromium)', TOLERANCES.cpu, shared), browserPath('webgpu', `onnxruntime-web WebGPU (chromium${gpuNote})`, TOLERANCES.webgpu, shared, Boolean(emulated))]),
  ];

  // The reference first, on the training backend, for every model and case.
  await initBackend('wasm');
  const inputs = new Map<string, Float32Array>();
  const references = new Map<string, Float32Array>();
  for (const model of models) {
    for (const [n, h, w] of cases) {
      const dims: [number, number, number, number] = [n, model.spec.input.channels, h, w];
      const input = parityInput(n * 1000 + h * 31 + w, n * dims[1] * h * w);
      inputs.set(`${model.name} ${n}x${h}x${w}`, input);
      references.set(`${model.name} ${n}x${h}x${w}`, await tfjsReference(model, input, dims));
    }
  }
  say(`reference: TF.js wasm backend with the project's kernels, ${models.length} model(s) x ${cases.length} inputs`);

  const results: PathResult[] = [];
  try {
    for (const def of paths) {
      const opened = await def.open();
      for (const model of models) {
        const row: PathResult = { model: model.name, path: def.path, tolerance: def.tolerance, status: 'ok', maxAbs: 0, meanAbs: 0 };
        if (typeof opened === 'string') {
          results.push({ ...row, status: 'unavailable', reason: opened, maxAbs: NaN, meanAbs: NaN });
          continue;
        }
        let sum = 0;
        let count = 0;
        try {
          const bytes = def.bytes ? def.bytes(model) : bytesOf(model);
          for (const [n, h, w] of def.emulated ? emulatedCases : cases) {
            const key = `${model.name} ${n}x${h}x${w}`;
            const dims: [number, number, number, number] = [n, model.spec.input.channels, h, w];
            const out = await opened.run(model, bytes, inputs.get(key)!, dims);
            const d = differences(out, references.get(key)!);
            if (!(d.max <= row.maxAbs)) {
              row.maxAbs = d.max;
              row.worst = `${n}x${h}x${w}`;
            }
            sum += d.sum;
            count += out.length;
          }
          row.meanAbs = sum / count;
          row.status = row.maxAbs <= def.tolerance ? 'ok' : 'failed';
        } catch (error) {
          const message = ((error as Error).message ?? String(error)).split('\n')[0]!;
          const unavailable = /Expected a device available|could not start|no WebGPU adapter/i.test(message);
          Object.assign(row, { status: unavailable ? 'unavailable' : 'failed', reason: message.replace(/^Expected a device available on this machine for options\.device but received "\w+": /, ''), maxAbs: NaN, meanAbs: NaN });
        }
        results.push(row);
        say(`${def.path} / ${model.name}: ${row.status}${row.reason ? ` (${row.reason})` : ` (max ${row.maxAbs.toExponential(2)})`}`);
      }
      if (typeof opened !== 'string') await opened.close();
    }
  } finally {
    if (shared.page) await (await shared.page.catch(() => undefined))?.close();
    await initBackend('wasm');
  }
  return results;
}

/** The matrix as a markdown table. */
export function parityTable(results: readonly PathResult[]): string {
  const exp = (v: number) => (Number.isNaN(v) ? '' : v === 0 ? '0' : v.toExponential(1));
  const lines = ['| model | path | max abs diff | mean abs diff | tolerance | result |', '| --- | --- | ---: | ---: | ---: | --- |'];
  for (const r of results) {
    const result = r.status === 'ok' ? 'ok' : r.status === 'failed' ? `**FAILED**${r.reason ? `: ${r.reason}` : ` (worst ${r.worst})`}` : `not run here: ${r.reason}`;
    lines.push(`| ${r.model} | ${r.path} | ${exp(r.maxAbs)} | ${exp(r.meanAbs)} | ${exp(r.tolerance)} | ${result} |`);
  }
  return lines.join('\n');
}
