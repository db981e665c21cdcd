// The `tools` and `denoise` bins as a user runs them: exit codes and messages.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDirs } from '../temp-dir.js';

const makeTempDir = tempDirs();

function run(bin: string, ...args: string[]) {
  const result = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}
const tools = (...args: string[]) => run('tools/bin/tools.js', ...args);
/** `tools` run in a fresh empty folder (so nothing can touch this checkout's runs/); returns the folder too. */
function toolsIn(...args: string[]) {
  const cwd = makeTempDir('tools-cli-');
  const result = spawnSync(process.execPath, [join(process.cwd(), 'tools/bin/tools.js'), ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr, cwd };
}
const spec = join(process.cwd(), 'models/noise-reducer.json');

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

  it('an unknown flag stops the command before any work or file: train and export-onnx', () => {
    const train = toolsIn('train', '--epoch', '1', '--spec', spec, '--dataset', 'mnist', '--limit', '32', '--out', 'run', '--quiet');
    expect(train.code).toBe(2);
    expect(train.stderr).toMatch(/Unknown argument: epoch/);
    expect(train.stderr).not.toMatch(/backend:|data:|epoch \d/);
    expect(readdirSync(train.cwd)).toEqual([]);
    const exported = toolsIn('export-onnx', '--frobnicate', '--spec', spec, '--random-weights', '--out', 'model.onnx');
    expect(exported.code).toBe(2);
    expect(exported.stderr).toMatch(/Unknown argument: frobnicate/);
    expect(exported.stdout).toBe('');
    expect(existsSync(join(exported.cwd, 'model.onnx'))).toBe(false);
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
    const r = run('runtime-node/bin/denoise.js', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/denoise IN\.\.\. \[-o OUT\]/);
  });
});

describe('the bins as npm links them', () => {
  const bins = [
    ['tools', 'tools/bin/tools.js', 'tools/package.json'],
    ['denoise', 'runtime-node/bin/denoise.js', 'runtime-node/package.json'],
  ] as const;

  it.each(bins)('%s: the package.json bin entry is a committed executable with a node shebang (glibc huge pages asked for through env -S)', (name, file, manifest) => {
    const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { bin: Record<string, string> };
    expect(`${manifest.split('/')[0]}/${pkg.bin[name]}`).toBe(file);
    expect(statSync(file).mode & 0o111).toBe(0o111);
    expect(readFileSync(file, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env -S GLIBC_TUNABLES=glibc.malloc.hugetlb=1 node');
  });

  it.each(bins)('%s --version: the package version, exit 0, run directly (no node in front)', (_name, file, manifest) => {
    const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string };
    const r = spawnSync(file, ['--version'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(version);
  });
});
