// folder:<dir>: patches cut from photos at seeded positions, whole photos held out, colour kept, bad folders named.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../../../tools/data/datasets.js';
import { loadPhotoFolder } from '../../../tools/data/photo-folder.js';

const root = mkdtempSync(join(tmpdir(), 'photo-folder-'));
const rgbDir = join(root, 'rgb');

/** A photo whose pixel (x, y) has channels (x, y, 10 * index + c): a patch tells where it came from. */
async function writePhoto(file: string, width: number, height: number, index: number, channels: 1 | 3) {
  const data = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < channels; c++) data[(y * width + x) * channels + c] = c === 0 ? x : c === 1 ? y : 10 * index;
  await sharp(data, { raw: { width, height, channels } }).png().toFile(file);
}

beforeAll(async () => {
  mkdirSync(rgbDir);
  for (let i = 0; i < 6; i++) await writePhoto(join(rgbDir, `p${i}.png`), 60 + 10 * i, 50, i, 3);
});

describe('folder:<dir>: bad calls', () => {
  it('names a missing folder, too few photos, photos smaller than a patch and unreadable files', async () => {
    await expect(loadDataset('folder:' + join(root, 'none'))).rejects.toThrow(`Expected a folder of photos for folder:${join(root, 'none')} but received a path that cannot be read as one`);
    const one = join(root, 'one');
    mkdirSync(one);
    await writePhoto(join(one, 'a.png'), 64, 64, 0, 1);
    await expect(loadPhotoFolder(one)).rejects.toThrow('for folder:' + one + ' but received "1 photo(s)"');
    await expect(loadPhotoFolder(rgbDir, { patch: 56 })).rejects.toThrow('Expected photos of at least 56x56 (the patch size) in folder:' + rgbDir + ' but received p0.png (60x50), p1.png (70x50)');
    const broken = join(root, 'broken');
    mkdirSync(broken);
    await writePhoto(join(broken, 'a.png'), 64, 64, 0, 1);
    writeFileSync(join(broken, 'b.jpg'), 'not a jpeg');
    await expect(loadPhotoFolder(broken, { patch: 16 })).rejects.toThrow(`Expected a readable photo for ${join(broken, 'b.jpg')} but received one that fails to decode`);
    await expect(loadPhotoFolder(rgbDir, { patch: 4 })).rejects.toThrow('Expected an integer >= 8 and <= 1024 for patch but received 4');
  });
});

describe('folder:<dir>', () => {
  it('cuts RGB patches from the training photos, and test patches only from the held-out ones', async () => {
    const data = await loadPhotoFolder(rgbDir, { patch: 16, trainPatches: 100, testPatches: 30, holdOutEvery: 3, seed: 4 });
    // Sorted p0..p5, every 3rd from the last held out: p5 and p2.
    expect(data.split).toContain('4 photos for training, 2 held out (every 3th by name, from the last: p2.png, p5.png)');
    expect(data.train).toMatchObject({ count: 100, height: 16, width: 16, channels: 3 });
    expect(data.test).toMatchObject({ count: 30, height: 16, width: 16, channels: 3 });
    const origin = (set: typeof data.train, i: number) => {
      const at = (x: number, y: number, c: number) => set.pixels[i * 16 * 16 * 3 + (y * 16 + x) * 3 + c]!;
      // Each patch is a contiguous window: x and y step by one, the third channel names the photo.
      for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) {
        expect(at(x, y, 0)).toBe(at(0, 0, 0) + x);
        expect(at(x, y, 1)).toBe(at(0, 0, 1) + y);
      }
      return at(0, 0, 2) / 10;
    };
    const trainPhotos = new Set(Array.from({ length: 100 }, (_, i) => origin(data.train, i)));
    const testPhotos = new Set(Array.from({ length: 30 }, (_, i) => origin(data.test, i)));
    expect([...trainPhotos].sort()).toEqual([0, 1, 3, 4]);
    expect([...testPhotos].sort()).toEqual([2, 5]);
  });

  it('is the same for a seed and differs for another; grey photos give one channel', async () => {
    const a = await loadPhotoFolder(rgbDir, { patch: 16, trainPatches: 20, testPatches: 5, seed: 1 });
    const b = await loadPhotoFolder(rgbDir, { patch: 16, trainPatches: 20, testPatches: 5, seed: 1 });
    const c = await loadPhotoFolder(rgbDir, { patch: 16, trainPatches: 20, testPatches: 5, seed: 2 });
    expect(b.train.pixels).toEqual(a.train.pixels);
    expect(c.train.pixels).not.toEqual(a.train.pixels);
    const grey = await loadPhotoFolder(rgbDir, { patch: 16, trainPatches: 4, testPatches: 2, channels: 1 });
    expect(grey.train.channels).toBe(1);
    expect(grey.train.pixels).toHaveLength(4 * 16 * 16);
  });
});
