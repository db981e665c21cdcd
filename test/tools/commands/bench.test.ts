// `tools bench`: an unknown benchmark is refused naming the valid ones; the report's machine table names what matters.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { machineDescription } from '../../../tools/commands/bench.js';

describe('tools bench: bad calls', () => {
  it('refuses an unknown benchmark, listing the valid ones, before running any', () => {
    const r = spawnSync(process.execPath, [join(process.cwd(), 'tools/bin/tools.js'), 'bench', 'train', 'gpu'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('error: Expected one of "train", "node", "web" for bench but received "gpu"');
    expect(r.stderr).not.toContain('== tools bench train');
  });
});

describe('tools bench', () => {
  it('describes the machine: CPU, memory, GPU nodes and the runtime versions', () => {
    const table = Object.fromEntries(machineDescription());
    expect(Object.keys(table)).toEqual(['CPU', 'memory', 'OS', 'GPU device nodes', 'Vulkan drivers named', 'Node', 'onnxruntime-node / -web', 'TF.js']);
    expect(table['onnxruntime-node / -web']).toMatch(/^\d+\.\d+\.\d+ \/ \d+\.\d+\.\d+$/);
    expect(table.Node).toBe(process.version);
  });
});
