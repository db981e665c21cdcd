// Download: bad options first, then a local HTTP server on 127.0.0.1 (never the network): success, cache, bad MD5, 404.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../../../tools/data/datasets.js';
import { DEFAULT_FASHION_MNIST_CACHE, FASHION_MNIST_BASE_URL, FASHION_MNIST_MD5, downloadFashionMnist, md5File, type DownloadProgress } from '../../../tools/data/download.js';
import { readIdxFolder } from '../../../tools/data/idx.js';
import { rejectionMessage } from '../../validation-message.js';
import { tempDirs } from '../../temp-dir.js';

const makeTempDir = tempDirs();
const tmp = makeTempDir('download-test-');

/** A gzip IDX file: magic 00 00 08 <ndims>, big-endian dims, then `data`. */
function gzIdx(dims: number[], data: number[]): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return gzipSync(Buffer.concat([header, Buffer.from(data)]));
}

// Three 2x2 training images and two test images, under the official names.
const files: Record<string, Buffer> = {
  'train-images-idx3-ubyte.gz': gzIdx([3, 2, 2], [0, 64, 128, 255, 1, 2, 3, 4, 9, 9, 9, 9]),
  'train-labels-idx1-ubyte.gz': gzIdx([3], [7, 1, 3]),
  't10k-images-idx3-ubyte.gz': gzIdx([2, 2, 2], [5, 6, 7, 8, 250, 251, 252, 253]),
  't10k-labels-idx1-ubyte.gz': gzIdx([2], [9, 0]),
};
const md5 = (bytes: Buffer) => createHash('md5').update(bytes).digest('hex');
const checksums = Object.fromEntries(Object.entries(files).map(([name, bytes]) => [name, md5(bytes)]));

let server: Server;
let baseUrl = '';
const requests: string[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    const name = (request.url ?? '').replace(/^\/data\//, '');
    requests.push(name);
    const body = files[name];
    if (!body) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('no such file');
      return;
    }
    response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
    // Two writes with a pause: a streamed body, as from a real server.
    response.write(body.subarray(0, 10));
    setTimeout(() => response.end(body.subarray(10)), 5);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/data`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const freshCache = () => mkdtempSync(join(tmp, 'cache-'));

describe('downloadFashionMnist rejects', () => {
  it.each([
    ['an ftp base URL', { baseUrl: 'ftp://example.org/' }, /Expected an http:\/\/ or https:\/\/ URL for baseUrl but received "ftp:\/\/example\.org\/"/],
    ['a checksum table that is not an object', { checksums: [] }, /Expected an object for checksums but received \[\]/],
    ['an empty checksum table', { checksums: {} }, /Expected at least one file for checksums but received \{\}/],
    ['a short MD5', { checksums: { 'a.gz': 'abc' } }, /Expected an MD5 of 32 hex digits for checksums\["a\.gz"\] but received "abc"/],
    ['a file name with a slash', { checksums: { '../x.gz': checksums['train-labels-idx1-ubyte.gz'] } }, /Expected a plain file name .* for a file name in checksums but received "\.\.\/x\.gz"/],
    ['an empty cache folder name', { cacheDir: '' }, /Expected a non-empty string for cacheDir but received ""/],
  ])('%s', async (_, options, pattern) => {
    expect(await rejectionMessage(downloadFashionMnist({ baseUrl, ...options } as never))).toMatch(pattern);
  });

  it('a server that is not there, naming the URL', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const cacheDir = freshCache();
    const message = await rejectionMessage(downloadFashionMnist({ baseUrl: `http://127.0.0.1:${port}/`, checksums, cacheDir }), Error);
    expect(message).toMatch(new RegExp(`^Could not download http://127\\.0\\.0\\.1:${port}/train-images-idx3-ubyte\\.gz: fetch failed`));
    expect(readdirSync(cacheDir)).toEqual([]);
  });
});

describe('downloadFashionMnist', () => {
  it('defaults to the official site and the README checksums', () => {
    expect(FASHION_MNIST_BASE_URL).toBe('http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/');
    expect(FASHION_MNIST_MD5['train-images-idx3-ubyte.gz']).toBe('8d4fb7e6c68d591d4c3dfef9ec88bf0d');
    expect(Object.keys(FASHION_MNIST_MD5).sort()).toEqual(Object.keys(files).sort());
    expect(DEFAULT_FASHION_MNIST_CACHE).toBe(join('.cache', 'fashion-mnist'));
  });

  it('fetches, verifies and stores the files, reports progress, then serves them from the cache', async () => {
    const cacheDir = join(freshCache(), 'nested', 'fashion');
    const events: DownloadProgress[] = [];
    requests.length = 0;
    const result = await downloadFashionMnist({ baseUrl, checksums, cacheDir, onProgress: (e) => events.push({ ...e }) });
    expect(result.dir).toBe(cacheDir);
    expect(result.downloaded).toEqual(Object.keys(files));
    expect(result.cached).toEqual([]);
    expect(readdirSync(cacheDir).sort()).toEqual(Object.keys(files).sort());
    for (const [name, bytes] of Object.entries(files)) {
      expect(readFileSync(join(cacheDir, name)).equals(bytes)).toBe(true);
      expect(await md5File(join(cacheDir, name))).toBe(checksums[name]);
    }
    const first = events.filter((e) => e.file === 'train-images-idx3-ubyte.gz');
    expect(first[0]).toEqual({ file: 'train-images-idx3-ubyte.gz', phase: 'start', receivedBytes: 0, totalBytes: files['train-images-idx3-ubyte.gz'].length });
    expect(first.at(-1)?.phase).toBe('done');
    expect(first.at(-1)?.receivedBytes).toBe(files['train-images-idx3-ubyte.gz'].length);
    expect(first.filter((e) => e.phase === 'progress').length).toBeGreaterThanOrEqual(1);

    const { train, test } = await readIdxFolder(cacheDir);
    expect([train.count, test.count, train.height, train.width]).toEqual([3, 2, 2, 2]);
    expect(Array.from(train.labels)).toEqual([7, 1, 3]);
    expect(Array.from(test.pixels.subarray(4))).toEqual([250, 251, 252, 253]);

    requests.length = 0;
    const again = await downloadFashionMnist({ baseUrl, checksums, cacheDir, onProgress: (e) => events.push(e) });
    expect(again.cached).toEqual(Object.keys(files));
    expect(again.downloaded).toEqual([]);
    expect(requests).toEqual([]);
    expect(events.at(-1)?.phase).toBe('cached');
  });

  it('replaces a cached file whose checksum is wrong', async () => {
    const cacheDir = freshCache();
    writeFileSync(join(cacheDir, 't10k-labels-idx1-ubyte.gz'), 'corrupt');
    const result = await downloadFashionMnist({ baseUrl, checksums, cacheDir });
    expect(result.downloaded).toContain('t10k-labels-idx1-ubyte.gz');
    expect(readFileSync(join(cacheDir, 't10k-labels-idx1-ubyte.gz')).equals(files['t10k-labels-idx1-ubyte.gz'])).toBe(true);
  });

  it('rejects a file whose MD5 does not match, naming both checksums, and leaves nothing in the cache', async () => {
    const cacheDir = freshCache();
    const wrong = { ...checksums, 'train-images-idx3-ubyte.gz': '0123456789abcdef0123456789abcdef' };
    const message = await rejectionMessage(downloadFashionMnist({ baseUrl, checksums: wrong, cacheDir }));
    expect(message).toBe(
      `Expected MD5 0123456789abcdef0123456789abcdef for train-images-idx3-ubyte.gz (downloaded from ${baseUrl}/train-images-idx3-ubyte.gz) ` +
        `but received MD5 ${checksums['train-images-idx3-ubyte.gz']}; the download was discarded`,
    );
    expect(readdirSync(cacheDir)).toEqual([]);
  });

  it('rejects a 404, naming the URL, and keeps no partial file', async () => {
    const cacheDir = freshCache();
    const message = await rejectionMessage(downloadFashionMnist({ baseUrl, checksums: { 'missing-idx1-ubyte.gz': checksums['train-labels-idx1-ubyte.gz'] }, cacheDir }));
    expect(message).toBe(`Expected HTTP status 200 for ${baseUrl}/missing-idx1-ubyte.gz but received 404 Not Found`);
    expect(existsSync(join(cacheDir, 'missing-idx1-ubyte.gz'))).toBe(false);
    expect(readdirSync(cacheDir)).toEqual([]);
  });

  it('backs loadDataset("fashion-mnist", { download: true }) with the official split', async () => {
    const cacheDir = freshCache();
    const notes: string[] = [];
    const data = await loadDataset('fashion-mnist', { download: true, downloadOptions: { baseUrl, checksums, cacheDir } });
    notes.push(...data.notes);
    expect(data.name).toBe('fashion-mnist');
    expect(data.source).toContain(`${baseUrl}/`);
    expect(data.source).toContain(cacheDir);
    expect([data.train.count, data.test.count]).toEqual([3, 2]);
    expect(data.classNames?.[0]).toBe('T-shirt/top');
    expect(notes[0]).toMatch(/^fashion-mnist: downloaded train-images-idx3-ubyte\.gz, /);
  });
});
