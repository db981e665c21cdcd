// The small-PNG path: which files it takes, and that it reads and writes the same samples as sharp.
import sharp from 'sharp';
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../runtime-common/rng.js';
import { decodePlainPng, deflateOptions, encodePlainPng, FAST_PNG_MAX_PIXELS, plainPngHeader, tableCrc32 } from '../../runtime-node/png-fast.js';

/** Seeded samples of an image: 8-bit or 16-bit. */
function samples(count: number, sixteen: boolean, seed: number): Uint8Array | Uint16Array {
  const rng = new Rng(seed);
  return sixteen ? Uint16Array.from({ length: count }, () => Math.floor(rng.nextFloat() * 65536)) : Uint8Array.from({ length: count }, () => Math.floor(rng.nextFloat() * 256));
}

/** A PNG written by sharp from raw samples (grey kept grey, 16 bits kept). */
async function sharpPng(data: Uint8Array | Uint16Array, width: number, height: number, channels: 1 | 2 | 3 | 4): Promise<Buffer> {
  const sixteen = data instanceof Uint16Array;
  const space = channels <= 2 ? (sixteen ? 'grey16' : 'b-w') : sixteen ? 'rgb16' : 'srgb';
  return sharp(data, { raw: { width, height, channels } }).toColourspace(space).png().toBuffer();
}

/** sharp's decode of a PNG as samples, as readImage's sharp path does it. */
async function sharpSamples(png: Uint8Array, sixteen: boolean, channels: number): Promise<number[]> {
  // sharp's 8-bit 'b-w' raw output keeps only the grey band: grey + alpha is read as RGBA and narrowed to (R, A).
  const greyAlpha8 = channels === 2 && !sixteen;
  const pipeline = sharp(png).toColourspace(channels <= 2 && !greyAlpha8 ? (sixteen ? 'grey16' : 'b-w') : sixteen ? 'rgb16' : 'srgb');
  const { data } = await (sixteen ? pipeline.raw({ depth: 'ushort' }) : pipeline.raw()).toBuffer({ resolveWithObject: true });
  const values = Array.from(sixteen ? new Uint16Array(data.buffer, data.byteOffset, data.length / 2) : data);
  return greyAlpha8 ? values.filter((_, i) => i % 4 === 0 || i % 4 === 3) : values;
}

/** A hand-made PNG: the signature, chunks with CRCs left 0 (the header check does not read them). */
function chunkedPng(ihdr: { width: number; height: number; depth: number; colourType: number; interlace?: number }, extra: [string, Uint8Array][] = []): Uint8Array {
  const chunk = (type: string, body: Uint8Array) => {
    const out = new Uint8Array(12 + body.length);
    new DataView(out.buffer).setUint32(0, body.length);
    out.set(new TextEncoder().encode(type), 4);
    out.set(body, 8);
    return out;
  };
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, ihdr.width);
  view.setUint32(4, ihdr.height);
  header.set([ihdr.depth, ihdr.colourType, 0, 0, ihdr.interlace ?? 0], 8);
  const parts = [new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), ...extra.map(([t, b]) => chunk(t, b)), chunk('IDAT', deflateSync(new Uint8Array(ihdr.height * (ihdr.width + 1)))), chunk('IEND', new Uint8Array(0))];
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.length;
  }
  return all;
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
      if (height > 1) expect(png.length).toBeLessThan(data.length / 2);
      expect(await sharpSamples(png, false, channels)).toEqual(Array.from(data));
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
