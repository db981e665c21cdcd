// Image files through sharp: every bad input named clearly; formats, depths, grey/RGB/alpha, orientation and ICC round trips.
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../runtime-common/rng.js';
import { encodeImage, outputFormat, readImage, sniffImageFormat } from '../../runtime-node/image-file.js';
import { PngRowWriter } from '../../runtime-node/png-rows.js';
import { tempDirs } from '../temp-dir.js';

const makeTempDir = tempDirs();
const dir = makeTempDir('image-file-test-');
const file = (name: string) => path.join(dir, name);

/** Writes raw pixels (Uint8Array or Uint16Array) as a file with sharp, grey or colour by channel count. */
async function writeRaw(name: string, data: Uint8Array | Uint16Array, width: number, height: number, channels: 1 | 2 | 3 | 4, format: 'png' | 'tiff' | 'jpeg' | 'webp' | 'avif' | 'gif', options: object = {}): Promise<string> {
  const sixteen = data instanceof Uint16Array;
  const space = channels <= 2 ? (sixteen ? 'grey16' : 'b-w') : sixteen ? 'rgb16' : 'srgb';
  await sharp(data, { raw: { width, height, channels } }).toColourspace(space).toFormat(format, options).toFile(file(name));
  return file(name);
}

const ramp8 = (n: number) => new Uint8Array(n).map((_, i) => (i * 29) % 256);
const ramp16 = (n: number) => new Uint16Array(n).map((_, i) => (i * 7919) % 65536);

describe('image files: bad inputs', () => {
  it('names a missing file, a folder and an empty file', async () => {
    await expect(readImage(file('none.png'))).rejects.toThrow(`${file('none.png')}: no such file`);
    await expect(readImage(dir)).rejects.toThrow(`${dir}: is a folder, not an image file`);
    writeFileSync(file('empty.png'), '');
    await expect(readImage(file('empty.png'))).rejects.toThrow(`${file('empty.png')}: empty file (0 bytes), not an image`);
  });

  it('says when a file is not an image', async () => {
    writeFileSync(file('notes.png'), 'just some text pretending to be a PNG\n');
    await expect(readImage(file('notes.png'))).rejects.toThrow(`${file('notes.png')}: not an image in a format sharp reads (PNG, JPEG, WebP, TIFF, AVIF, GIF)`);
  });

  it('refuses a huge non-image from its first bytes, without reading it whole', async () => {
    // 1 GB of zeros, sparse on disk; reading it whole would add about 1 GB to the peak resident memory.
    const junk = file('huge-junk.png');
    writeFileSync(junk, '');
    truncateSync(junk, 1024 ** 3);
    const peakBefore = process.resourceUsage().maxRSS;
    const started = performance.now();
    await expect(readImage(junk)).rejects.toThrow(`${junk}: not an image in a format sharp reads (PNG, JPEG, WebP, TIFF, AVIF, GIF)`);
    expect(performance.now() - started).toBeLessThan(2000);
    // maxRSS is in kilobytes.
    expect((process.resourceUsage().maxRSS - peakBefore) / 1024).toBeLessThan(100);
    truncateSync(junk, 0);
  });

  it('refuses a pixel limit sharp cannot take, naming the option', async () => {
    const small = await writeRaw('limit.png', new Uint8Array(4), 2, 2, 1, 'png');
    await expect(readImage(small, { maxPixels: 1e300, limitName: '--max-pixels' })).rejects.toThrow('Expected an integer >= 1 and <= 9007199254740991 for --max-pixels but received 1e+300');
    await expect(readImage(small, { maxPixels: 0 })).rejects.toThrow('Expected an integer >= 1 and <= 9007199254740991 for maxPixels but received 0');
  });

  it('refuses truncated PNG and JPEG files', async () => {
    const rng = new Rng(1);
    const noisy = Uint8Array.from({ length: 64 * 64 * 3 }, () => Math.floor(rng.nextFloat() * 256));
    for (const format of ['png', 'jpeg'] as const) {
      const whole = await writeRaw(`whole.${format}`, noisy, 64, 64, 3, format);
      const bytes = readFileSync(whole);
      writeFileSync(file(`cut.${format}`), bytes.subarray(0, Math.floor(bytes.length * 0.6)));
      await expect(readImage(file(`cut.${format}`))).rejects.toThrow(`${file(`cut.${format}`)}: truncated or damaged image data (`);
    }
  });

  it('a large PNG read as it decodes: over the limit refused before decoding; damaged image data rejects its waiters and its end, naming the file', async () => {
    const [width, height] = [300, 260];
    const png = readFileSync(await writeRaw('large-source.png', ramp8(width * height), width, height, 1, 'png'));
    await expect(readImage(file('large-source.png'), { rowsAsDecoded: true, maxPixels: 70_000, limitName: '--max-pixels' })).rejects.toThrow('300x260 is 0.08 MP, over the limit of 0.07 MP (70000 pixels); raise it with --max-pixels');
    // The same chunks, the image data's zlib stream cut to its first half (so the file's chunk structure is whole).
    const parts: Buffer[] = [];
    for (let at = 8; at + 12 <= png.length; at += 12 + png.readUInt32BE(at)) if (png.toString('latin1', at + 4, at + 8) === 'IDAT') parts.push(png.subarray(at + 8, at + 8 + png.readUInt32BE(at)));
    const stream = Buffer.concat(parts);
    const idat = stream.subarray(0, stream.length >> 1);
    const chunk = Buffer.alloc(12 + idat.length);
    chunk.writeUInt32BE(idat.length, 0);
    chunk.write('IDAT', 4, 'latin1');
    idat.copy(chunk, 8);
    const firstIdat = png.indexOf('IDAT', 8, 'latin1') - 4;
    writeFileSync(file('large-cut.png'), Buffer.concat([png.subarray(0, firstIdat), chunk, png.subarray(png.length - 12)]));
    const loaded = await readImage(file('large-cut.png'), { rowsAsDecoded: true });
    expect(loaded.decoding).toBeDefined();
    const message = `${file('large-cut.png')}: truncated or damaged image data (PNG image data`;
    await expect(loaded.decoding!.waitForRows(height)).rejects.toThrow(message);
    await expect(loaded.decoding!.done).rejects.toThrow(message);
  });

  it('refuses images over the pixel limit, naming the limit and the flag that raises it', async () => {
    const big = await writeRaw('big.png', new Uint8Array(200 * 150), 200, 150, 1, 'png');
    const asked: number[] = [];
    await expect(readImage(big, { maxPixels: 10_000, limitName: '--max-pixels', beforeDecode: (pixels) => void asked.push(pixels) })).rejects.toThrow(
      `${big}: 200x150 is 0.03 MP, over the limit of 0.01 MP (10000 pixels); raise it with --max-pixels`,
    );
    // Refused before it is admitted for decoding.
    expect(asked).toEqual([]);
  });

  it('refuses an output extension it cannot write, listing the ones it can', () => {
    expect(() => outputFormat('out.bmp')).toThrow('Expected an output file ending in .png, .jpg, .jpeg, .webp, .tif, .tiff, .avif, .gif for output but received "out.bmp"');
  });
});

describe('image files', () => {
  it('beforeDecode gets the pixel count, the size and the channels from the header, and decoding waits for it (small PNG path and sharp path)', async () => {
    const png = await writeRaw('admit.png', ramp8(30 * 20), 30, 20, 1, 'png');
    const jpeg = await writeRaw('admit.jpg', ramp8(64 * 48 * 3), 64, 48, 3, 'jpeg');
    for (const [name, pixels, width, height, channels] of [[png, 600, 30, 20, 1], [jpeg, 3072, 64, 48, 3]] as const) {
      let admit!: () => void;
      const asked: number[] = [];
      const sizes: { width: number; height: number; channels: number | undefined }[] = [];
      let read = false;
      const reading = readImage(name, { beforeDecode: (n, size) => new Promise<void>((go) => { asked.push(n); sizes.push(size); admit = go; }) }).then((loaded) => {
        read = true;
        return loaded;
      });
      await new Promise((r) => setTimeout(r, 50));
      expect(asked).toEqual([pixels]);
      expect(sizes).toEqual([{ width, height, channels }]);
      expect(read).toBe(false);
      admit();
      expect((await reading).image.width * (await reading).image.height).toBe(pixels);
    }
  });

  it('recognises the formats sharp reads from their first bytes', async () => {
    const pixels = ramp8(8 * 8 * 3);
    for (const [format, name] of [['png', 'png'], ['jpeg', 'jpeg'], ['webp', 'webp'], ['tiff', 'tiff'], ['gif', 'gif'], ['avif', 'heif']] as const) {
      const f = await writeRaw(`sniff.${format}`, pixels, 8, 8, 3, format);
      expect(sniffImageFormat(readFileSync(f).subarray(0, 4096)), format).toBe(name);
    }
    expect(sniffImageFormat(new TextEncoder().encode('\ufeff  <?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"></svg>'))).toBe('svg');
    expect(sniffImageFormat(new TextEncoder().encode('<html><body>no</body></html>'))).toBeUndefined();
    expect(sniffImageFormat(new Uint8Array(16))).toBeUndefined();
    expect(sniffImageFormat(new Uint8Array(0))).toBeUndefined();
  });

  it('reads grey and RGB at 8 and 16 bits, alpha included, from PNG and TIFF exactly', async () => {
    const cases = [
      { name: 'g8.png', data: ramp8(30 * 20), channels: 1 as const, format: 'png' as const },
      { name: 'ga8.png', data: ramp8(30 * 20 * 2), channels: 2 as const, format: 'png' as const },
      { name: 'g16.png', data: ramp16(30 * 20), channels: 1 as const, format: 'png' as const },
      { name: 'rgb16.png', data: ramp16(30 * 20 * 3), channels: 3 as const, format: 'png' as const },
      { name: 'rgba8.png', data: ramp8(30 * 20 * 4), channels: 4 as const, format: 'png' as const },
      { name: 'g16.tif', data: ramp16(30 * 20), channels: 1 as const, format: 'tiff' as const, options: { compression: 'deflate' } },
      { name: 'rgba16.tif', data: ramp16(30 * 20 * 4), channels: 4 as const, format: 'tiff' as const, options: { compression: 'lzw' } },
    ];
    for (const c of cases) {
      const loaded = await readImage(await writeRaw(c.name, c.data, 30, 20, c.channels, c.format, c.options));
      expect(loaded.image.channels, c.name).toBe(c.channels);
      expect(loaded.bitDepth, c.name).toBe(c.data instanceof Uint16Array ? 16 : 8);
      expect(loaded.image.data.constructor, c.name).toBe(c.data.constructor);
      expect(loaded.image.data, c.name).toEqual(c.data);
    }
  });

  it('writes a PNG over 256x256 Up-filtered (the bytes a PngRowWriter gives), reading back exactly; one keeping an ICC profile through sharp', async () => {
    const width = 300;
    const height = 250;
    for (const [channels, data] of [[1, ramp8(width * height)], [3, ramp16(width * height * 3)]] as const) {
      const image = { data, width, height, channels } as Parameters<typeof encodeImage>[0];
      const png = await encodeImage(image, 'out.png');
      const writer = new PngRowWriter(width, height, channels, data instanceof Uint16Array ? 16 : 8);
      writer.push(image as never, 0, height);
      expect(png.equals(await writer.finish())).toBe(true);
      writeFileSync(file(`rows-${channels}.png`), png);
      expect((await readImage(file(`rows-${channels}.png`))).image.data).toEqual(data);
    }
    const icc = await readImage(await writeRaw('icc-source.png', ramp8(width * height * 3), width, height, 3, 'png', {}).then(async (f) => {
      await sharp(f).withIccProfile('p3').png().toFile(file('icc.png'));
      return file('icc.png');
    }));
    expect(icc.icc).toBeDefined();
    const kept = await encodeImage(icc.image, 'out.png', { original: icc });
    expect((await sharp(kept).metadata()).icc).toBeDefined();
  });

  it('returns a plain PNG over 256x256 as it decodes when asked: the rows sharp reads; others (small, an ICC profile, JPEG, a forced colour model) whole', async () => {
    const [width, height] = [300, 260];
    for (const [channels, data] of [[1, ramp8(width * height)], [4, ramp16(width * height * 4)]] as const) {
      const name = await writeRaw(`rows-as-decoded-${channels}.png`, data, width, height, channels, 'png', { adaptiveFiltering: true });
      const loaded = await readImage(name, { rowsAsDecoded: true });
      expect(loaded).toMatchObject({ format: 'png', bitDepth: data instanceof Uint16Array ? 16 : 8, icc: undefined, pages: 1 });
      await loaded.decoding!.waitForRows(height);
      await loaded.decoding!.done;
      expect(loaded.image.data).toEqual((await readImage(name)).image.data);
    }
    const whole = [
      await writeRaw('small-plain.png', ramp8(256 * 256), 256, 256, 1, 'png'),
      await writeRaw('large.jpg', ramp8(width * height * 3), width, height, 3, 'jpeg'),
      await writeRaw('large-icc-source.png', ramp8(width * height * 3), width, height, 3, 'png').then(async (f) => {
        await sharp(f).withIccProfile('p3').png().toFile(file('large-icc.png'));
        return file('large-icc.png');
      }),
    ];
    for (const name of whole) expect((await readImage(name, { rowsAsDecoded: true })).decoding, name).toBeUndefined();
    expect((await readImage(file('rows-as-decoded-1.png'), { rowsAsDecoded: true, grey: false })).image.channels).toBe(3);
  });

  it('reads JPEG, WebP and AVIF (lossy: within a few levels) and the first frame of an animated GIF', async () => {
    const smooth = new Uint8Array(32 * 24 * 3).map((_, i) => 60 + ((Math.floor(i / 3) % 32) * 4));
    for (const [format, tolerance] of [['jpeg', 3], ['webp', 6], ['avif', 8]] as const) {
      const loaded = await readImage(await writeRaw(`smooth.${format}`, smooth, 32, 24, 3, format, { quality: 95 }));
      expect(loaded.image.channels).toBe(3);
      let max = 0;
      for (let i = 0; i < smooth.length; i++) max = Math.max(max, Math.abs(loaded.image.data[i]! - smooth[i]!));
      expect(max, format).toBeLessThanOrEqual(tolerance);
    }
    // Two 8x8 frames: grey 200 then grey 20.
    const frames = new Uint8Array(8 * 16 * 3);
    frames.fill(200, 0, 8 * 8 * 3);
    frames.fill(20, 8 * 8 * 3);
    await sharp(frames, { raw: { width: 8, height: 16, channels: 3, pageHeight: 8 } }).gif().toFile(file('anim.gif'));
    const gif = await readImage(file('anim.gif'));
    expect(gif.pages).toBe(2);
    expect([gif.image.width, gif.image.height]).toEqual([8, 8]);
    expect(gif.image.data[0]).toBe(200);
  });

  it('applies the EXIF orientation', async () => {
    // 4 wide x 2 high, white top-left pixel; orientation 6 means "rotate 90 degrees clockwise to view".
    const base = new Uint8Array(8);
    base[0] = 255;
    await sharp(base, { raw: { width: 4, height: 2, channels: 1 } }).toColourspace('b-w').withMetadata({ orientation: 6 }).png().toFile(file('turned.png'));
    const loaded = await readImage(file('turned.png'));
    const { width, height, channels, data } = loaded.image;
    expect([width, height]).toEqual([2, 4]);
    // After a clockwise quarter turn the top-left pixel lands top-right.
    expect(Array.from({ length: 8 }, (_, n) => data[n * channels])).toEqual([0, 255, 0, 0, 0, 0, 0, 0]);
  });

  it('writes each format by extension and reads back the same pixels (8 and 16 bit, grey and RGB)', async () => {
    const grey16 = { data: ramp16(24 * 16), width: 24, height: 16, channels: 1 };
    const rgba8 = { data: ramp8(24 * 16 * 4), width: 24, height: 16, channels: 4 };
    for (const name of ['o16.png', 'o16.tif']) {
      writeFileSync(file(name), await encodeImage(grey16, file(name)));
      const back = await readImage(file(name));
      expect(back.bitDepth, name).toBe(16);
      expect(back.image.data, name).toEqual(grey16.data);
    }
    writeFileSync(file('o8.png'), await encodeImage(grey16, file('o8.jpg')));
    const eight = await readImage(file('o8.png'));
    expect(eight.bitDepth).toBe(8);
    writeFileSync(file('rgba.webp'), await encodeImage(rgba8, file('rgba.webp')));
    expect((await readImage(file('rgba.webp'))).image.channels).toBe(4);
    writeFileSync(file('rgba.png'), await encodeImage(rgba8, file('rgba.png')));
    expect((await readImage(file('rgba.png'))).image.data).toEqual(rgba8.data);
    writeFileSync(file('grey.gif'), await encodeImage({ data: new Uint8Array(24 * 16).fill(77), width: 24, height: 16, channels: 1 }, file('grey.gif')));
    expect((await readImage(file('grey.gif'))).image.data[0]).toBe(77);
  });

  it('keeps an embedded ICC profile and the pixel values exactly (no colour conversion)', async () => {
    const data = ramp8(40 * 30 * 3);
    await sharp(data, { raw: { width: 40, height: 30, channels: 3 } }).withIccProfile('p3').png().toFile(file('p3.png'));
    const original = await readImage(file('p3.png'));
    expect(original.icc?.length).toBeGreaterThan(100);
    // Stored values, not converted to sRGB.
    const stored = await sharp(file('p3.png')).keepIccProfile().raw().toBuffer();
    expect(Buffer.from(original.image.data)).toEqual(stored);
    const changed = { ...original.image, data: Uint8Array.from(original.image.data, (v) => 255 - v) };
    for (const name of ['p3-out.png', 'p3-out.tif', 'p3-out.webp']) {
      const bytes = await encodeImage(changed, file(name), { original });
      writeFileSync(file(name), bytes);
      const meta = await sharp(bytes).metadata();
      expect(Buffer.from(meta.icc!), name).toEqual(original.icc);
      if (name.endsWith('.png') || name.endsWith('.tif')) expect((await readImage(file(name))).image.data, name).toEqual(changed.data);
    }
  });
});
