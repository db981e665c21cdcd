// `tools bench`: an unknown benchmark is refused naming the valid ones; the report's machine table names what matters.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { benchResults, machineDescription, resultTable } from '../../../tools/commands/bench.js';

describe('tools bench: bad calls', () => {
  it('refuses an unknown benchmark, listing the valid ones, before running any', () => {
    const r = spawnSync(process.execPath, [join(process.cwd(), 'tools/bin/tools.js'), 'bench', 'train', 'gpu'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('error: Expected one of "train", "train-photo", "node", "web" for bench but received "gpu"');
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

describe('tools bench: the results table', () => {
  it('reads RESULT lines among the rest and rates each against its target, worked by hand', () => {
    const output = [
      'some log line',
      'RESULT {"measure":"lib vs raw","project":95,"peer":100,"peerName":"raw","kind":"ratio","target":0.95,"device":"cpu"}',
      '| a table | row |',
      'RESULT {"measure":"folder","project":2999,"kind":"min","target":3000}',
      'RESULT {"measure":"start-up","project":0.42,"kind":"max","target":0.5}',
    ].join('\n');
    const results = benchResults(output);
    expect(results.map((r) => r.measure)).toEqual(['lib vs raw', 'folder', 'start-up']);
    expect(resultTable(results)).toEqual([
      '| measure | device | project | peer or raw | ratio | target | met |',
      '| --- | --- | ---: | ---: | ---: | ---: | --- |',
      // 95 / 100 = 0.95, which meets >= 0.95.
      '| lib vs raw | cpu | 95.0 | 100 (raw) | 0.95x | >= 0.95x | yes |',
      '| folder |  | 2999 |  |  | >= 3000 | no |',
      '| start-up |  | 0.42 |  |  | <= 0.5 | yes |',
    ]);
  });
});
