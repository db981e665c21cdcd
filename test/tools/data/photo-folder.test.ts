// folder:<dir>: patches cut from photos at seeded positions, whole photos held out, colour kept, bad folders named.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../../../tools/data/datasets.js';
import { loadPhotoFolder } from '../../../tools/data/photo-folder.js';
import { tempDirs } from '../../temp-dir.js';

const makeTempDir = tempDirs();
const root = makeTempDir('photo-folder-');
const rgbDir = join(root, 'rgb');

/** A photo whose pixel (x, y) has channels (x, 2y, 10 * index): a patch tells where it came from (and x and y differ in step, so a transposed patch is not one with R and G swapped). */
async function writePhoto(file: string, width: number, height: number, index: number, channels: 1 | 3) {
  const data = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < channels; c++) data[(y * width + x) * channels + c] = c === 0 ? x : c === 1 ? 2 * y : 10 * index;
  await sharp(data, { raw: { width, height, channels } }).png().toFile(file);
}

/** Where a plain patch (no augmentation) came from, if it is a contiguous window of a test photo. */
function windowOrigin(pixels: Uint8Array, i: number, side: number): { x: number; y: number; photo: number } | undefined {
  const at = (x: number, y: number, c: number) => pixels[i * side * side * 3 + (y * side + x) * 3 + c]!;
  for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) {
    if (at(x, y, 0) !== at(0, 0, 0) + x || at(x, y, 1) !== at(0, 0, 1) + 2 * y || at(x, y, 2) !== at(0, 0, 2)) return undefined;
  }
  return { x: at(0, 0, 0), y: at(0, 0, 1) / 2, photo: at(0, 0, 2) / 10 };
}

const PERMS = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];

/** Finds the transform (bit 0: mirror x, 1: mirror y, 2: swap axes), channel permutation or grey that maps a window of a photo onto training patch i. */
function undoAugmentation(pixels: Uint8Array, i: number, side: number): { transform: number; perm: number[]; grey: boolean; photo: number } | undefined {
  const patch = pixels.subarray(i * side * side * 3, (i + 1) * side * side * 3);
  const last = side - 1;
  for (let t = 0; t < 8; t++) {
    // Undo t: output pixel (x, y) holds source pixel (sx, sy).
    const src = (x: number, y: number) => {
      let sx = t & 1 ? last - x : x;
      let sy = t & 2 ? last - y : y;
      if (t & 4) [sx, sy] = [sy, sx];
      return [sx, sy] as const;
    };
    const value = (x: number, y: number, c: number) => patch[(y * side + x) * 3 + c]!;
    // The source (0, 0) lands where src(x, y) = (0, 0).
    let origin: [number, number] | undefined;
    for (let y = 0; y < side && !origin; y++) for (let x = 0; x < side && !origin; x++) if (src(x, y)[0] === 0 && src(x, y)[1] === 0) origin = [x, y];
    for (const perm of PERMS) {
      // Channel c of the output is channel perm[c] of the source: source channel k sits at output perm.indexOf(k).
      const ch = (k: number) => perm.indexOf(k);
      const x0 = value(origin![0], origin![1], ch(0));
      const y0 = value(origin![0], origin![1], ch(1));
      const tag = value(origin![0], origin![1], ch(2));
      let ok = true;
      for (let y = 0; y < side && ok; y++) for (let x = 0; x < side && ok; x++) {
        const [sx, sy] = src(x, y);
        ok = value(x, y, ch(0)) === x0 + sx && value(x, y, ch(1)) === y0 + 2 * sy && value(x, y, ch(2)) === tag;
      }
      if (ok) return { transform: t, perm, grey: false, photo: tag / 10 };
    }
    // Grey: every channel equals round(0.299 R + 0.587 G + 0.114 B) of the source window (R = x, G = 2y, B = tag).
    for (let tag = 0; tag <= 50; tag += 10) for (let y0 = 0; y0 + side <= 50; y0++) for (let x0 = 0; x0 + side <= 110; x0++) {
      let ok = true;
      for (let y = 0; y < side && ok; y++) for (let x = 0; x < side && ok; x++) {
        const [sx, sy] = src(x, y);
        const v = Math.round(0.299 * (x0 + sx) + 0.587 * 2 * (y0 + sy) + 0.114 * tag);
        ok = value(x, y, 0) === v && value(x, y, 1) === v && value(x, y, 2) === v;
      }
      if (ok) return { transform: t, perm: [0, 1, 2], grey: true, photo: tag / 10 };
    }
  }
  return undefined;
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
    await expect(loadPhotoFolder(rgbDir, { patch: 56 })).rejects.toThrow('Expected photos of at least 56x56 (the patch size) for folder:' + rgbDir + ' but received p0.png (60x50), p1.png (70x50)');
    const broken = join(root, 'broken');
    mkdirSync(broken);
    await writePhoto(join(broken, 'a.png'), 64, 64, 0, 1);
    writeFileSync(join(broken, 'b.jpg'), 'not a jpeg');
    await expect(loadPhotoFolder(broken, { patch: 16 })).rejects.toThrow(`Expected a readable photo for ${join(broken, 'b.jpg')} but received one that fails to decode`);
    await expect(loadPhotoFolder(rgbDir, { patch: 4 })).rejects.toThrow('Expected an integer >= 8 and <= 1024 for patch but received 4');
    await expect(loadPhotoFolder(rgbDir, { patch: 16, greyShare: 1.5 })).rejects.toThrow('Expected a finite number >= 0 and <= 1 for greyShare but received 1.5');
  });
});

describe('folder:<dir>', () => {
  it('cuts RGB patches from the training photos, and test patches only from the held-out ones', async () => {
    const data = await loadPhotoFolder(rgbDir, { patch: 16, trainPatches: 300, testPatches: 30, holdOutEvery: 3, seed: 4 });
    // Sorted p0..p5, every 3rd from the last held out: p5 and p2.
    expect(data.split).toMatch(/^4 photos \(.* MP\) for training, 2 \(.* MP\) held out \(every 3th by name, from the last: p2.png, p5.png\)/);
    expect(data.train).toMatchObject({ count: 300, height: 16, width: 16, channels: 3 });
    expect(data.test).toMatchObject({ count: 30, height: 16, width: 16, channels: 3 });
    const testPhotos = new Set(Array.from({ length: 30 }, (_, i) => windowOrigin(data.test.pixels, i, 16)!.photo));
    expect([...testPhotos].sort()).toEqual([2, 5]);
    // Training patches are augmented: each is a window moved by one of the 8 flips/rotations, with its channels
    // permuted, or grey (Rec. 601 luma of the window in all three channels).
    const seen = { transforms: new Set<number>(), perms: new Set<string>(), grey: 0, photos: new Set<number>() };
    for (let i = 0; i < 300; i++) {
      const found = undoAugmentation(data.train.pixels, i, 16);
      expect(found, `training patch ${i}`).toBeDefined();
      if (found!.grey) seen.grey++;
      else {
        seen.transforms.add(found!.transform);
        seen.perms.add(found!.perm.join(''));
        seen.photos.add(found!.photo);
      }
    }
    expect(seen.transforms.size).toBe(8);
    expect(seen.perms.size).toBe(6);
    expect([...seen.photos].sort()).toEqual([0, 1, 3, 4]);
    // 25% grey: 75 expected of 300, binomial sd 7.5.
    expect(seen.grey).toBeGreaterThan(45);
    expect(seen.grey).toBeLessThan(105);
  });

  it('turns the asked share of training patches grey: none at 0, all at 1, about 60% at 0.6', async () => {
    const greyCount = async (greyShare: number) => {
      const data = await loadPhotoFolder(rgbDir, { patch: 16, trainPatches: 200, testPatches: 10, holdOutEvery: 3, seed: 5, greyShare });
      expect(data.split).toContain(`${greyShare * 100}% grey`);
      return Array.from({ length: 200 }, (_, i) => undoAugmentation(data.train.pixels, i, 16)!.grey).filter(Boolean).length;
    };
    expect(await greyCount(0)).toBe(0);
    expect(await greyCount(1)).toBe(200);
    // 120 expected of 200, binomial sd 6.9.
    const some = await greyCount(0.6);
    expect(some).toBeGreaterThan(95);
    expect(some).toBeLessThan(145);
  });

  it('splits a folder with train/ and val/ by them, and cuts each epoch afresh, the same for a seed and epoch', async () => {
    const split = join(root, 'split');
    mkdirSync(join(split, 'train'), { recursive: true });
    mkdirSync(join(split, 'val'));
    for (let i = 0; i < 3; i++) await writePhoto(join(split, 'train', `t${i}.png`), 40, 40, i, 3);
    await writePhoto(join(split, 'val', 'v.png'), 40, 40, 9, 3);
    const a = await loadPhotoFolder(split, { patch: 16, trainPatches: 24, testPatches: 6, seed: 3 });
    expect(a.split).toContain('split by its train/ and val/ folders: v.png');
    expect(new Set(Array.from({ length: 6 }, (_, i) => windowOrigin(a.test.pixels, i, 16)!.photo))).toEqual(new Set([9]));
    a.resampleTrain!(1);
    const epoch1 = a.train.pixels.slice();
    a.resampleTrain!(2);
    expect(a.train.pixels).not.toEqual(epoch1);
    const b = await loadPhotoFolder(split, { patch: 16, trainPatches: 24, testPatches: 6, seed: 3 });
    b.resampleTrain!(1);
    expect(b.train.pixels).toEqual(epoch1);
    await expect(loadPhotoFolder(join(root, 'rgb'), { patch: 16, trainPatches: 4, testPatches: 2 })).resolves.toBeDefined();
    const empty = join(root, 'split-empty');
    mkdirSync(join(empty, 'train'), { recursive: true });
    mkdirSync(join(empty, 'val'));
    for (let i = 0; i < 2; i++) await writePhoto(join(empty, 'train', `t${i}.png`), 40, 40, i, 3);
    await expect(loadPhotoFolder(empty, { patch: 16 })).rejects.toThrow(`Expected photos in both train/ and val/ for folder:${empty} but received "2 and 0"`);
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
