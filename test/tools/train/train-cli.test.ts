// `tools train` end to end through the built bin: bad input leaves nothing, short runs learn, resume equals uninterrupted.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseSafetensors } from '../../../tools/model/safetensors.js';
import type { EpochRecord } from '../../../tools/train/trainer.js';

const work = mkdtempSync(join(tmpdir(), 'train-cli-'));

function train(...args: string[]) {
  const r = spawnSync(process.execPath, [join(process.cwd(), 'dist/tools/cli.js'), 'train', '--quiet', ...args], { cwd: work, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const spec = join(process.cwd(), 'models/noise-reducer.json');
const quick = ['--spec', spec, '--dataset', 'mnist', '--limit', '256', '--batch-size', '32', '--seed', '3'];
const history = (dir: string) => JSON.parse(readFileSync(join(dir, 'history.json'), 'utf8')) as EpochRecord[];

describe('tools train: bad calls leave no run folder', () => {
  it.each([
    [['--dataset', 'cifar'], /Expected one of "fashion-mnist", "mnist", "idx:<dir>" or "folder:<dir>" for --dataset but received "cifar"|for --dataset but received "cifar"/],
    [['--backend', 'tpu'], /Expected one of "auto", "cuda", "tensorflow", "wasm", "webgpu", "cpu" for --backend but received "tpu"/],
    [['--epochs', '-1'], /Expected an integer >= 1 and <= 100000 for --epochs but received -1/],
    [['--batch-size', '0'], /for --batch-size but received 0/],
    [['--lr', '0'], /Expected a finite number > 0 and <= 10 for --lr but received 0/],
    [['--noise', 'speckle'], /for --noise but received "speckle"/],
    [['--noise', 'salt-pepper', '--noise-factor', '1.5'], /for --noise-factor \(salt-pepper noise\) but received 1\.5/],
    [['--spec', 'missing.json'], /Cannot read spec file missing\.json/],
    [['--backend', 'cuda'], /Expected a TF\.js backend that loads for --backend but received "cuda": @tensorflow\/tfjs-node-gpu/],
  ])('%j', (args, pattern) => {
    const out = join(work, `bad-${Math.random().toString(36).slice(2)}`);
    const r = train(...quick, '--out', out, ...args);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(pattern);
    expect(existsSync(out)).toBe(false);
  });

  it('an invalid spec names the layer and key', () => {
    const bad = join(work, 'bad-spec.json');
    const json = JSON.parse(readFileSync(spec, 'utf8'));
    json.layers[2].strides = 0;
    writeFileSync(bad, JSON.stringify(json));
    const r = train(...quick, '--spec', bad, '--out', join(work, 'bad-spec-run'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Expected an integer >= 1 for layers\[2\] \("decoder_deconv1"\)\.strides but received 0/);
    expect(existsSync(join(work, 'bad-spec-run'))).toBe(false);
  });

  it('a spec whose channels differ from the data (RGB photos, a grey network)', async () => {
    const photos = join(work, 'photos');
    mkdirSync(photos);
    for (const name of ['a.png', 'b.png']) await sharp(new Uint8Array(64 * 64 * 3).map((_, i) => i % 251), { raw: { width: 64, height: 64, channels: 3 } }).png().toFile(join(photos, name));
    const r = train('--spec', spec, '--dataset', `folder:${photos}`, '--limit', '8', '--out', join(work, 'rgb-run'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Expected a spec whose input has the data's 3 channel(s) (folder:${photos}) for --spec but received "noise-reducer" with 1`);
    expect(existsSync(join(work, 'rgb-run'))).toBe(false);
  });

  it('an unwritable output folder', () => {
    const locked = join(work, 'locked');
    mkdirSync(locked);
    chmodSync(locked, 0o500);
    const r = train(...quick, '--out', join(locked, 'run'));
    // root ignores permission bits; then the run may succeed, and the check is moot.
    if (process.getuid?.() === 0) return;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Expected a writable location for --out/);
  });
});

describe('tools train', () => {
  const full = join(work, 'full');
  let result: ReturnType<typeof train>;

  beforeAll(() => {
    result = train(...quick, '--epochs', '2', '--out', full, '--backend', 'wasm');
  });

  it('learns: the validation loss falls and beats the noisy input', () => {
    expect(result.code, result.stderr).toBe(0);
    const h = history(full);
    expect(h.map((r) => r.epoch)).toEqual([1, 2]);
    expect(h[1]!.trainLoss).toBeLessThan(h[0]!.trainLoss);
    expect(h[1]!.valLoss).toBeLessThan(h[0]!.valLoss);
    expect(result.stderr).toMatch(/backend: wasm/);
    expect(result.stderr).toMatch(/epoch 2\/2: train loss/);
  });

  it('writes artifacts that load back', async () => {
    expect(readdirSync(full).sort()).toEqual(['card.md', 'checkpoint.safetensors', 'config.json', 'history.json', 'loss.png', 'samples.png', 'spec.json', 'weights.safetensors']);
    const { tensors } = parseSafetensors(readFileSync(join(full, 'weights.safetensors')), 'weights');
    expect(tensors.get('encoder_conv1.kernel')!.shape).toEqual([3, 3, 1, 16]);
    expect((await sharp(join(full, 'samples.png')).metadata()).format).toBe('png');
    expect((await sharp(join(full, 'loss.png')).metadata()).format).toBe('png');
    const config = JSON.parse(readFileSync(join(full, 'config.json'), 'utf8'));
    expect(config.settings).toMatchObject({ epochs: 2, batchSize: 32, learningRate: 0.001, seed: 3, noise: { kind: 'gaussian', factor: 0.4 } });
    expect(config.data).toMatchObject({ name: 'mnist', train: 256, test: 256 });
    expect(readFileSync(join(work, 'runs/latest'), 'utf8').trim()).toBe('full');
  });

  it('resumes an interrupted run to the same result as the uninterrupted one', () => {
    const part = join(work, 'part');
    expect(train(...quick, '--epochs', '1', '--out', part, '--backend', 'wasm').code).toBe(0);
    const resumed = train('--resume', part, '--epochs', '2', '--backend', 'wasm');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming .*part after epoch 1 of 2/);
    const a = history(full);
    const b = history(part);
    expect(b).toHaveLength(2);
    for (const key of ['trainLoss', 'valLoss', 'valPsnr'] as const) expect(b[1]![key]).toBeCloseTo(a[1]![key], 6);
  });

  it('matches the stock cpu backend within tolerance', () => {
    const cpu = join(work, 'cpu');
    const r = train(...quick, '--epochs', '1', '--out', cpu, '--backend', 'cpu', '--limit', '64');
    const wasm = join(work, 'wasm');
    const w = train(...quick, '--epochs', '1', '--out', wasm, '--backend', 'wasm', '--limit', '64');
    expect(r.code, r.stderr).toBe(0);
    expect(w.code, w.stderr).toBe(0);
    const [c] = history(cpu);
    const [x] = history(wasm);
    expect(Math.abs(c!.trainLoss - x!.trainLoss) / c!.trainLoss).toBeLessThan(1e-3);
    expect(Math.abs(c!.valLoss - x!.valLoss) / c!.valLoss).toBeLessThan(1e-3);
  });
});
