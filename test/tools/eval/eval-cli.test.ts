// `tools eval` on a dataset's test split end to end through the built bin: bad calls, and a run whose figures can be checked independently (photo folders: eval-photos.test.ts).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EvalResult } from '../../../tools/eval/evaluate.js';
import { identityModel } from '../../../tools/onnx/test-models.js';
import { tempDirs } from '../../temp-dir.js';

const makeTempDir = tempDirs();
const work = makeTempDir('eval-cli-');
const identity = join(work, 'identity.onnx');

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [join(process.cwd(), 'tools/bin/tools.js'), 'eval', ...args], { cwd: work, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  writeFileSync(identity, identityModel());
  mkdirSync(join(work, 'empty'));
});

describe('tools eval: bad calls', () => {
  it.each([
    [['--levels', '0.2,x'], 'Expected comma-separated numbers such as 0.2,0.4,0.6 for --levels but received "0.2,x"'],
    [['--levels', '-1'], 'for --levels (gaussian noise) but received -1'],
    [['--noise', 'speckle'], 'for --noise but received "speckle"'],
    [['--device', 'tpu'], 'Expected one of "auto", "cpu", "webgpu", "cuda" for --device but received "tpu"'],
    [['--dataset', 'cifar'], 'for --dataset but received "cifar"'],
    [['--limit', '0'], 'Expected an integer >= 1 for --limit but received 0'],
    [['--images', 'empty'], 'for --images but received "empty"'],
    [['--model', 'missing.onnx', '--limit', '5'], 'Cannot read model file missing.onnx: no such file'],
  ])('%j', (args, message) => {
    const r = run(...args, '--out', 'bad');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(message);
  });
});

describe('tools eval', () => {
  let result: EvalResult;
  let table: string;

  beforeAll(() => {
    const r = run('--dataset', 'mnist', '--limit', '40', '--levels', '0.1,0.5', '--model', identity, '--json', '--out', 'mnist');
    expect(r.code, r.stderr).toBe(0);
    result = JSON.parse(r.stdout) as EvalResult;
    table = readFileSync(join(work, 'mnist', 'eval.md'), 'utf8');
  });

  it('scores every method at every level, an identity model exactly like the noisy input', () => {
    expect(result.count).toBe(40);
    expect(result.levels.map((l) => l.level)).toEqual([0.1, 0.5]);
    for (const level of result.levels) {
      expect(level.scores.map((s) => s.method)).toEqual(['noisy input', 'Gaussian blur', 'median 3x3', 'identity.onnx']);
      const [noisy, blur, , model] = level.scores;
      expect(model!.psnr).toBeCloseTo(noisy!.psnr, 5);
      expect(model!.ssim).toBeCloseTo(noisy!.ssim!, 5);
      // The blur at its best sigma beats the noisy input by construction (sigma -> 0 is the input).
      expect(blur!.psnr).toBeGreaterThan(noisy!.psnr);
    }
    expect(result.levels[1]!.scores[0]!.psnr).toBeLessThan(result.levels[0]!.scores[0]!.psnr);
  });

  it('writes the markdown table and one decodable grid per level', async () => {
    expect(table).toContain('| method | gaussian 0.1 | gaussian 0.5 |');
    expect(table).toMatch(/\| Gaussian blur \| [\d.]+ dB \/ [\d.]+ \(σ [\d.]+\) \|/);
    for (const level of ['0.1', '0.5']) expect((await sharp(join(work, 'mnist', `eval-gaussian-${level}.png`)).metadata()).format).toBe('png');
  });

  it('is reproducible: the same seed gives the same numbers, another seed others', () => {
    const again = JSON.parse(run('--dataset', 'mnist', '--limit', '40', '--levels', '0.1,0.5', '--model', identity, '--json', '--out', 'again').stdout) as EvalResult;
    // Notes hold timings; the scores themselves must repeat exactly.
    const figures = (r: EvalResult) => r.levels.map((l) => l.scores.map(({ method, psnr, ssim }) => ({ method, psnr, ssim })));
    expect(figures(again)).toEqual(figures(result));
    const other = JSON.parse(run('--dataset', 'mnist', '--limit', '40', '--levels', '0.1', '--model', identity, '--json', '--seed', '9', '--out', 'other').stdout) as EvalResult;
    expect(other.levels[0]!.scores[0]!.psnr).not.toBe(result.levels[0]!.scores[0]!.psnr);
  });
});
