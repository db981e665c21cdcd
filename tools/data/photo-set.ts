// The photo set: a manifest of photographs in Debian packages (source, licence, sha256), and the one step that assembles them.
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { check, described, invalid } from 'onnx-denoiser-common';
import { writeFileAtomic } from 'onnx-denoiser-node/internal';

const run = promisify(execFile);

/** One photograph of the set: where it comes from and which split it belongs to. */
export interface PhotoEntry {
  /** File name (without extension) in the assembled set. */
  name: string;
  /** Debian package holding the photo. */
  package: string;
  /** The package version the checksum was taken from. */
  version: string;
  /** Path inside the package. */
  path: string;
  /** SPDX-style licence (from the package's copyright file). */
  licence: string;
  copyright: string;
  /** sha256 of the file as the package ships it. */
  sha256: string;
  /** `train`, or `val`: whole photos held out for validation and for the README's tables. */
  split: 'train' | 'val';
}

/** The parsed manifest (models/photo-set/manifest.json). */
export interface PhotoManifest {
  photos: PhotoEntry[];
}

/** Reads and checks the manifest. */
export async function readPhotoManifest(file: string): Promise<PhotoManifest> {
  const raw = JSON.parse(await readFile(file, 'utf8')) as { format?: string; photos?: unknown };
  check(raw.format === 'onnx-denoiser/photo-set', 'a manifest with format "onnx-denoiser/photo-set"', file, raw.format);
  check(Array.isArray(raw.photos) && raw.photos.length > 0, 'a non-empty "photos" array', `${file}: photos`, raw.photos);
  const keys = ['name', 'package', 'version', 'path', 'licence', 'copyright', 'sha256', 'split'] as const;
  for (const [i, p] of (raw.photos as Record<string, unknown>[]).entries()) {
    for (const key of keys) check(typeof p[key] === 'string' && p[key] !== '', `a string "${key}"`, `${file}: photos[${i}]`, p[key]);
    check(p.split === 'train' || p.split === 'val', '"train" or "val"', `${file}: photos[${i}].split`, p.split);
  }
  return raw as unknown as PhotoManifest;
}

/**
 * The downscale factor of a photo: JPEG wallpapers by at least 2 (which hides their compression artifacts, which
 * a model would otherwise learn as "clean") and to at most 2048 px on the long side; lossless PNGs stay as they are.
 */
export function downscaleFactor(file: string, width: number, height: number): number {
  if (!/\.jpe?g$/i.test(file)) return 1;
  return Math.max(2, Math.ceil(Math.max(width, height) / 2048));
}

/** Options of {@link assemblePhotoSet}. */
export interface AssembleOptions {
  manifest: PhotoManifest;
  /** The output folder: `train/` and `val/` PNGs and SOURCES.md go here. */
  out: string;
  /** Where .deb files are downloaded and unpacked. */
  cache: string;
  onLine?: (text: string) => void;
}

/** What {@link assemblePhotoSet} wrote. */
export interface AssembleResult {
  written: number;
  sourceMegapixels: number;
  megapixels: { train: number; val: number };
}

async function unpackPackage(name: string, version: string, cache: string, say: (t: string) => void): Promise<string> {
  const root = path.join(cache, 'unpacked', `${name}_${version.replace(/:/g, '%3a')}`);
  const done = path.join(root, '.done');
  if (await readFile(done, 'utf8').then(() => true, () => false)) return root;
  const debs = path.join(cache, 'debs');
  await mkdir(debs, { recursive: true });
  const has = (await readdir(debs)).find((f) => f.startsWith(`${name}_`) && f.endsWith('.deb'));
  let deb = has ? path.join(debs, has) : undefined;
  if (!deb) {
    say(`photos: apt-get download ${name}=${version}`);
    try {
      await run('apt-get', ['download', `${name}=${version}`], { cwd: debs });
    } catch (error) {
      const why = `${(error as Error).message.split('\n')[0]} (run "apt-get update" first, or put the .deb file in ${debs})`;
      throw invalid('a Debian package apt-get can download', `${name}=${version}`, described('one it failed to download'), { hint: why, argument: name });
    }
    const got = (await readdir(debs)).find((f) => f.startsWith(`${name}_`) && f.endsWith('.deb'));
    if (!got) throw invalid(`${name}_*.deb`, `${debs} after apt-get download`, described('a folder without it'), { argument: name });
    deb = path.join(debs, got);
  }
  await rm(root, { recursive: true, force: true });
  await mkdir(root, { recursive: true });
  await run('dpkg-deb', ['-x', deb, root]);
  await writeFile(done, version);
  return root;
}

/**
 * Downloads the manifest's packages (apt-get download, dpkg-deb -x), checks each photo's sha256, and writes each
 * photo downscaled ({@link downscaleFactor}) as an sRGB (or grey) PNG to `out/<split>/<name>.png`, with SOURCES.md.
 * @throws ValidationError when a package cannot be fetched or a file differs from its checksum.
 */
export async function assemblePhotoSet(options: AssembleOptions): Promise<AssembleResult> {
  const say = options.onLine ?? (() => {});
  const roots = new Map<string, string>();
  const result: AssembleResult = { written: 0, sourceMegapixels: 0, megapixels: { train: 0, val: 0 } };
  const rows: string[] = [];
  for (const split of ['train', 'val']) await mkdir(path.join(options.out, split), { recursive: true });
  for (const photo of options.manifest.photos) {
    const key = `${photo.package}=${photo.version}`;
    if (!roots.has(key)) roots.set(key, await unpackPackage(photo.package, photo.version, options.cache, say));
    const file = path.join(roots.get(key)!, photo.path);
    const bytes = await readFile(file).catch(() => {
      throw invalid(`a package holding ${photo.path}`, key, described('one without it'), { argument: photo.name });
    });
    const sum = createHash('sha256').update(bytes).digest('hex');
    if (sum !== photo.sha256) throw invalid(`sha256 ${photo.sha256}`, `${photo.path} (${key})`, described(sum), { argument: photo.name });
    const meta = await sharp(bytes).metadata();
    const width = meta.width ?? 0;
    const height = meta.height ?? 0;
    const factor = downscaleFactor(photo.path, width, height);
    const grey = (meta.channels ?? 3) < 3 || meta.space === 'b-w';
    let pipeline = sharp(bytes).autoOrient().removeAlpha();
    if (factor > 1) pipeline = pipeline.resize(Math.round(width / factor), Math.round(height / factor), { kernel: 'lanczos3' });
    pipeline = grey ? pipeline.toColourspace('b-w') : pipeline.toColourspace('srgb');
    const png = await pipeline.png({ compressionLevel: 6 }).toBuffer({ resolveWithObject: true });
    await writeFileAtomic(path.join(options.out, photo.split, `${photo.name}.png`), png.data, { overwrite: true });
    const mp = (png.info.width * png.info.height) / 1e6;
    result.written++;
    result.sourceMegapixels += (width * height) / 1e6;
    result.megapixels[photo.split] += mp;
    rows.push(`| ${photo.split} | ${photo.name} | ${photo.package} ${photo.version} | ${photo.licence} | ${photo.copyright} | ${width}x${height} / ${factor} = ${png.info.width}x${png.info.height}${grey ? ' grey' : ''} |`);
    say(`photos: ${photo.split}/${photo.name}.png ${png.info.width}x${png.info.height}${grey ? ' (grey)' : ''}`);
  }
  const sources = [
    '# Photo set',
    '',
    'Assembled by `npx tools photos` from models/photo-set/manifest.json (each file checked against its sha256).',
    '',
    '| split | photo | Debian package | licence | copyright | size (source / factor = here) |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
  await writeFileAtomic(path.join(options.out, 'SOURCES.md'), sources, { overwrite: true });
  return result;
}
