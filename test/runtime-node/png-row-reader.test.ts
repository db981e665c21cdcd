// The PNG decoded row by row: every filter, depth and channel count against the samples it was made from and sharp's decode; damaged data named; waiters resolved only once their rows are in.
import { deflateSync, inflateSync } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { plainPngHeader } from '../../runtime-node/png-fast.js';
import { PngRowReader } from '../../runtime-node/png-row-reader.js';
import { chunkedPng, filterRows, samples } from './hand-made-png.js';
import { sharpSamples } from './sharp-samples.js';

const COLOUR_TYPES = { 1: 0, 2: 4, 3: 2, 4: 6 } as const;

/** A PNG of `data` with filter type `filter(y)` on row y, its zlib stream cut into `pieces` IDAT chunks; `stream` edits the zlib stream first. */
function filteredPng(data: Uint8Array | Uint16Array, width: number, height: number, channels: 1 | 2 | 3 | 4, filter: (y: number) => number, pieces = 3, stream: (zipped: Uint8Array) => Uint8Array = (z) => z): Uint8Array {
  const sixteen = data instanceof Uint16Array;
  const bpp = channels * (sixteen ? 2 : 1);
  const rows = sixteen ? new Uint8Array(data.length * 2) : (data as Uint8Array);
  // 16-bit samples are stored big-endian.
  if (sixteen) data.forEach((v, i) => rows.set([v >> 8, v & 255], 2 * i));
  const zipped = stream(deflateSync(filterRows(rows, height, width * bpp, bpp, filter)));
  const cuts = Array.from({ length: pieces + 1 }, (_, i) => Math.round((i * zipped.length) / pieces));
  const idat = cuts.slice(1).map((end, i) => ['IDAT', zipped.subarray(cuts[i]!, end)] as [string, Uint8Array]);
  return chunkedPng({ width, height, depth: sixteen ? 16 : 8, colourType: COLOUR_TYPES[channels] }, idat, false);
}

/** Starts a reader on `png` (its header must be plain); errors carry the reason the reader gives, prefixed. */
function read(png: Uint8Array): PngRowReader {
  const header = plainPngHeader(png, Number.MAX_SAFE_INTEGER);
  if (!header) throw new Error('the test PNG is not plain');
  return new PngRowReader(png, header, (why) => new Error(`test.png: ${why}`));
}

/** The filtered rows inside a zlib stream. */
function inflateRows(zipped: Uint8Array): Buffer {
  return inflateSync(zipped);
}

describe('png row reader: bad data', () => {
  it('names what is wrong: a stream cut short, rows past the header\'s height, a filter type above 4, a broken stream, a wrong checksum', async () => {
    const data = samples(40 * 30, false, 1);
    const cases: [string, Uint8Array, string][] = [
      ['cut short', filteredPng(data, 40, 30, 1, () => 1, 2, (z) => deflateSync(inflateRows(z).subarray(0, 29 * 41))), 'test.png: PNG image data ends after 29 of its 30 rows'],
      ['a row too many', filteredPng(data, 40, 30, 1, () => 1, 2, (z) => deflateSync(Buffer.concat([inflateRows(z), new Uint8Array(41)]))), 'test.png: PNG image data holds more rows than the 30 its header states'],
      ['filter type 7', filteredPng(data, 40, 30, 1, (y) => (y === 12 ? 1 : 2), 1, (z) => deflateSync(inflateRows(z).map((v, i) => (i === 12 * 41 ? 7 : v)))), 'test.png: PNG row 12 has filter type 7; types 0 to 4 exist'],
      ['a broken stream', filteredPng(data, 40, 30, 1, () => 0, 1, (z) => z.map((v, i) => (i > 2 && i < 40 ? 0xff : v))), 'test.png: PNG image data: '],
      ['a wrong checksum', filteredPng(data, 40, 30, 1, () => 0, 1, (z) => z.map((v, i) => (i === z.length - 1 ? v ^ 1 : v))), 'test.png: PNG image data: incorrect data check'],
    ];
    for (const [what, png, message] of cases) {
      const reader = read(png);
      // A waiter for the last row learns it too, whether it asked before or after the failure.
      const early = reader.waitForRows(30);
      await expect(reader.done, what).rejects.toThrow(message);
      await expect(early, what).rejects.toThrow(message);
      await expect(reader.waitForRows(1), what).rejects.toThrow(message);
    }
  });
});

describe('png row reader', () => {
  it('decodes every filter type, mixed, at 8 and 16 bits, grey to RGBA, from several IDAT chunks', async () => {
    for (const channels of [1, 2, 3, 4] as const) {
      for (const sixteen of [false, true]) {
        const [width, height] = [29, 23];
        const data = samples(width * height * channels, sixteen, channels * 2 + (sixteen ? 1 : 0));
        for (const filter of [() => 0, () => 1, () => 2, () => 3, () => 4, (y: number) => (y * 3) % 5]) {
          const reader = read(filteredPng(data, width, height, channels, filter, 4));
          await reader.done;
          expect(reader.rows).toBe(height);
          expect(reader.image).toMatchObject({ width, height, channels });
          expect(reader.image.data).toBeInstanceOf(sixteen ? Uint16Array : Uint8Array);
          expect(Array.from(reader.image.data), `${channels} channels, ${sixteen ? 16 : 8} bits, filters ${filter(1)}`).toEqual(Array.from(data));
        }
      }
    }
  });

  it('reads what sharp writes with adaptive filtering to sharp\'s own samples, rows spanning the 1 MB pieces zlib hands over', async () => {
    // 16-bit RGBA, 1001 pixels wide: rows of 8,009 bytes, so most pieces end inside a row; 1.6 MB in all.
    const [width, height] = [1001, 200];
    const smooth = Uint16Array.from({ length: width * height * 4 }, (_, i) => Math.round(32768 + 20000 * Math.sin(i / 4 / 37) * Math.cos(i / 4 / width / 11)) + (i % 4) * 97);
    const png = await sharp(smooth, { raw: { width, height, channels: 4 } }).toColourspace('rgb16').png({ adaptiveFiltering: true }).toBuffer();
    const reader = read(png);
    await reader.done;
    expect(Array.from(reader.image.data)).toEqual(await sharpSamples(png, true, 4));
    expect(Array.from(reader.image.data)).toEqual(Array.from(smooth));
  });

  it('resolves a waiter only once its rows are in, in any order of asking; past the last row once all are in; after the end too', async () => {
    const [width, height] = [700, 900];
    const data = samples(width * height * 3, false, 9);
    // Random samples do not compress: 1.9 MB of rows arrive in two pieces and more.
    const reader = read(filteredPng(data, width, height, 3, (y) => y % 5, 8));
    const seen: [number, number][] = [];
    const ask = (end: number) => reader.waitForRows(end).then(() => seen.push([end, reader.rows]));
    await Promise.all([ask(900), ask(1), ask(450), ask(2000), ask(600)]);
    for (const [end, rows] of seen) expect(rows, `asked for ${end}`).toBeGreaterThanOrEqual(Math.min(end, height));
    // Each row band was final when its waiter resolved: the rows asked for equal the samples then.
    await reader.done;
    const partial = read(filteredPng(data, width, height, 3, (y) => y % 5, 8));
    await partial.waitForRows(300);
    const rowValues = width * 3;
    expect(Array.from(partial.image.data.subarray(0, 300 * rowValues))).toEqual(Array.from(data.subarray(0, 300 * rowValues)));
    await partial.done;
    await expect(reader.waitForRows(5)).resolves.toBeUndefined();
  });
});
