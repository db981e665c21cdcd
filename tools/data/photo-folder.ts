// `folder:<dir>`: a dataset of random square patches cut from a folder of photos, with whole photos held out for testing.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { check, checkInteger, checkNumber, described, invalid, Rng } from 'onnx-denoiser-common';
import type { Dataset, ImageSet } from './image-set.js';

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
  /** Share of augmented training patches (0 to 1) turned grey, for RGB photos. Default {@link GREY_SHARE}. */
  greyShare?: number;
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
    throw invalid('a readable photo', file, described('one that fails to decode'), { hint: (error as Error).message.split('\n')[0] });
  }
}

/** Default share of augmented training patches turned grey (luma replicated over the channels), so one RGB model serves grey photos. */
export const GREY_SHARE = 0.25;

/**
 * Cuts `count` patches at seeded positions, spread over the photos in turn (bigger photos are not favoured), into
 * `into` (or a new set). With `augment`, each patch also gets one of the 8 flips/rotations, a random permutation
 * of its colour channels (so the model cannot learn a colour prior and tint what it sees) and, for a share
 * `greyShare` of the patches, grey: the Rec. 601 luma in every channel.
 */
function cutPatches(photos: readonly Photo[], count: number, side: number, channels: number, rng: Rng, augment: boolean, greyShare: number, into?: ImageSet): ImageSet {
  const size = side * side * channels;
  const pixels = into?.pixels ?? new Uint8Array(count * size);
  const labels = into?.labels ?? new Uint8Array(count);
  const patch = new Uint8Array(size);
  for (let i = 0; i < count; i++) {
    const p = i % photos.length;
    const photo = photos[p]!;
    const x0 = rng.nextInt(photo.width - side + 1);
    const y0 = rng.nextInt(photo.height - side + 1);
    for (let y = 0; y < side; y++) {
      const from = ((y0 + y) * photo.width + x0) * channels;
      patch.set(photo.data.subarray(from, from + side * channels), y * side * channels);
    }
    const out = pixels.subarray(i * size, (i + 1) * size);
    if (augment) augmentPatch(patch, out, side, channels, rng, greyShare);
    else out.set(patch);
    labels[i] = p % 256;
  }
  return { pixels, labels, count, height: side, width: side, channels };
}

const PERMUTATIONS = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]] as const;

/** One dihedral transform (HWC), a channel permutation and maybe grey, from `rng`; see {@link cutPatches}. */
function augmentPatch(src: Uint8Array, dst: Uint8Array, side: number, channels: number, rng: Rng, greyShare: number): void {
  const t = rng.nextInt(8);
  const perm = channels === 3 ? PERMUTATIONS[rng.nextInt(6)]! : [0];
  const grey = channels === 3 && rng.nextFloat() < greyShare;
  const last = side - 1;
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      // Transform t: bit 0 mirrors x, bit 1 mirrors y, bit 2 swaps the axes (a square patch).
      let sx = t & 1 ? last - x : x;
      let sy = t & 2 ? last - y : y;
      if (t & 4) [sx, sy] = [sy, sx];
      const from = (sy * side + sx) * channels;
      const to = (y * side + x) * channels;
      if (grey) {
        const v = Math.round(0.299 * src[from]! + 0.587 * src[from + 1]! + 0.114 * src[from + 2]!);
        dst[to] = v;
        dst[to + 1] = v;
        dst[to + 2] = v;
      } else {
        for (let c = 0; c < channels; c++) dst[to + c] = src[from + perm[c]!]!;
      }
    }
  }
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
  const greyShare = checkNumber(options.greyShare ?? GREY_SHARE, 'greyShare', { min: 0, max: 1 });
  const names = await readdir(dir).catch(() => {
    throw invalid('a folder of photos', `folder:${dir}`, described('a path that cannot be read as one'), { argument: 'dataset' });
  });
  // A folder with train/ and val/ subfolders (as `tools photos` writes) is split by them; else every n-th photo is held out.
  const sub = await Promise.all(['train', 'val'].map((d) => readdir(path.join(dir, d)).then((n) => n, () => undefined)));
  const listed = (folder: string, entries: string[]) => entries.filter((n) => PHOTO_EXTENSIONS.includes(path.extname(n).toLowerCase()) && !n.startsWith('.')).sort().map((n) => path.join(folder, n));
  const presplit = sub[0] !== undefined && sub[1] !== undefined;
  const files = presplit ? [...listed(path.join(dir, 'train'), sub[0]!), ...listed(path.join(dir, 'val'), sub[1]!)] : listed(dir, names);
  check(files.length >= 2, `a folder with at least 2 photos (${PHOTO_EXTENSIONS.join(', ')}): some to train on, some held out`, `folder:${dir}`, `${files.length} photo(s)`);
  let channels = options.channels;
  if (channels === undefined) {
    const spaces = await Promise.all(files.map((f) => sharp(f).metadata().then((m) => m.channels ?? 1, () => 1)));
    channels = spaces.some((c) => c >= 3) ? 3 : 1;
  }
  const photos = await Promise.all(files.map((f) => readPhoto(f, channels!)));
  const small = photos.filter((p) => p.width < side || p.height < side);
  if (small.length) {
    const sizes = small.map((p) => `${path.basename(p.file)} (${p.width}x${p.height})`).join(', ');
    throw invalid(`photos of at least ${side}x${side} (the patch size)`, `folder:${dir}`, described(sizes), { argument: 'dataset' });
  }
  const isTest = (p: Photo, i: number) => (presplit ? path.basename(path.dirname(p.file)) === 'val' : (photos.length - 1 - i) % every === 0);
  const test = photos.filter((p, i) => isTest(p, i));
  const train = photos.filter((p, i) => !isTest(p, i));
  check(test.length > 0 && train.length > 0, 'photos in both train/ and val/', `folder:${dir}`, `${train.length} and ${test.length}`);
  const seed = options.seed ?? 1;
  const trainSet = cutPatches(train, trainCount, side, channels, new Rng(seed), true, greyShare);
  const megapixels = (list: Photo[]) => (list.reduce((a, p) => a + p.width * p.height, 0) / 1e6).toFixed(1);
  const how = presplit ? 'split by its train/ and val/ folders' : `every ${every}th by name, from the last`;
  return {
    name: `folder:${dir}`,
    source: `${photos.length} photos in ${dir} (${channels === 3 ? 'RGB' : 'grey'})`,
    split: `${train.length} photos (${megapixels(train)} MP) for training, ${test.length} (${megapixels(test)} MP) held out (${how}: ${test.map((p) => path.basename(p.file)).join(', ')}); ${trainCount} training patches of ${side}x${side} cut afresh each epoch (flips, rotations, channel permutations, ${Math.round(greyShare * 1000) / 10}% grey) and ${testCount} fixed test patches (seed ${seed})`,
    train: trainSet,
    test: cutPatches(test, testCount, side, channels, new Rng(seed + 1), false, 0),
    notes: [],
    // Epoch e's patches depend only on the seed and e, so a resumed run sees the same data as an uninterrupted one.
    resampleTrain: (epoch: number) => {
      cutPatches(train, trainCount, side, channels, new Rng(seed * 7919 + epoch), true, greyShare, trainSet);
    },
  };
}
