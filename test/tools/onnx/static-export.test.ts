// The static-shape export (tools export-onnx --static HxW): no Shape op or computed pads, a fixed input shape, and the
// same numbers as the main export on onnxruntime-node for every shipped model (padded and unpadded sizes, batch > 1, fp16).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeOnnxModel } from '../../../runtime-common/onnx-model.js';
import { openSession } from '../../../runtime-node/ort-session.js';
import { emitOnnx } from '../../../tools/onnx/emit.js';
import { TOLERANCES } from '../../../tools/parity/matrix.js';
import { shippedParityModels } from '../../../tools/parity/run-parity.js';
import { uniforms } from './parity-helpers.js';
import { tempDirs } from '../../temp-dir.js';

const makeTempDir = tempDirs();

/**
 * Ops that make a shape dynamic, or that OpenCV DNN 4.6 refuses in these graphs (Clip with min and max inputs: it takes
 * only the opset-6 form; Pad in edge mode).
 */
const REFUSED_OPS = ['Shape', 'Gather', 'Mod', 'Pad', 'Expand', 'Range', 'NonZero', 'ConstantOfShape', 'Clip'];

async function run(bytes: Uint8Array, input: Float32Array, dims: number[]): Promise<Float32Array> {
  const session = await openSession(bytes, { device: 'cpu', threads: 1 });
  try {
    // A model with a noise map (the photo model) is told sigma 25 everywhere.
    const map = session.inputs[1] ? [{ name: session.inputs[1].name, data: new Float32Array(dims[0]! * dims[2]! * dims[3]!).fill(25 / 255), dims: [dims[0]!, 1, dims[2]!, dims[3]!] }] : [];
    const output = await session.run([{ name: session.inputs[0]!.name, data: input, dims }, ...map], session.outputs[0]!.name);
    expect(output.dims).toEqual(dims);
    expect(output.data).toBeInstanceOf(Float32Array);
    return output.data as Float32Array;
  } finally {
    await session.release();
  }
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

describe('static-shape export', () => {
  it('holds no dynamic-shape op nor one OpenCV DNN refuses, symmetric ConvTranspose pads, and fixed input and output dims', async () => {
    for (const model of await shippedParityModels()) {
      const c = model.spec.input.channels;
      for (const [h, w] of [[28, 28], [27, 31]] as const) {
        const { bytes } = emitOnnx(model.spec, model.weights, { staticShape: { batch: 1, height: h, width: w } });
        const { proto, model: summary } = decodeOnnxModel(bytes, 'static.onnx');
        const nodes = proto.graph!.node ?? [];
        const ops = new Set(nodes.map((n) => n.opType));
        expect(REFUSED_OPS.filter((op) => ops.has(op)), `${model.name} ${h}x${w}`).toEqual([]);
        for (const node of nodes.filter((n) => n.opType === 'ConvTranspose')) {
          const pads = node.attribute!.find((a) => a.name === 'pads')!.ints!.map(Number);
          expect(pads.slice(0, 2), `${node.name} pads`).toEqual(pads.slice(2));
        }
        expect(summary.inputs[0]!.dims).toEqual([1, c, h, w]);
        expect(summary.outputs[0]!.dims).toEqual([1, c, h, w]);
        expect(proto.docString).toContain('static shape');
      }
    }
    const [model] = await shippedParityModels();
    // The main export keeps its free sizes.
    expect(decodeOnnxModel(emitOnnx(model!.spec, model!.weights).bytes, 'm').model.inputs[0]!.dims).toEqual(['N', model!.spec.input.channels, 'H', 'W']);
  });

  it('computes what the main export computes, for every shipped model (onnxruntime-node CPU)', async () => {
    const models = await shippedParityModels();
    expect(models.length).toBeGreaterThan(0);
    for (const m of models) {
      const c = m.spec.input.channels;
      // 28x28 needs no padding for multiples of 4; 27x31 and 30x18 are padded inside and cropped back.
      for (const [n, h, w] of [[1, 28, 28], [1, 27, 31], [2, 30, 18]] as const) {
        const dims = [n, c, h, w];
        const input = uniforms(h * 1000 + w, n * c * h * w);
        const main = await run(m.onnx!, input, dims);
        for (const fp16 of [false, true]) {
          const fixed = emitOnnx(m.spec, m.weights, { staticShape: { batch: n, height: h, width: w }, fp16 });
          const reference = fp16 ? await run(emitOnnx(m.spec, m.weights, { fp16 }).bytes, input, dims) : main;
          // float16 rounds differently once Clip is Relu arithmetic: the fp16 export's own tolerance (one 8-bit grey level).
          expect(maxAbsDiff(await run(fixed.bytes, input, dims), reference), `${m.name} ${dims.join('x')}${fp16 ? ' fp16' : ''}`).toBeLessThanOrEqual(fp16 ? TOLERANCES.fp16 : 1e-6);
        }
      }
    }
  }, 120_000);

  it('refuses a bad shape with the standard message', async () => {
    const [model] = await shippedParityModels();
    expect(() => emitOnnx(model!.spec, model!.weights, { staticShape: { batch: 1, height: 0, width: 28 } })).toThrow(
      'Expected an integer >= 1 and <= 65536 for staticShape.height but received 0',
    );
  });
});

describe('tools export-onnx --static', () => {
  const work = makeTempDir('static-export-');
  const bin = resolve('tools/bin/tools.js');
  const tools = (...args: string[]) => spawnSync(process.execPath, [bin, 'export-onnx', ...args], { cwd: work, encoding: 'utf8' });

  it('writes a fixed-shape model named by its size and says so', () => {
    const r = tools('--run', resolve('models/noise-reducer-training'), '--static', '27x31', '--out', join(work, 'nr.27x31.onnx'));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/input "image" float32 \[1, 1, 27, 31\] -> output "denoised" of the same fixed shape/);
    expect(decodeOnnxModel(readFileSync(join(work, 'nr.27x31.onnx')), 'nr').model.inputs[0]!.dims).toEqual([1, 1, 27, 31]);
  });

  it('refuses --batch without --static, and a bad size', () => {
    const batch = tools('--run', resolve('models/noise-reducer-training'), '--batch', '2');
    expect(batch.status).toBe(1);
    expect(batch.stderr).toContain('Expected --batch only with --static for --batch but received 2');
    const size = tools('--run', resolve('models/noise-reducer-training'), '--static', '28x');
    expect(size.status).toBe(1);
    expect(size.stderr).toContain('Expected a size HEIGHTxWIDTH or N of positive integers (e.g. 28x28) for --static but received "28x"');
  });
});
