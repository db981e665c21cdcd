// Every bench runs to its end on a tiny setting (benchmarks are not timed tests: only that they run, and print their figures).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { benchResults } from '../../../tools/commands/bench.js';

const tsx = (script: string, ...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', path.resolve(script), ...args], { encoding: 'utf8', timeout: 180_000 });

describe('benches: bad calls', () => {
  it('the node bench on a device list naming only a device missing here says why, and prints no figure', () => {
    const r = tsx('tools/bench/node-bench.ts', '--small', '2', '--size', '32', '--big-mp', '0', '--seconds', '0.01', '--rounds', '1', '--devices', 'cuda');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^cuda: not available \(/m);
    expect(benchResults(r.stdout)).toEqual([]);
  });
});

describe('benches on a tiny setting', () => {
  it('node: the raw session, the library and the CLI, with its five figures against issue 16\'s targets', () => {
    const r = tsx('tools/bench/node-bench.ts', '--small', '20', '--size', '64', '--big-mp', '0', '--seconds', '0.05', '--rounds', '1', '--devices', 'cpu');
    expect(r.status, r.stderr).toBe(0);
    const results = benchResults(r.stdout);
    expect(results.map((x) => x.measure)).toEqual([
      '28x28, batch 1: library vs raw session (img/s)',
      '28x28, batch 256: library vs raw session (img/s)',
      '64x64 PNG: CLI vs raw session (MP/s)',
      'denoise <folder> of 20 28x28 PNGs, after start-up (img/s)',
      'CLI start-up: one small file from process start (s)',
    ]);
    for (const x of results) expect(Number.isFinite(x.project) && x.project > 0, x.measure).toBe(true);
  });

  it('train: the wasm path\'s images/s in its table (the PyTorch peer left out)', () => {
    const r = tsx('tools/bench/train-bench.ts', '--steps', '5', '--cpu-steps', '1', '--repeats', '1', '--backends', 'wasm', '--no-peer');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\| wasm \| wasm \(XNNPACK, SIMD, \d threads?\) \+ \d+ project kernels \| [1-9]\d* \|/m);
  });

  it('train-photo (as tools bench runs it): the photo network on 48x48 patches, its noise map fed, on the wasm path', () => {
    const r = tsx('tools/bench/train-bench.ts', '--spec', 'models/photo-denoiser.json', '--size', '48', '--steps', '1', '--repeats', '1', '--backends', 'wasm', '--no-peer');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\| wasm \| wasm \(XNNPACK, SIMD, \d threads?\) \+ \d+ project kernels \| \d+(\.\d+)? \|/m);
  });

  it('web: wasm in chromium next to onnxruntime-node (dist/web as the browser tests\' setup built it)', () => {
    const r = tsx('tools/web/bench.ts', '--size', '64', '--webgpu-size', '64', '--seconds', '0.2', '--devices', 'wasm');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ {2}28x28, batch 1 \(images\/s\) +[1-9]\d* +[1-9]\d*$/m);
    expect(r.stdout).toMatch(/^ {2}64x64 grey \(MP\/s\) +\d+\.\d+ +\d+\.\d+$/m);
  });
});
