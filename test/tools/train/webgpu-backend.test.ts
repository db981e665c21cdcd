// `tools train --backend webgpu` (tfjs-backend-webgpu through Dawn) on SwiftShader: a few steps learn and match the wasm path.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import type { EpochRecord } from '../../../tools/train/trainer.js';
import { skipWithReason } from '../../skip-with-reason.js';
import { tempDirs } from '../../temp-dir.js';

const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';
const makeTempDir = tempDirs();
const work = makeTempDir('train-webgpu-');
const quick = ['--spec', join(process.cwd(), 'models/noise-reducer.json'), '--dataset', 'mnist', '--limit', '64', '--batch-size', '16', '--epochs', '2', '--seed', '5', '--quiet'];

function train(env: Record<string, string>, ...args: string[]) {
  const r = spawnSync(process.execPath, [join(process.cwd(), 'tools/bin/tools.js'), 'train', ...quick, ...args], { cwd: work, encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status, stderr: r.stderr };
}
const history = (dir: string) => JSON.parse(readFileSync(join(work, dir, 'history.json'), 'utf8')) as EpochRecord[];

describe('tools train --backend webgpu: bad calls', () => {
  it('names the backend and why when no Vulkan driver can be found, and leaves no run folder', () => {
    const r = train({ VK_ICD_FILENAMES: join(work, 'no-such-driver.json') }, '--backend', 'webgpu', '--out', 'no-gpu');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Expected a TF\.js backend that loads for --backend but received "webgpu": /);
    expect(existsSync(join(work, 'no-gpu'))).toBe(false);
  });
});

describe('tools train --backend webgpu (SwiftShader)', () => {
  beforeEach((ctx) => skipWithReason(ctx, !existsSync(SWIFTSHADER), `no SwiftShader Vulkan driver at ${SWIFTSHADER} (Debian: apt-get install chromium libvulkan1)`));
  it('trains: the loss falls, and every epoch matches the wasm path within 1e-4 relative', { timeout: 180_000 }, () => {
    const gpu = train({ VK_ICD_FILENAMES: SWIFTSHADER }, '--backend', 'webgpu', '--out', 'webgpu');
    expect(gpu.code, gpu.stderr).toBe(0);
    expect(gpu.stderr).toMatch(/backend: webgpu \(.*via Dawn\)/);
    const cpu = train({}, '--backend', 'wasm', '--out', 'wasm');
    expect(cpu.code, cpu.stderr).toBe(0);
    const [g, w] = [history('webgpu'), history('wasm')];
    expect(g).toHaveLength(2);
    expect(g[1]!.trainLoss).toBeLessThan(g[0]!.trainLoss);
    expect(g[1]!.valLoss).toBeLessThan(g[0]!.valLoss);
    for (let e = 0; e < 2; e++) {
      for (const key of ['trainLoss', 'valLoss'] as const) expect(Math.abs(g[e]![key] - w[e]![key]) / w[e]![key], `epoch ${e + 1} ${key}`).toBeLessThan(1e-4);
    }
  });
});
