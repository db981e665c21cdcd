// The web build's record: current right after a build, stale (saying why) for each thing that makes it out of date.
import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildWeb, webBuildStaleness } from '../../../tools/web/build.js';
import { tempDirs } from '../../temp-dir.js';

const makeTempDir = tempDirs();
const work = makeTempDir('web-build-');
const outDir = path.join(work, 'web');
const recordFile = `${outDir}.inputs.json`;
let original = '';

/** The record with `change` applied, checked, then put back. */
function withRecord(change: (record: Record<string, any>) => void): string | undefined {
  const record = JSON.parse(original);
  change(record);
  writeFileSync(recordFile, JSON.stringify(record));
  try {
    return webBuildStaleness({ outDir });
  } finally {
    writeFileSync(recordFile, original);
  }
}

beforeAll(async () => {
  await buildWeb({ outDir });
  original = readFileSync(recordFile, 'utf8');
});

describe('webBuildStaleness', () => {
  it('is current right after a build, whose record lists the bundles\' sources, the copied files and onnxruntime-web\'s version', () => {
    expect(webBuildStaleness({ outDir })).toBeUndefined();
    const record = JSON.parse(original);
    expect(record.inputs).toEqual(expect.arrayContaining(['runtime-web/index.ts', 'runtime-web/demo/demo.ts', 'runtime-common/index.ts', 'runtime-web/demo/index.html', 'models/noise-reducer.onnx', 'tools/web/build.ts', 'tsconfig.json']));
    expect(record.inputs.filter((f: string) => f.includes('node_modules'))).toEqual([]);
    expect(Object.keys(record.packages)).toContain('node_modules/onnxruntime-web');
    expect(Object.keys(record.outputs)).toEqual(expect.arrayContaining(['runtime-web.js', 'demo.js', 'index.html', 'ort/ort-wasm-simd-threaded.jsep.wasm']));
  });

  it('is stale for other options, another esbuild or onnxruntime-web, a source changed after the build began, a new shipped model', () => {
    expect(webBuildStaleness({ outDir, demo: false })).toMatch(/^the last build had options \{"demo":true,.*\}, not \{"demo":false,/);
    expect(withRecord((r) => (r.esbuild = '0.0.1'))).toMatch(/^the last build used esbuild 0\.0\.1, not \d+\.\d+\.\d+$/);
    expect(withRecord((r) => (r.packages['node_modules/onnxruntime-web'] = '0.0.1'))).toMatch(/^node_modules\/onnxruntime-web is \d+\.\d+\.\d+ now, the last build read 0\.0\.1$/);
    expect(withRecord((r) => (r.startedAt = 0))).toMatch(/^\S+ changed after the last build began$/);
    expect(withRecord((r) => (r.inputs = r.inputs.filter((f: string) => f !== 'models/noise-reducer.onnx')))).toBe('models/noise-reducer.onnx is new to the build');
    expect(withRecord((r) => r.inputs.push('runtime-web/no-such-file.ts'))).toBe('runtime-web/no-such-file.ts is gone');
    expect(webBuildStaleness({ outDir })).toBeUndefined();
  });

  it('is stale when an output changed or is gone, or the record is missing', () => {
    appendFileSync(path.join(outDir, 'index.html'), '\n');
    expect(webBuildStaleness({ outDir })).toBe(`${path.relative(process.cwd(), path.join(outDir, 'index.html'))} changed after the build`);
    rmSync(path.join(outDir, 'demo.js'));
    expect(webBuildStaleness({ outDir })).toBe(`${path.relative(process.cwd(), path.join(outDir, 'demo.js'))} is gone`);
    rmSync(recordFile);
    expect(webBuildStaleness({ outDir })).toBe(`${path.relative(process.cwd(), recordFile)} (the record of the last build) is missing or unreadable`);
  });
});
