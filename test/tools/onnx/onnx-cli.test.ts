// `tools export-onnx` and `tools inspect` as a user runs them (the built bin): exit codes, messages, files left behind.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import onnxProto from 'onnx-proto';
import { beforeAll, describe, expect, it } from 'vitest';
import { serializeSafetensors } from '../../../tools/model/safetensors.js';
import { loadSpec, serializeSpec, type NetworkSpec } from '../../../tools/layers/spec.js';
import { randomWeights } from './parity-helpers.js';
import { tempDirs } from '../../temp-dir.js';

const makeTempDir = tempDirs();

const { onnx } = onnxProto;
const BIN = resolve('tools/bin/tools.js');
const SPEC = resolve('models/noise-reducer.json');

function tools(args: string[], cwd = process.cwd()) {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

let spec: NetworkSpec;
let dir: string;
let model: string;

beforeAll(async () => {
  spec = await loadSpec(SPEC);
  dir = makeTempDir('onnx-cli-');
  model = join(dir, 'random.onnx');
  const r = tools(['export-onnx', '--spec', SPEC, '--random-weights', '--seed', '2', '--out', model]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
});

describe('export-onnx: bad calls', () => {
  it('an unknown flag is a usage error', () => {
    const r = tools(['export-onnx', '--opsett', '18']);
    // Not yet exit 2: tools/cli.ts's fail() reports the usage error but lets yargs run the command anyway.
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Unknown arguments?: opsett/);
  });

  it('an unsupported opset: exit 1, the standard message, no file', () => {
    const out = join(dir, 'opset.onnx');
    const r = tools(['export-onnx', '--spec', SPEC, '--random-weights', '--opset', '16', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: Expected one of 17, 18, 19, 20, 21 for --opset but received 16\n');
    expect(readdirSync(dir)).not.toContain('opset.onnx');
  });

  it('a missing or corrupt weights file, or one that disagrees with the spec: exit 1 naming it, no file', () => {
    const bad = makeTempDir('onnx-cli-bad-');
    const missing = tools(['export-onnx', '--spec', SPEC, '--weights', join(bad, 'none.safetensors')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`error: Cannot read weights file ${join(bad, 'none.safetensors')}: no such file\n`);
    writeFileSync(join(bad, 'w.safetensors'), new Uint8Array([1, 2, 3]));
    const corrupt = tools(['export-onnx', '--spec', SPEC, '--weights', join(bad, 'w.safetensors')]);
    expect(corrupt.code).toBe(1);
    expect(corrupt.stderr).toContain(`for the file in ${join(bad, 'w.safetensors')} but received 3 byte(s)`);
    const weights = randomWeights(spec, 1);
    weights.set('decoder_output.bias', { shape: [2], data: new Float32Array(2) });
    writeFileSync(join(bad, 'w.safetensors'), serializeSafetensors(weights));
    const mismatch = tools(['export-onnx', '--spec', SPEC, '--weights', join(bad, 'w.safetensors')]);
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toBe(`error: Expected shape [1] for tensor "decoder_output.bias" in ${join(bad, 'w.safetensors')} but received [2]\n`);
    expect(readdirSync(bad)).toEqual(['w.safetensors']);
  });

  it('no run named and no runs/latest: exit 1 saying how to make one', () => {
    const empty = makeTempDir('onnx-cli-empty-');
    const r = tools(['export-onnx'], empty);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: Expected the path of a training run for runs\/latest but received none: run "tools train" first, or pass --run DIR/);
  });

  it('an existing output without --force: exit 1, file untouched', () => {
    const r = tools(['export-onnx', '--spec', SPEC, '--random-weights', '--out', model]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Expected an output path that does not exist \(or --force to replace it\) for --out/);
  });
});

describe('export-onnx', () => {
  it('exports random weights and says what it wrote', () => {
    const out = join(dir, 'again.onnx');
    const r = tools(['export-onnx', '--spec', SPEC, '--random-weights', '--seed', '2', '--out', out, '--opset', '19']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^wrote .*again\.onnx \([\d,]+ bytes, float32, opset 19, IR 9\)/);
    expect(r.stdout).toContain('network: noise-reducer, 3,217 parameters; weights: random initial weights (seed 2)');
    expect(r.stdout).toContain('input "image" float32 [N, 1, H, W] -> output "denoised" float32 [N, 1, H, W]');
  });

  it('exports the latest run from runs/latest with its training summary', () => {
    const root = makeTempDir('onnx-cli-run-');
    const run = join(root, 'runs', 'noise-reducer-1');
    mkdirSync(run, { recursive: true });
    writeFileSync(join(run, 'spec.json'), serializeSpec(spec));
    writeFileSync(join(run, 'weights.safetensors'), serializeSafetensors(randomWeights(spec, 3)));
    writeFileSync(join(run, 'config.json'), JSON.stringify({ settings: { noise: { kind: 'gaussian', factor: 0.4 } }, data: { name: 'fashion-mnist', train: 60000, test: 10000 } }));
    writeFileSync(join(run, 'history.json'), JSON.stringify([{ epoch: 10, valLoss: 0.0117, valPsnr: 21.02, noisyPsnr: 11.2 }]));
    writeFileSync(join(root, 'runs', 'latest'), 'runs/noise-reducer-1\n');
    const r = tools(['export-onnx', '--fp16'], root);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^wrote runs\/noise-reducer-1\/model\.fp16\.onnx/);
    expect(r.stdout).toContain('trained for: gaussian 0.4 noise');
    expect(r.stdout).toContain('training: fashion-mnist (60000 train / 10000 validation images), 10 epochs, validation loss 0.01170, PSNR 21.02 dB');
    expect(r.stdout).toMatch(/fp16: [\d,]+ bytes against [\d,]+ for fp32 \(\d+%\); error against fp32 on 4x1x64x64 random images in \[0, 1\]: max \d\.\d\de-\d+, mean/);
    expect(readdirSync(run)).toContain('model.fp16.onnx');
  });
});

describe('inspect: bad calls', () => {
  it('a missing file or one that is not ONNX: exit 1 naming it', () => {
    const missing = tools(['inspect', join(dir, 'none.onnx')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`error: Cannot read model file ${join(dir, 'none.onnx')}: no such file\n`);
    const notOnnx = tools(['inspect', SPEC]);
    expect(notOnnx.code).toBe(1);
    expect(notOnnx.stderr).toMatch(new RegExp(`^error: Expected an ONNX model file for ${SPEC.replace(/[.]/g, '\\.')} but received`));
  });

  it('no model argument is a usage error', () => {
    expect(tools(['inspect']).code).toBe(2);
  });

  it('a tampered model: exit 1, the content hash does not match', () => {
    const bytes = readFileSync(model);
    const proto = onnx.ModelProto.decode(bytes);
    const bias = proto.graph!.initializer!.find((t) => t.name === 'encoder_conv1.bias')!;
    bias.rawData = Uint8Array.from(bias.rawData!, (b, i) => (i === 0 ? b ^ 1 : b));
    writeFileSync(join(dir, 'tampered.onnx'), onnx.ModelProto.encode(proto).finish());
    const r = tools(['inspect', join(dir, 'tampered.onnx')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('content hash: DOES NOT MATCH the spec and weights');
    expect(r.stderr).toMatch(/^error: Expected a content hash matching the spec and weights for .*tampered\.onnx but received [0-9a-f]{64}, which does not match/);
  });

  it('a model whose metadata "receptive_field" is not what its spec works out: exit 1, naming both', () => {
    const proto = onnx.ModelProto.decode(readFileSync(model));
    proto.metadataProps!.find((p) => p.key === 'receptive_field')!.value = '-3,3';
    writeFileSync(join(dir, 'narrow.onnx'), onnx.ModelProto.encode(proto).finish());
    const r = tools(['inspect', join(dir, 'narrow.onnx')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('receptive field: [-3, 3], BUT THE SPEC WORKS OUT [-7, 7]');
    expect(r.stderr).toBe(`error: Expected metadata "receptive_field" -7,7 (what the spec works out) for ${join(dir, 'narrow.onnx')} but received -3,3: the runtimes would tile it with the wrong overlap\n`);
  });
});

describe('inspect', () => {
  it('prints inputs, outputs, opset and IR, producer, metadata, nodes and parameters', () => {
    const r = tools(['inspect', model]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('IR version 8, opset ai.onnx 17');
    expect(r.stdout).toMatch(/producer onnx-denoiser-tools \d+\.\d+\.\d+; domain onnx-denoiser; model version 1/);
    expect(r.stdout).toMatch(/inputs:\n {2}image {2}FLOAT \[N, 1, H, W\]\noutputs:\n {2}denoised {2}FLOAT \[N, 1, H, W\]/);
    expect(r.stdout).toMatch(/Image\.NominalPixelRange +Normalized_0_1/);
    expect(r.stdout).toContain('content hash: matches the spec and weights');
    expect(r.stdout).toContain('receptive field: [-7, 7], as the spec works out');
    expect(r.stdout).toMatch(/ConvTranspose decoder_deconv1\/ConvTranspose: encoder_conv2, decoder_deconv1\.kernel, decoder_deconv1\.bias -> decoder_deconv1\/linear {2}\{kernel_shape=\[3,3\] strides=\[2,2\] pads=\[0,0,1,1\]/);
    expect(r.stdout).toMatch(/encoder_conv2\.kernel +FLOAT +\[8, 16, 3, 3\] +1,152/);
    expect(r.stdout).toContain('parameters: 3,217 (floating-point initializers)');
    expect(r.stdout).toContain('structure: ok');
  });

  it('prints JSON with --json, and describes a foreign ONNX model without denoiser metadata', () => {
    const json = JSON.parse(tools(['inspect', model, '--json']).stdout);
    expect(json.parameters).toBe(3217);
    expect(json.metadata.sizeMultiple).toBe(4);
    const foreign = onnx.ModelProto.encode({
      irVersion: 7,
      opsetImport: [{ domain: '', version: 13 }],
      producerName: 'elsewhere',
      graph: {
        name: 'add',
        node: [{ opType: 'Add', name: 'add', input: ['a', 'a'], output: ['b'] }],
        input: [{ name: 'a', type: { tensorType: { elemType: onnx.TensorProto.DataType.INT64, shape: { dim: [{ dimValue: 2 }] } } } }],
        output: [{ name: 'b', type: { tensorType: { elemType: onnx.TensorProto.DataType.INT64, shape: { dim: [{ dimValue: 2 }] } } } }],
      },
    }).finish();
    writeFileSync(join(dir, 'foreign.onnx'), foreign);
    const r = tools(['inspect', join(dir, 'foreign.onnx')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('(no onnx-denoiser metadata: Expected an onnx-denoiser model (metadata "format" = "onnx-denoiser/model")');
    expect(r.stdout).toContain('a  INT64 [2]');
    expect(r.stdout).toContain('parameters: 0');
  });
});
