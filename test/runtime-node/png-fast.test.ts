// The small-PNG path: which files it takes, and that it reads and writes the same samples as sharp.
import sharp from 'sharp';
import { deflateSync, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { chunkedPng, filterRows, samples } from './hand-made-png.js';
import { sharpSamples } from './sharp-samples.js';
import { adler32, decodePlainPng, deflateOptions, encodePlainPng, FAST_PNG_MAX_PIXELS, plainPngHeader, STORED_MAX_BYTES, storedZlib, tableCrc32, unfilterRows } from '../../runtime-node/png-fast.js';

/** A PNG written by sharp from raw samples (grey kept grey, 16 bits kept). */
async function sharpPng(data: Uint8Array | Uint16Array, width: number, height: number, channels: 1 | 2 | 3 | 4): Promise<Buffer> {
  const sixteen = data instanceof Uint16Array;
  const space = channels <= 2 ? (sixteen ? 'grey16' : 'b-w') : sixteen ? 'rgb16' : 'srgb';
  return sharp(data, { raw: { width, height, channels } }).toColourspace(space).png().toBuffer();
}

describe('plainPngHeader: what goes through sharp instead', () => {
  it('takes grey, grey + alpha, RGB and RGBA at 8 and 16 bits', () => {
    for (const [colourType, channels] of [[0, 1], [4, 2], [2, 3], [6, 4]] as const) {
      for (const depth of [8, 16]) expect(plainPngHeader(chunkedPng({ width: 4, height: 3, depth, colourType }))).toEqual({ width: 4, height: 3, depth, channels });
    }
  });

  it('refuses other files: not a PNG, palettes and 1 to 4 bits, interlaced, a transparency key, an ICC profile, EXIF, animation, too many pixels, cut short', () => {
    expect(plainPngHeader(new TextEncoder().encode('not a png at all, just some text here'))).toBeUndefined();
    expect(plainPngHeader(chunkedPng({ width: 4, height: 3, depth: 8, colourType: 3 }))).toBeUndefined();
    expect(plainPngHeader(chunkedPng({ width: 4, height: 3, depth: 4, colourType: 0 }))).toBeUndefined();
    expect(plainPngHeader(chunkedPng({ width: 4, height: 3, depth: 8, colourType: 2, interlace: 1 }))).toBeUndefined();
    for (const type of ['tRNS', 'iCCP', 'eXIf', 'acTL', 'sBIT']) expect(plainPngHeader(chunkedPng({ width: 4, height: 3, depth: 8, colourType: 2 }, [[type, new Uint8Array(6)]])), type).toBeUndefined();
    expect(plainPngHeader(chunkedPng({ width: FAST_PNG_MAX_PIXELS + 1, height: 1, depth: 8, colourType: 0 }))).toBeUndefined();
    const whole = chunkedPng({ width: 4, height: 3, depth: 8, colourType: 0 });
    expect(plainPngHeader(whole.subarray(0, whole.length - 6))).toBeUndefined();
  });
});

describe('unfilterRows: PNG\'s five row filters undone', () => {
  it('refuses a filter type above 4, naming the row', () => {
    const raw = filterRows(new Uint8Array(6), 2, 3, 1, () => 0);
    raw[4] = 5;
    expect(() => unfilterRows(raw, 2, 3, 1)).toThrow('PNG row 1 has filter type 5; types 0 to 4 exist');
  });

  it.each([1, 2, 3, 4, 6, 8])('each filter type, and all of them mixed, gives back the rows (%i bytes per pixel)', (bpp) => {
    const [width, height] = [9, 7];
    const rowBytes = width * bpp;
    const rows = samples(height * rowBytes, false, bpp) as Uint8Array;
    for (const type of [(): number => 0, () => 1, () => 2, () => 3, () => 4, (y: number) => (y * 3) % 5]) {
      expect(Array.from(unfilterRows(filterRows(rows, height, rowBytes, bpp, type), height, rowBytes, bpp))).toEqual(Array.from(rows));
    }
  });

  it('a PNG of several IDAT chunks with every filter type decodes to its samples (8 and 16 bits)', () => {
    for (const sixteen of [false, true]) {
      const [width, height, channels] = [13, 11, 3];
      const bpp = channels * (sixteen ? 2 : 1);
      const data = samples(width * height * channels, sixteen, 77);
      const rows = sixteen ? new Uint8Array(data.length * 2) : (data as Uint8Array);
      if (sixteen) data.forEach((v, i) => rows.set([v >> 8, v & 255], 2 * i));
      const zipped = deflateSync(filterRows(rows, height, width * bpp, bpp, (y) => y % 5));
      const idat = [zipped.subarray(0, 10), zipped.subarray(10, 40), zipped.subarray(40)].map((body) => ['IDAT', body] as [string, Uint8Array]);
      const png = chunkedPng({ width, height, depth: sixteen ? 16 : 8, colourType: 2 }, idat, false);
      const header = plainPngHeader(png)!;
      expect(header).toEqual({ width, height, depth: sixteen ? 16 : 8, channels });
      const decoded = decodePlainPng(png, header);
      expect(decoded.data).toBeInstanceOf(sixteen ? Uint16Array : Uint8Array);
      expect(Array.from(decoded.data)).toEqual(Array.from(data));
    }
  });

  it('image data shorter or longer than the header implies throws, and so does a wrong Adler-32', () => {
    const rows = (held: number) => chunkedPng({ width: 4, height: 7, depth: 8, colourType: 0 }, [['IDAT', deflateSync(Uint8Array.from({ length: held * 5 }, (_, i) => i % 7))]], false);
    expect(() => decodePlainPng(rows(6), plainPngHeader(rows(6))!)).toThrow('PNG image data holds 30 bytes where its header implies 35');
    // A longer stream is inflated only as far as the image goes: its checksum, over all of it, then differs.
    expect(() => decodePlainPng(rows(8), plainPngHeader(rows(8))!)).toThrow('PNG image data fails its Adler-32 check');
    const stream = deflateSync(Uint8Array.from({ length: 35 }, (_, i) => (i % 5 === 0 ? 0 : i)));
    const good = chunkedPng({ width: 4, height: 7, depth: 8, colourType: 0 }, [['IDAT', stream]], false);
    expect(decodePlainPng(good, plainPngHeader(good)!).data.length).toBe(28);
    const wrong = Uint8Array.from(stream);
    wrong[wrong.length - 1]! ^= 1;
    const bad = chunkedPng({ width: 4, height: 7, depth: 8, colourType: 0 }, [['IDAT', wrong]], false);
    expect(() => decodePlainPng(bad, plainPngHeader(bad)!)).toThrow('PNG image data fails its Adler-32 check');
  });
});

describe('decodePlainPng and encodePlainPng against sharp', () => {
  it.each([
    [1, false], [2, false], [3, false], [4, false],
    [1, true], [2, true], [3, true], [4, true],
  ] as const)('%i channel(s), 16-bit %s: sharp\'s PNG decodes to sharp\'s samples, and ours decodes in sharp to the same', async (channels, sixteen) => {
    const [width, height] = [23, 17];
    const data = samples(width * height * channels, sixteen, channels * 10 + (sixteen ? 1 : 0));
    const png = await sharpPng(data, width, height, channels);
    const header = plainPngHeader(png);
    expect(header).toEqual({ width, height, depth: sixteen ? 16 : 8, channels });
    const decoded = decodePlainPng(png, header!);
    expect(decoded.data).toBeInstanceOf(sixteen ? Uint16Array : Uint8Array);
    expect(Array.from(decoded.data)).toEqual(await sharpSamples(png, sixteen, channels));
    expect(Array.from(decoded.data)).toEqual(Array.from(data));
    const ours = encodePlainPng({ data: data as never, width, height, channels });
    expect(plainPngHeader(ours)).toEqual(header);
    expect(await sharpSamples(ours, sixteen, channels)).toEqual(Array.from(data));
  });

  it('compresses with a window sized to the data (the smallest zlib window holding it and its lookahead), and sharp reads every size back', async () => {
    for (const bytes of [1, 500, 812, 3000, 40_000, 1_000_000]) {
      const { windowBits, memLevel, level } = deflateOptions(bytes);
      expect(level).toBe(4);
      expect(windowBits).toBeGreaterThanOrEqual(9);
      expect(windowBits).toBeLessThanOrEqual(15);
      if (windowBits < 15) expect(2 ** windowBits).toBeGreaterThanOrEqual(bytes + 262);
      if (windowBits > 9) expect(2 ** (windowBits - 1)).toBeLessThan(bytes + 262);
      expect(memLevel).toBe(windowBits - 7 > 0 ? windowBits - 7 : 1);
    }
    // Repeating rows compress: matches reach back a whole row, the farthest the window must hold.
    for (const [width, height, channels] of [[1, 1, 1], [28, 28, 1], [100, 60, 3], [300, 200, 4]] as const) {
      const row = samples(width * channels, false, width);
      const data = Uint8Array.from({ length: width * height * channels }, (_, i) => row[i % row.length]!);
      const png = encodePlainPng({ data, width, height, channels });
      if (height * (width * channels + 1) > STORED_MAX_BYTES) expect(png.length).toBeLessThan(data.length / 2);
      expect(await sharpSamples(png, false, channels)).toEqual(Array.from(data));
    }
  });

  it('image data up to STORED_MAX_BYTES is stored, and the PNG then fits one 4 KiB block exactly at the limit; one byte more is compressed', async () => {
    // Rows of width + 1 bytes (the filter byte): grey images whose image data is just at and just over the limit.
    for (const [width, height] of [[1, 1], [28, 28], [STORED_MAX_BYTES - 1, 1], [STORED_MAX_BYTES, 1]] as const) {
      const data = Uint8Array.from({ length: width * height }, (_, i) => (i % 7) * 30);
      const png = encodePlainPng({ data, width, height, channels: 1 });
      const bytes = height * (width + 1);
      if (bytes <= STORED_MAX_BYTES) expect(png.length).toBe(bytes + 4096 - STORED_MAX_BYTES);
      else expect(png.length).toBeLessThan(bytes / 2);
      expect(await sharpSamples(png, false, 1)).toEqual(Array.from(data));
    }
  });

  it('storedZlib frames data as zlib does at level 0 (node:zlib reads it back), over several blocks too; adler32 by hand', () => {
    // Adler-32 of "Wikipedia", the worked example of the algorithm: 0x11E60398.
    expect(adler32(new TextEncoder().encode('Wikipedia'))).toBe(0x11e60398);
    expect(adler32(new Uint8Array(0))).toBe(1);
    // 0xff bytes make the sums largest: the reduction every 5552 bytes must still hold (a brute-force reference).
    const ones = new Uint8Array(20_000).fill(0xff);
    let [a, b] = [1, 0];
    for (const byte of ones) [a, b] = [(a + byte) % 65521, (b + (a + byte) % 65521) % 65521];
    expect(adler32(ones)).toBe(((b << 16) | a) >>> 0);
    for (const length of [0, 1, 812, 65_535, 65_536, 140_000]) {
      const data = samples(length, false, length) as Uint8Array;
      const stored = storedZlib(data);
      expect(Array.from(stored.subarray(0, 2))).toEqual([0x78, 0x01]);
      expect(stored.length).toBe(data.length + 6 + 5 * Math.max(1, Math.ceil(length / 65_535)));
      expect(Buffer.compare(inflateSync(stored), Buffer.from(data))).toBe(0);
      if (length === 812) expect(Buffer.compare(Buffer.from(stored), deflateSync(data, { level: 0 }))).toBe(0);
    }
  });

  it('the table CRC-32 (for Node before 20.15) gives the standard values: "IEND" (AE 42 60 82, in every PNG) and the check value of "123456789"', () => {
    expect(tableCrc32(new TextEncoder().encode('IEND'))).toBe(0xae426082);
    // The standard check value of CRC-32.
    expect(tableCrc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });

  it('damaged image data throws, so that sharp\'s path can say why', async () => {
    const png = await sharpPng(samples(32 * 32, false, 5), 32, 32, 1);
    const broken = Uint8Array.from(png);
    // Inside the IDAT chunk's compressed data.
    for (let i = 60; i < 80; i++) broken[i] = 0xff;
    const header = plainPngHeader(broken);
    expect(header).toBeDefined();
    expect(() => decodePlainPng(broken, header!)).toThrow();
  });
});
