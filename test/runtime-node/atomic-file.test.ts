// Atomic output files: complete or absent, never replacing without overwrite, no temp file left behind, small and large paths alike.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TEMP_FILE_PATTERN, WriteFailure, writeFileAtomic } from '../../runtime-node/atomic-file.js';
import { tempDirs } from '../temp-dir.js';

const makeTempDir = tempDirs();
const work = () => makeTempDir('atomic-file-');
const temps = (dir: string) => readdirSync(dir).filter((name) => TEMP_FILE_PATTERN.test(name) || name.endsWith('.tmp'));

describe('atomic file: bad calls', () => {
  it('a folder path through a file: a WriteFailure naming the file, nothing written', async () => {
    const dir = work();
    writeFileSync(path.join(dir, 'plain'), 'x');
    const target = path.join(dir, 'plain', 'sub', 'out.png');
    await expect(writeFileAtomic(target, new Uint8Array(10), { overwrite: false })).rejects.toMatchObject({ name: 'WriteFailure', code: 'ENOTDIR', reason: `${path.join(dir, 'plain')} is a file, not a folder` });
    await expect(writeFileAtomic(target, new Uint8Array(10), { overwrite: false })).rejects.toBeInstanceOf(WriteFailure);
  });

  it('an existing target without overwrite: EEXIST, the old content kept, no temp file left (small and large)', async () => {
    const dir = work();
    for (const size of [100, 200_000]) {
      const target = path.join(dir, `exists-${size}`);
      writeFileSync(target, 'old');
      await expect(writeFileAtomic(target, new Uint8Array(size).fill(1), { overwrite: false })).rejects.toMatchObject({ code: 'EEXIST' });
      expect(readFileSync(target, 'utf8')).toBe('old');
    }
    expect(temps(dir)).toEqual([]);
  });
});

describe('atomic file', () => {
  it('writes many small files and large ones whole, into folders it makes, and leaves no temp file', async () => {
    const dir = work();
    const files = Array.from({ length: 300 }, (_, i) => ({ file: path.join(dir, 'deep', 'er', `f${i}.bin`), data: new Uint8Array(50 + i).fill(i & 255) }));
    files.push({ file: path.join(dir, 'large.bin'), data: new Uint8Array(300_000).map((_, i) => i & 255) });
    await Promise.all(files.map(({ file, data }) => writeFileAtomic(file, data, { overwrite: false })));
    for (const { file, data } of files) expect(new Uint8Array(readFileSync(file))).toEqual(data);
    expect(temps(path.join(dir, 'deep', 'er'))).toEqual([]);
    expect(temps(dir)).toEqual([]);
  });

  it('replaces a target with overwrite, small and large', async () => {
    const dir = work();
    for (const size of [10, 100_000]) {
      const target = path.join(dir, `t${size}`);
      writeFileSync(target, 'old');
      await writeFileAtomic(target, new Uint8Array(size).fill(7), { overwrite: true });
      expect(new Uint8Array(readFileSync(target))).toEqual(new Uint8Array(size).fill(7));
    }
    expect(temps(dir)).toEqual([]);
  });
});
