// The run folder's one definition: runs/latest read as training writes it (a path in a text file, or a symlink), and the files a run holds.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LATEST_FILE, latestRunDir, RUN_FILES, runFile } from '../../../tools/train/run-folder.js';
import { tempDirs } from '../../temp-dir.js';

const makeTempDir = tempDirs();
const tempDir = () => makeTempDir('run-folder-');

describe('latestRunDir: bad calls', () => {
  it('says how to make a run when runs/latest is missing or empty, naming what asked', async () => {
    const missing = join(tempDir(), 'latest');
    await expect(latestRunDir(missing)).rejects.toThrow(`Expected the path of a training run for ${missing} but received none: run "tools train" first, or name a run folder`);
    const empty = join(tempDir(), 'latest');
    writeFileSync(empty, '\n');
    await expect(latestRunDir(empty, { argument: '--resume', otherwise: 'pass --resume DIR' })).rejects.toMatchObject({
      message: `Expected the path of a training run for ${empty} but received an empty file: run "tools train" first, or pass --resume DIR`,
      argument: '--resume',
    });
  });
});

describe('run folder', () => {
  it('finds the latest run from runs/latest (a text file with the path, or a symlink)', async () => {
    const root = tempDir();
    const run = join(root, 'runs', 'r1');
    mkdirSync(run, { recursive: true });
    writeFileSync(join(root, 'runs', 'latest'), `${run}\n`);
    expect(await latestRunDir(join(root, 'runs', 'latest'))).toBe(run);
    // A path relative to the project root (the parent of runs/), as training writes it.
    writeFileSync(join(root, 'runs', 'latest'), 'runs/r1\n');
    expect(await latestRunDir(join(root, 'runs', 'latest'))).toBe(join(root, 'runs/r1'));
    const linked = tempDir();
    mkdirSync(join(linked, 'runs'));
    symlinkSync(run, join(linked, 'runs', 'latest'));
    expect(await latestRunDir(join(linked, 'runs', 'latest'))).toBe(join(linked, 'runs', 'latest'));
  });

  it('names every file a run holds, once', () => {
    expect(LATEST_FILE).toBe(join('runs', 'latest'));
    expect(Object.values(RUN_FILES).sort()).toEqual(['card.md', 'checkpoint.safetensors', 'config.json', 'history.json', 'loss.png', 'samples.png', 'spec.json', 'weights.safetensors']);
    expect(runFile('runs/a', 'weights')).toBe(join('runs/a', 'weights.safetensors'));
  });
});
