// The CPU provider's default threads: physical cores counted from a Linux topology tree, capped by what the process may use.
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultCpuThreads, physicalCores } from '../../runtime-node/cpu-cores.js';
import { tempDirs } from '../temp-dir.js';

const makeTempDir = tempDirs();

/** A fake /sys/devices/system/cpu: one entry per logical CPU, [package, core] or null for an offline CPU. */
function topology(cpus: ([number, number] | null)[]): string {
  const root = makeTempDir('cpu-cores-');
  mkdirSync(path.join(root, 'cpufreq'));
  writeFileSync(path.join(root, 'online'), '0-3\n');
  cpus.forEach((ids, i) => {
    const dir = path.join(root, `cpu${i}`);
    mkdirSync(dir);
    if (!ids) return;
    mkdirSync(path.join(dir, 'topology'));
    writeFileSync(path.join(dir, 'topology', 'physical_package_id'), `${ids[0]}\n`);
    writeFileSync(path.join(dir, 'topology', 'core_id'), `${ids[1]}\n`);
  });
  return root;
}

describe('cpu cores: bad calls', () => {
  it('leaves the choice to onnxruntime where there is no topology to read', () => {
    expect(physicalCores(path.join(tmpdir(), 'no-such-cpu-tree'))).toBeUndefined();
    expect(defaultCpuThreads(path.join(tmpdir(), 'no-such-cpu-tree'), 8)).toBeUndefined();
    expect(defaultCpuThreads(topology([null, null]), 8)).toBeUndefined();
  });
});

describe('cpu cores', () => {
  it('counts the two hardware threads of a core once, and cores of two packages apart', () => {
    // 8 logical CPUs: 2 packages x 2 cores x 2 threads (core ids repeat across packages).
    const root = topology([[0, 0], [0, 1], [1, 0], [1, 1], [0, 0], [0, 1], [1, 0], [1, 1]]);
    expect(physicalCores(root)).toBe(4);
    expect(defaultCpuThreads(root, 8)).toBe(4);
  });

  it('takes no more threads than the process may run on, and skips offline CPUs and other entries', () => {
    const root = topology([[0, 0], [0, 1], null, [0, 3]]);
    expect(physicalCores(root)).toBe(3);
    expect(defaultCpuThreads(root, 2)).toBe(2);
    expect(defaultCpuThreads(root, 16)).toBe(3);
  });

  it('reads this machine without failing (where Linux lists CPUs, at least one core)', () => {
    const cores = physicalCores();
    if (process.platform === 'linux') expect(cores).toBeGreaterThanOrEqual(1);
    else expect(cores === undefined || cores >= 1).toBe(true);
  });
});
