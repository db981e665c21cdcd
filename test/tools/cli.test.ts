// The `tools` and `denoise` bins as a user runs them: exit codes and messages.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

function run(bin: string, ...args: string[]) {
  const result = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}
const tools = (...args: string[]) => run('dist/tools/cli.js', ...args);

describe('tools: bad calls', () => {
  it('no command: usage error, exit 2', () => {
    const r = tools();
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Expected a command/);
  });

  it('unknown command or flag: exit 2 naming it', () => {
    expect(tools('trian').stderr).toMatch(/Unknown argument: trian/);
    const r = tools('summary', '--sise', '3');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Unknown arguments?: sise/);
  });

  it('summary with a bad size or a missing spec: exit 1 with the standard message', () => {
    const size = tools('summary', '--size', '0x4');
    expect(size.code).toBe(1);
    expect(size.stderr).toContain('Expected a size HEIGHTxWIDTH or N of positive integers (e.g. 28x28) for --size but received "0x4"');
    const missing = tools('summary', 'models/none.json');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/Cannot read spec file models\/none\.json/);
  });
});

describe('tools summary', () => {
  it('prints the tutorial network with 3,217 parameters', () => {
    const r = tools('summary', 'models/noise-reducer.json');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/encoder_conv2 \(Conv2D\)\s+│ \(None, 7, 7, 8\)\s+│\s+1,160 │/);
    expect(r.stdout).toMatch(/Total params: 3,217/);
  });

  it('uses the default spec and a given size', () => {
    const r = tools('summary', '--size', '32x48');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/decoder_output \(Conv2D\)\s+│ \(None, 32, 48, 1\)/);
  });
});

describe('denoise', () => {
  it('prints its help', () => {
    const r = run('dist/runtime-node/cli.js', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/denoise IN\.\.\. \[-o OUT\]/);
  });
});
