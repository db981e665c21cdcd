// Optional download of the official Fashion-MNIST gzip IDX files into a cache folder, MD5-verified, atomic.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { check, checkObject, checkString, described, invalid } from 'onnx-denoiser-common';

/** The download site the Fashion-MNIST README links to (plain HTTP; integrity comes from the MD5 check). */
export const FASHION_MNIST_BASE_URL = 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/';

/** The four official files and their MD5 checksums, as published in the zalandoresearch/fashion-mnist README. */
export const FASHION_MNIST_MD5: Readonly<Record<string, string>> = Object.freeze({
  'train-images-idx3-ubyte.gz': '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
  'train-labels-idx1-ubyte.gz': '25c81989df183df01b3e8a0aad5dffbe',
  't10k-images-idx3-ubyte.gz': 'bef4ecab320f06d8554ea6380940ec79',
  't10k-labels-idx1-ubyte.gz': 'bb300cfdad3c16e7a12a480ee83cd310',
});

/** The default cache folder, relative to the working directory (the project root when run from it). */
export const DEFAULT_FASHION_MNIST_CACHE = join('.cache', 'fashion-mnist');

/** A progress report of {@link downloadFashionMnist}. */
export interface DownloadProgress {
  /** The file name, e.g. `train-images-idx3-ubyte.gz`. */
  file: string;
  /** `cached`: already present with the right checksum; `start`, `progress`, `done`: a download. */
  phase: 'cached' | 'start' | 'progress' | 'done';
  /** Bytes received so far (the file size for `cached` and `done`). */
  receivedBytes: number;
  /** The size announced by the server (Content-Length), or null. */
  totalBytes: number | null;
}

/** Options of {@link downloadFashionMnist}; the URL and checksums are injectable for tests and mirrors. */
export interface DownloadOptions {
  /** The cache folder (default {@link DEFAULT_FASHION_MNIST_CACHE}, resolved against the working directory). */
  cacheDir?: string;
  /** The base URL the file names are appended to (default {@link FASHION_MNIST_BASE_URL}). */
  baseUrl?: string;
  /** File name -> expected MD5 (hex); also the list of files to fetch (default {@link FASHION_MNIST_MD5}). */
  checksums?: Readonly<Record<string, string>>;
  /** Called with progress reports; the library never prints. */
  onProgress?: (progress: DownloadProgress) => void;
  /** Aborts the downloads. */
  signal?: AbortSignal;
}

/** What {@link downloadFashionMnist} did. */
export interface DownloadResult {
  /** The absolute cache folder, ready for the IDX reader. */
  dir: string;
  /** The base URL used. */
  baseUrl: string;
  /** Every file, verified, as absolute paths. */
  files: string[];
  /** Names of the files fetched this time. */
  downloaded: string[];
  /** Names of the files already present with the right checksum. */
  cached: string[];
}

/** The MD5 of a file, hex. */
export async function md5File(path: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isFile(), () => false);
}

function checkChecksums(value: unknown): Record<string, string> {
  const table = checkObject(value, 'checksums');
  const out: Record<string, string> = {};
  check(Object.keys(table).length > 0, 'at least one file', 'checksums', table);
  for (const [file, md5] of Object.entries(table)) {
    checkString(file, 'a file name in checksums', { regex: /^[A-Za-z0-9._-]+$/, description: 'a plain file name (letters, digits, ".", "_", "-")' });
    out[file] = checkString(md5, `checksums["${file}"]`, { regex: /^[0-9a-fA-F]{32}$/, description: 'an MD5 of 32 hex digits' }).toLowerCase();
  }
  return out;
}

async function fetchVerified(url: string, file: string, target: string, expected: string, options: DownloadOptions): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, { signal: options.signal });
  } catch (error) {
    const cause = (error as Error & { cause?: Error }).cause;
    throw new Error(`Could not download ${url}: ${(error as Error).message}${cause?.message ? ` (${cause.message})` : ''}`, { cause: error });
  }
  if (!response.ok || response.body === null) {
    await response.body?.cancel();
    throw invalid('HTTP status 200', url, described(`${response.status} ${response.statusText}`.trimEnd()));
  }
  const length = Number(response.headers.get('content-length'));
  const totalBytes = Number.isFinite(length) && length > 0 ? length : null;
  const temp = join(dirname(target), `.${file}.${randomBytes(4).toString('hex')}.tmp`);
  const hash = createHash('md5');
  const handle = await open(temp, 'wx');
  let receivedBytes = 0;
  try {
    options.onProgress?.({ file, phase: 'start', receivedBytes, totalBytes });
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      hash.update(value);
      await handle.write(value);
      receivedBytes += value.length;
      options.onProgress?.({ file, phase: 'progress', receivedBytes, totalBytes });
    }
    await handle.close();
    const actual = hash.digest('hex');
    if (actual !== expected) {
      throw invalid(`MD5 ${expected}`, `${file} (downloaded from ${url})`, described(`MD5 ${actual}; the download was discarded`), { argument: file });
    }
    await rename(temp, target);
    options.onProgress?.({ file, phase: 'done', receivedBytes, totalBytes });
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw error;
  }
}

/**
 * Fetches the official Fashion-MNIST gzip IDX files (or the injected `checksums` table's files from
 * `baseUrl`) into the cache folder with Node's fetch. Each file streams to a temp name in that folder
 * and is renamed into place only once its MD5 matches; a mismatch throws naming the file and both
 * checksums, and leaves no file behind. Files already cached with the right checksum are not fetched
 * again; a cached file with a wrong checksum is deleted and fetched again.
 */
export async function downloadFashionMnist(options: DownloadOptions = {}): Promise<DownloadResult> {
  const baseText = checkString(options.baseUrl ?? FASHION_MNIST_BASE_URL, 'baseUrl', { regex: /^https?:\/\/[^\s]+$/, description: 'an http:// or https:// URL' });
  const baseUrl = baseText.endsWith('/') ? baseText : `${baseText}/`;
  const checksums = checkChecksums(options.checksums ?? FASHION_MNIST_MD5);
  const dir = resolve(checkString(options.cacheDir ?? DEFAULT_FASHION_MNIST_CACHE, 'cacheDir'));
  await mkdir(dir, { recursive: true });
  const result: DownloadResult = { dir, baseUrl, files: [], downloaded: [], cached: [] };
  for (const [file, expected] of Object.entries(checksums)) {
    const target = join(dir, file);
    if (await isFile(target)) {
      if ((await md5File(target)) === expected) {
        const { size } = await stat(target);
        options.onProgress?.({ file, phase: 'cached', receivedBytes: size, totalBytes: size });
        result.cached.push(file);
        result.files.push(target);
        continue;
      }
      await rm(target, { force: true });
    }
    await fetchVerified(new URL(file, baseUrl).href, file, target, expected, options);
    result.downloaded.push(file);
    result.files.push(target);
  }
  return result;
}
