// The global setup's up-to-date check agrees with tsc -b on a two-project fixture: fresh after a build, stale after each kind of edit.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tscBuildStaleness } from './global-setup.js';
import { tempDirs } from './temp-dir.js';

const makeTempDir = tempDirs();
const root = makeTempDir('tsc-staleness-');
const tsc = path.resolve('node_modules/typescript/bin/tsc');
const at = (...parts: string[]) => path.join(root, ...parts);
const json = (file: string, value: unknown) => writeFileSync(at(file), JSON.stringify(value));
const build = () => spawnSync(process.execPath, [tsc, '-b', 'tsconfig.build.json'], { cwd: root, encoding: 'utf8' });
// File times are kept at the kernel's coarse clock (a few ms): an edit right after a build could share its time.
const later = () => new Promise((resolve) => setTimeout(resolve, 30));

/** Makes an edit, expects the check to name it, then puts the files (relative to the fixture) back as they were, times too. */
function undone(files: string[], edit: () => void, reason: string): void {
  const before = files.map((file) => {
    const full = at(file);
    return { full, stat: existsSync(full) ? statSync(full) : undefined, text: existsSync(full) && statSync(full).isFile() ? readFileSync(full) : undefined };
  });
  edit();
  expect(tscBuildStaleness(root)).toBe(reason);
  for (const { full, stat, text } of before.reverse()) {
    if (!stat) rmSync(full, { force: true });
    else if (text) writeFileSync(full, text);
  }
  for (const { full, stat } of before) if (stat) utimesSync(full, stat.atime, stat.mtime);
}

describe('tscBuildStaleness', () => {
  it('is stale before a build, current after it, and stale again after each edit until tsc -b runs', async () => {
    mkdirSync(at('node_modules'));
    symlinkSync(path.resolve('node_modules/typescript'), at('node_modules', 'typescript'));
    json('package.json', { name: 'fixture', private: true, type: 'module' });
    // A comment and a trailing comma, as tsconfig files have.
    writeFileSync(at('tsconfig.build.json'), '{\n  // both projects\n  "files": [],\n  "references": [{ "path": "./a" }, { "path": "./b" },],\n}\n');
    json('tsconfig.base.json', { compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, declaration: true, types: [], lib: ['ES2022'], skipLibCheck: true } });
    for (const name of ['a', 'b']) {
      mkdirSync(at(name));
      json(`${name}/package.json`, { name, type: 'module' });
      json(`${name}/tsconfig.json`, { extends: '../tsconfig.base.json', compilerOptions: { composite: true, rootDir: '.', outDir: 'dist' }, include: ['*.ts'], ...(name === 'b' ? { references: [{ path: '../a' }] } : {}) });
    }
    writeFileSync(at('a', 'value.ts'), 'export const value: number = 1;\n');
    writeFileSync(at('b', 'use.ts'), "import { value } from '../a/value.js';\nexport const twice = value * 2;\n");

    expect(tscBuildStaleness(root)).toBe('a/dist/tsconfig.tsbuildinfo is missing');
    expect(build().status).toBe(0);
    expect(tscBuildStaleness(root)).toBeUndefined();

    // A touched source: tsc -b only updates the build's times.
    await later();
    const now = new Date();
    utimesSync(at('b', 'use.ts'), now, now);
    expect(tscBuildStaleness(root)).toBe('b/use.ts is newer than b/dist/tsconfig.tsbuildinfo');
    expect(build().status).toBe(0);
    expect(tscBuildStaleness(root)).toBeUndefined();

    // An upstream declaration change: tsc -b rebuilds a and brings b up to date.
    await later();
    writeFileSync(at('a', 'value.ts'), 'export const value: number = 1;\nexport const other = 3;\n');
    expect(tscBuildStaleness(root)).toBe('a/value.ts is newer than a/dist/tsconfig.tsbuildinfo');
    expect(build().status).toBe(0);
    expect(tscBuildStaleness(root)).toBeUndefined();

    // Edits that are undone again, with their times, so each needs no build: a new file, a deleted one, a config change.
    await later();
    undone(['b', 'b/more.ts'], () => writeFileSync(at('b', 'more.ts'), 'export const more = 4;\n'), 'b is newer than b/dist/tsconfig.tsbuildinfo');
    undone(['a', 'a/value.ts'], () => rmSync(at('a', 'value.ts')), 'a/value.ts, a source of a, is gone');
    undone(['tsconfig.base.json'], () => writeFileSync(at('tsconfig.base.json'), '{}'), 'tsconfig.base.json is newer than a/dist/tsconfig.tsbuildinfo');
    expect(tscBuildStaleness(root)).toBeUndefined();

    // A type error stays stale after the failed build, as tsc -b keeps rebuilding it.
    await later();
    writeFileSync(at('b', 'use.ts'), "import { value } from '../a/value.js';\nexport const twice: string = value * 2;\n");
    const failed = build();
    expect(failed.status, failed.stdout).not.toBe(0);
    expect(failed.stdout).toContain("error TS2322: Type 'number' is not assignable to type 'string'");
    expect(tscBuildStaleness(root)).toBe('b/dist/tsconfig.tsbuildinfo records errors');
    // What tsc -b itself says of the same tree.
    expect(execFileSync(process.execPath, [tsc, '-b', 'tsconfig.build.json', '--dry'], { cwd: root, encoding: 'utf8' })).toMatch(/A non-dry build would build project .*b\/tsconfig\.json/);
  }, 120_000);
});
