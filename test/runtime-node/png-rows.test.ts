// The PNG written row band by row band: sharp reads back the samples pushed, every chunk's CRC holds, rows go in order only.
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../runtime-common/rng.js';
import { tableCrc32 } from '../../runtime-node/png-fast.js';
import { PngRowWriter } from '../../runtime-node/png-rows.js';
import { sharpSamples } from './sharp-samples.js';

/** Random samples, or a photo-like picture: smooth waves in x and y plus a little noise. */
function image(width: number, height: number, channels: 1 | 2 | 3 | 4, sixteen: boolean, seed: number, smooth = false) {
  const rng = new Rng(seed);
  const count = width * height * channels;
  const peak = sixteen ? 65535 : 255;
  const wave = (i: number) => {
    const pixel = Math.floor(i / channels);
    const [x, y, c] = [pixel % width, Math.floor(pixel / width), i % channels];
    return Math.round(peak * (0.5 + 0.35 * Math.sin(x / (23 + 5 * c)) * Math.cos(y / 17) + 0.01 * (rng.nextFloat() - 0.5)));
  };
  const value = (i: number) => (smooth ? wave(i) : Math.floor(rng.nextFloat() * (peak + 1)));
  const data = sixteen ? Uint16Array.from({ length: count }, (_, i) => value(i)) : Uint8Array.from({ length: count }, (_, i) => value(i));
  return { data, width, height, channels };
}

/** The chunks of a PNG, each with whether its CRC (worked out here by the table) holds. */
function chunks(png: Uint8Array): { type: string; length: number; crcHolds: boolean }[] {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const found = [];
  for (let at = 8; at + 12 <= png.length; at += 12 + view.getUint32(at)) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(...png.subarray(at + 4, at + 8));
    found.push({ type, length, crcHolds: tableCrc32(png.subarray(at + 4, at + 8 + length)) === view.getUint32(at + 8 + length) });
  }
  return found;
}

describe('png rows: bad calls', () => {
  it('refuses rows out of order, past the end or of another image, and a finish before the last row', async () => {
    const writer = new PngRowWriter(5, 4, 1, 8);
    const picture = image(5, 4, 1, false, 1) as { data: Uint8Array; width: number; height: number; channels: number };
    expect(() => writer.push(picture, 1, 1)).toThrow('rows 1 to 2 of a 5x4 image do not follow row 0 of the 5x4 PNG being written');
    writer.push(picture, 0, 2);
    expect(() => writer.push(picture, 2, 3)).toThrow('rows 2 to 5 of a 5x4 image do not follow row 2 of the 5x4 PNG being written');
    expect(() => writer.push({ ...picture, width: 4, data: picture.data.subarray(0, 16) }, 2, 1)).toThrow('do not follow row 2');
    expect(() => writer.push(image(5, 4, 1, true, 1) as never, 2, 1)).toThrow('do not follow row 2');
    await expect(writer.finish()).rejects.toThrow('only 2 of 4 rows were written');
    writer.abort();
  });
});

describe('png rows', () => {
  it('writes what sharp reads back as the samples pushed: grey to RGBA, 8 and 16 bits, in bands of any height', async () => {
    for (const channels of [1, 2, 3, 4] as const) {
      for (const sixteen of [false, true]) {
        const picture = image(37, 23, channels, sixteen, channels * 10 + (sixteen ? 1 : 0));
        const writer = new PngRowWriter(37, 23, channels, sixteen ? 16 : 8);
        for (const [y0, rows] of [[0, 1], [1, 0], [1, 5], [6, 17]] as const) writer.push(picture as never, y0, rows);
        expect(writer.complete).toBe(true);
        const png = await writer.finish();
        expect(await sharpSamples(png, sixteen, channels), `${channels} channels, ${sixteen ? 16 : 8} bits`).toEqual(Array.from(picture.data));
        expect(chunks(png).map((c) => c.type).join(' ')).toMatch(/^IHDR( IDAT)+ IEND$/);
        expect(chunks(png).every((c) => c.crcHolds)).toBe(true);
      }
    }
  });

  it('gives the same bytes whatever the bands: a flat picture whose deflate blocks end inside bands, and random samples', async () => {
    for (const picture of [{ data: new Uint8Array(2000 * 2000).fill(77), width: 2000, height: 2000, channels: 1 }, image(700, 600, 4, false, 5)]) {
      const { width, height, channels } = picture;
      const whole = new PngRowWriter(width, height, channels as 1 | 4, 8);
      whole.push(picture as never, 0, height);
      const banded = new PngRowWriter(width, height, channels as 1 | 4, 8);
      for (let y = 0; y < height; y += 97) banded.push(picture as never, y, Math.min(97, height - y));
      expect((await banded.finish()).equals(await whole.finish()), `${width}x${height}`).toBe(true);
    }
  });

  it('frames each megabyte of compressed data as an IDAT chunk of its own, each with its CRC', async () => {
    // Random samples do not compress: 700x600 RGBA is 1.68 MB of image data.
    const picture = image(700, 600, 4, false, 5);
    const writer = new PngRowWriter(700, 600, 4, 8);
    for (let y = 0; y < 600; y += 100) writer.push(picture as never, y, 100);
    const png = await writer.finish();
    const found = chunks(png);
    expect(found.filter((c) => c.type === 'IDAT').length).toBeGreaterThan(1);
    expect(found.every((c) => c.crcHolds)).toBe(true);
    expect(await sharpSamples(png, false, 4)).toEqual(Array.from(picture.data));
  });

  it('filters rows: a photo-like picture comes out under half its samples, and smaller than sharp writes it unfiltered', async () => {
    const picture = image(512, 384, 3, false, 0, true);
    const writer = new PngRowWriter(512, 384, 3, 8);
    writer.push(picture as never, 0, 384);
    const png = await writer.finish();
    const bySharp = await sharp(picture.data, { raw: { width: 512, height: 384, channels: 3 } }).png({ compressionLevel: 4 }).toBuffer();
    expect(png.length).toBeLessThan(picture.data.length / 2);
    expect(png.length).toBeLessThan(bySharp.length);
  });
});
