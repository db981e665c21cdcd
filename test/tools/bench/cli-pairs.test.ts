// tools/bench/cli-pairs.ts: two builds of the CLI in alternating pairs; here the same build twice, on a tiny folder and on one file.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDirs } from '../../temp-dir.js';

const makeTempDir = tempDirs();
const bin = path.resolve('runtime-node/bin/denoise.js');
const pairs = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', path.resolve('tools/bench/cli-pairs.ts'), ...args], { encoding: 'utf8', timeout: 120_000 });

describe('cli-pairs: bad calls', () => {
  it('asks for the build to compare with', () => {
    const r = pairs('--pairs', '1');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('Expected the bin of the build to compare with for --a');
  });
});

describe('cli-pairs', () => {
  it('times both builds in every pair: a folder with one of its files, and a single file', () => {
    const work = makeTempDir('cli-pairs-test-');
    const folder = pairs('--a', bin, '--b', bin, '--pairs', '2', '--small', '20', '--work', work);
    expect(folder.status).toBe(0);
    for (const side of ['a', 'b']) expect(folder.stdout).toMatch(new RegExp(`^${side}: folder [\\d.]+ [\\d.]+ s \\| one file [\\d.]+ [\\d.]+ s \\| files/s after start-up per pair -?\\d+ -?\\d+ \\| median -?\\d+$`, 'm'));
    const one = pairs('--a', bin, '--b', bin, '--pairs', '1', '--file', path.resolve('models/samples/fashion-grid-noisy.png'), '--work', work);
    expect(one.stderr).toBe('');
    expect(one.stdout).toMatch(/^a: [\d.]+ s \| median [\d.]+ s$/m);
  });
});
