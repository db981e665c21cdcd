// Export from files: argument combinations, run folders, atomic writes that leave nothing behind on errors; the receptive field the export states tiles exactly.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { beforeAll, describe, expect, it } from 'vitest';
import { readModelMetadata } from '../../../runtime-common/onnx-model.js';
import { ValidationError } from '../../../runtime-common/validate.js';
import { serializeSafetensors } from '../../../tools/model/safetensors.js';
import { Denoiser } from '../../../runtime-node/denoiser.js';
import { emitOnnx } from '../../../tools/onnx/emit.js';
import { exportOnnxFile, resolveExportInputs, runSummary, type ExportRequest } from '../../../tools/onnx/export.js';
import { loadSpec, serializeSpec, type NetworkSpec } from '../../../tools/layers/spec.js';
import { randomWeights } from './parity-helpers.js';
import { tempDirs } from '../../temp-dir.js';

const makeTempDir = tempDirs();

const SPEC = 'models/noise-reducer.json';
let spec: NetworkSpec;

beforeAll(async () => {
  spec = await loadSpec(SPEC);
});

function tempDir(): string {
  return makeTempDir('export-onnx-');
}

/** A run folder as training writes it: spec.json, weights.safetensors and (optionally) config.json and history.json. */
function makeRun(dir: string, withSummary = true): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'spec.json'), serializeSpec(spec));
  writeFileSync(join(dir, 'weights.safetensors'), serializeSafetensors(randomWeights(spec, 5), { format: 'onnx-denoiser/weights', spec: spec.name }));
  if (withSummary) {
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ settings: { epochs: 3, noise: { kind: 'gaussian', factor: 0.4 } }, data: { name: 'fashion-mnist', train: 600, test: 100 } }));
    writeFileSync(join(dir, 'history.json'), JSON.stringify([
      { epoch: 1, trainLoss: 0.05, valLoss: 0.04, valPsnr: 15.5, noisyPsnr: 10.25, seconds: 1, imagesPerSecond: 100 },
      { epoch: 2, trainLoss: 0.03, valLoss: 0.025, valPsnr: 17.125, noisyPsnr: 10.25, seconds: 1, imagesPerSecond: 100 },
    ]));
  }
  return dir;
}

async function rejection(request: ExportRequest): Promise<string> {
  try {
    await exportOnnxFile(request);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as Error).message;
  }
  throw new Error('expected the export to fail');
}

describe('export: bad calls leave no file', () => {
  it('rejects contradictory arguments with the standard message', async () => {
    expect(await rejection({ run: 'runs/x', spec: SPEC })).toBe('Expected either --run or --spec, not both for --run but received "runs/x"');
    expect(await rejection({ weights: 'w.safetensors' })).toBe('Expected --weights only with --spec (a run folder has its own weights) for --weights but received "w.safetensors"');
    expect(await rejection({ spec: SPEC })).toBe('Expected a weights file (--weights FILE) or --random-weights with --spec for --weights but received undefined');
    expect(await rejection({ spec: SPEC, weights: 'w', randomWeights: true })).toBe('Expected either --weights or --random-weights, not both for --random-weights but received true');
    expect(await rejection({ spec: SPEC, weights: 'w', seed: 3 })).toBe('Expected --seed only with --random-weights for --seed but received 3');
    expect(await rejection({ randomWeights: true })).toBe('Expected --random-weights only with --spec for --random-weights but received true');
  });

  it.each([
    ['a missing weights file', () => ({ weights: 'nowhere.safetensors' }), /^Cannot read weights file .*nowhere\.safetensors: no such file$/],
    ['a corrupt weights file', (dir: string) => (writeFileSync(join(dir, 'w.safetensors'), 'not safetensors at all'), { weights: join(dir, 'w.safetensors') }), /^Expected a header length from 2 to \d+ bytes .* for the header length in .*w\.safetensors but received/],
    ['weights that disagree with the spec', (dir: string) => {
      const weights = randomWeights(spec, 1);
      weights.set('encoder_conv2.kernel', { shape: [3, 3, 8, 16], data: new Float32Array(3 * 3 * 8 * 16) });
      writeFileSync(join(dir, 'w.safetensors'), serializeSafetensors(weights));
      return { weights: join(dir, 'w.safetensors') };
    }, /^Expected shape \[3, 3, 16, 8\] for tensor "encoder_conv2\.kernel" in .*w\.safetensors but received \[3, 3, 8, 16\]$/],
    ['an unsupported layer kind in the spec', (dir: string) => {
      const json = JSON.parse(readFileSync(SPEC, 'utf8'));
      json.layers[0].kind = 'dense';
      writeFileSync(join(dir, 'bad.json'), JSON.stringify(json));
      writeFileSync(join(dir, 'w.safetensors'), serializeSafetensors(randomWeights(spec, 1)));
      return { spec: join(dir, 'bad.json'), weights: join(dir, 'w.safetensors') };
    }, /^.*bad\.json: Expected one of "conv2d", "conv2dTranspose", "add", "subtract", "concat", "clip" for layers\[0\] \("encoder_conv1"\)\.kind but received "dense"$/],
    ['an unsupported opset', (dir: string) => (writeFileSync(join(dir, 'w.safetensors'), serializeSafetensors(randomWeights(spec, 1))), { weights: join(dir, 'w.safetensors'), opset: 12 }), /^Expected one of 17, 18, 19, 20, 21 for opset but received 12$/],
  ])('%s', async (_, setup, pattern) => {
    const dir = tempDir();
    const request = { spec: SPEC, out: join(dir, 'model.onnx'), ...(setup as (d: string) => ExportRequest)(dir) };
    expect(await rejection(request)).toMatch(pattern);
    expect(readdirSync(dir).filter((f) => f.includes('onnx'))).toEqual([]);
  });

  it('refuses to replace an existing file without force, and leaves it untouched', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'model.onnx'), 'keep me');
    expect(await rejection({ spec: SPEC, randomWeights: true, out: join(dir, 'model.onnx') })).toBe(
      `Expected an output path that does not exist (or --force to replace it) for --out but received ${join(dir, 'model.onnx')}, which exists`,
    );
    expect(readFileSync(join(dir, 'model.onnx'), 'utf8')).toBe('keep me');
    await exportOnnxFile({ spec: SPEC, randomWeights: true, out: join(dir, 'model.onnx'), force: true });
    expect(readModelMetadata(readFileSync(join(dir, 'model.onnx')), 'm').metadata.name).toBe('noise-reducer');
    expect(readdirSync(dir)).toEqual(['model.onnx']);
  });

  it('an error in the step before the write (e.g. measuring) leaves no file', async () => {
    const dir = tempDir();
    await expect(exportOnnxFile({ spec: SPEC, randomWeights: true, out: join(dir, 'm.onnx') }, async () => {
      throw new Error('measurement failed');
    })).rejects.toThrow('measurement failed');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('names a missing run folder', async () => {
    expect(await rejection({ run: '/nonexistent/run' })).toBe('Expected a training run folder for --run but received /nonexistent/run, which does not exist');
    const run = makeRun(join(tempDir(), 'run'));
    writeFileSync(join(run, 'weights.safetensors'), new Uint8Array(4));
    expect(await rejection({ run })).toMatch(/for the file in .*run\/weights\.safetensors but received 4 byte\(s\)$/);
  });
});

describe('export', () => {
  it('exports a run folder beside its weights, with the noise and training summary in the metadata', async () => {
    const run = makeRun(join(tempDir(), 'run-1'));
    const result = await exportOnnxFile({ run });
    expect(result.out).toBe(join(run, 'model.onnx'));
    const { metadata } = readModelMetadata(readFileSync(result.out), result.out);
    expect(metadata.noise).toEqual({ kind: 'gaussian', factor: 0.4 });
    expect(metadata.training).toEqual({ data: 'fashion-mnist (600 train / 100 validation images)', epochs: 2, valLoss: 0.025, valPsnr: 17.125, noisyPsnr: 10.25 });
    expect(readdirSync(run).sort()).toEqual(['config.json', 'history.json', 'model.onnx', 'spec.json', 'weights.safetensors']);
  });

  it('exports a run without config or history (no noise, no summary) and as fp16 beside it', async () => {
    const run = makeRun(join(tempDir(), 'bare'), false);
    expect(await runSummary(run)).toEqual({});
    const result = await exportOnnxFile({ run, fp16: true });
    expect(result.out).toBe(join(run, 'model.fp16.onnx'));
    const { metadata } = readModelMetadata(readFileSync(result.out), result.out);
    expect(metadata.precision).toBe('float16');
    expect(metadata.noise).toBeUndefined();
  });

  it('rejects a malformed config.json, naming it', async () => {
    const run = makeRun(join(tempDir(), 'broken'));
    writeFileSync(join(run, 'config.json'), '{');
    expect(await rejection({ run })).toMatch(/^Expected JSON for the run config .*broken\/config\.json but received text that does not parse/);
  });

  it('exports a spec with a weights file beside the weights, and random weights beside the spec', async () => {
    const dir = tempDir();
    const weights = randomWeights(spec, 9);
    writeFileSync(join(dir, 'w.safetensors'), serializeSafetensors(weights));
    const fromFile = await exportOnnxFile({ spec: SPEC, weights: join(dir, 'w.safetensors') });
    expect(fromFile.out).toBe(join(dir, 'model.onnx'));
    expect(fromFile.weights.get('encoder_conv1.kernel')!.data).toEqual(weights.get('encoder_conv1.kernel')!.data);

    const random = await resolveExportInputs({ spec: SPEC, randomWeights: true, seed: 4 });
    expect(random.out).toBe(join('models', 'noise-reducer.onnx'));
    expect(random.weightsSource).toBe('random initial weights (seed 4)');
    const again = await resolveExportInputs({ spec: SPEC, randomWeights: true, seed: 4, fp16: true });
    expect(again.out).toBe(join('models', 'noise-reducer.fp16.onnx'));
    expect(again.weights.get('decoder_output.kernel')!.data).toEqual(random.weights.get('decoder_output.kernel')!.data);
  });

  it.each([
    ['residual-denoiser', 1, '-15,15'],
    ['photo-denoiser', 3, '-25,25'],
  ])('%s: the runtime tiles the export with the receptive field it states, to within 1e-5 of whole-image inference', async (name, channels, field) => {
    const net = await loadSpec(`models/${name}.json`);
    const emitted = emitOnnx(net, randomWeights(net, 3));
    expect(emitted.props.receptive_field).toBe(field);
    const width = 157;
    const height = 131;
    const data = new Float32Array(width * height * channels).map((_, i) => ((i * 7919) % 1009) / 1009);
    const image = { data, width, height, channels };
    const run = async (bytes: Uint8Array, tile: number) => {
      const d = await Denoiser.create({ model: bytes, device: 'cpu', tile });
      try {
        return { out: (await d.denoise(image)).data, model: d.model };
      } finally {
        await d.dispose();
      }
    };
    const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
    const whole = await run(emitted.bytes, 0);
    const tiled = await run(emitted.bytes, 48);
    expect(tiled.model.warnings).toEqual([]);
    expect(maxDiff(tiled.out, whole.out)).toBeLessThan(1e-5);
    // The stated field is what keeps tiles exact: claiming a narrower one leaves seams.
    const { onnx } = onnxProto;
    const narrow = onnx.ModelProto.decode(emitted.bytes);
    narrow.metadataProps!.find((p) => p.key === 'receptive_field')!.value = '-3,3';
    expect(maxDiff((await run(onnx.ModelProto.encode(narrow).finish(), 48)).out, whole.out)).toBeGreaterThan(1e-4);
  });
});
