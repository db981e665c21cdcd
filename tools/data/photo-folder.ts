// `folder:<dir>`: a dataset of random square patches cut from a folder of photos, with whole photos held out for testing.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { check, checkInteger, ValidationError } from '../../runtime-common/validate.js';
import type { Dataset, ImageSet } from './image-set.js';
import { Rng } from './rng.js';

/** File extensions read as photos. */
export const PHOTO_EXTENSIONS: readonly string[] = Object.freeze(['.png', '.jpg', '.jpeg', '.webp', '.tif', '.tiff', '.avif']);

/** Options of {@link loadPhotoFolder}; every field has a documented default. */
export interface PhotoFolderOptions {
  /** Patch side in pixels (a multiple of 4 suits the shipped networks). Default 48. */
  patch?: number;
  /** Training patches. Default 20,000. */
  trainPatches?: number;
  /** Test patches, from the held-out photos only. Default 1,000. */
  testPatches?: number;
  /** Every `holdOutEvery`-th photo (sorted by name, starting with the last) goes to the test split. Default 5. */
  holdOutEvery?: number;
  /** 1 (grey) or 3 (RGB); default 3 when any photo has colour, else 1. */
  channels?: 1 | 3;
  /** Seed of the patch positions. Default 1. */
  seed?: number;
}

interface Photo {
  file: string;
  data: Uint8Array;
  width: number;
  height: number;
}

async function readPhoto(file: string, channels: 1 | 3): Promise<Photo> {
  try {
    let pipeline = sharp(file, { failOn: 'error' }).autoOrient().removeAlpha();
    pipeline = channels === 1 ? pipeline.toColourspace('b-w') : pipeline.toColourspace('srgb');
    const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== channels) throw new Error(`decoded to ${info.channels} channels`);
    return { file, data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
  } catch (error) {
    throw new ValidationError(`Expected a readable photo for ${file} but received one that fails to decode: ${(error as Error).message.split('\n')[0]}`, file);
  }
}

/** Cuts `count` patches at seeded positions, spread over the photos in turn (bigger photos are not favoured). */
function cutPatches(photos: readonly Photo[], count: number, side: number, channels: number, rng: Rng): ImageSet {
  const size = side * side * channels;
  const pixels = new Uint8Array(count * size);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const p = i % photos.length;
    const photo = photos[p]!;
    const x0 = rng.nextInt(photo.width - side + 1);
    const y0 = rng.nextInt(photo.height - side + 1);
    for (let y = 0; y < side; y++) {
      const from = ((y0 + y) * photo.width + x0) * channels;
      pixels.set(photo.data.subarray(from, from + side * channels), i * size + y * side * channels);
    }
    labels[i] = p % 256;
  }
  return { pixels, labels, count, height: side, width: side, channels };
}

/**
 * Loads `dir` as a patch dataset: the photos sorted by name, every `holdOutEvery`-th one (from the last) held out
 * so the test patches come from photos the model never saw; patches at seeded positions, the same for a seed.
 * @throws ValidationError for a missing folder, too few photos, photos smaller than a patch, or unreadable files.
 */
export async function loadPhotoFolder(dir: string, options: PhotoFolderOptions = {}): Promise<Dataset> {
  const side = checkInteger(options.patch ?? 48, 'patch', { min: 8, max: 1024 });
  const trainCount = checkInteger(options.trainPatches ?? 20_000, 'trainPatches', { min: 1 });
  const testCount = checkInteger(options.testPatches ?? 1_000, 'testPatches', { min: 1 });
  const every = checkInteger(options.holdOutEvery ?? 5, 'holdOutEvery', { min: 2 });
  const names = await readdir(dir).catch(() => {
    throw new ValidationError(`Expected a folder of photos for folder:${dir} but received a path that cannot be read as one`, 'dataset');
  });
  const files = names.filter((n) => PHOTO_EXTENSIONS.includes(path.extname(n).toLowerCase()) && !n.startsWith('.')).sort().map((n) => path.join(dir, n));
  check(files.length >= 2, `a folder with at least 2 photos (${PHOTO_EXTENSIONS.join(', ')}): some to train on, some held out`, `folder:${dir}`, `${files.length} photo(s)`);
  let channels = options.channels;
  if (channels === undefined) {
    const spaces = await Promise.all(files.map((f) => sharp(f).metadata().then((m) => m.channels ?? 1, () => 1)));
    channels = spaces.some((c) => c >= 3) ? 3 : 1;
  }
  const photos = await Promise.all(files.map((f) => readPhoto(f, channels!)));
  const small = photos.filter((p) => p.width < side || p.height < side);
  if (small.length) throw new ValidationError(`Expected photos of at least ${side}x${side} (the patch size) in folder:${dir} but received ${small.map((p) => `${path.basename(p.file)} (${p.width}x${p.height})`).join(', ')}`, 'dataset');
  const test = photos.filter((_, i) => (photos.length - 1 - i) % every === 0);
  const train = photos.filter((_, i) => (photos.length - 1 - i) % every !== 0);
  const seed = options.seed ?? 1;
  return {
    name: `folder:${dir}`,
    source: `${photos.length} photos in ${dir} (${channels === 3 ? 'RGB' : 'grey'})`,
    split: `${train.length} photos for training, ${test.length} held out (every ${every}th by name, from the last: ${test.map((p) => path.basename(p.file)).join(', ')}); ${trainCount} training and ${testCount} test patches of ${side}x${side} at seeded positions (seed ${seed})`,
    train: cutPatches(train, trainCount, side, channels, new Rng(seed)),
    test: cutPatches(test, testCount, side, channels, new Rng(seed + 1)),
    notes: [],
  };
}
