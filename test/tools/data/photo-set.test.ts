// The photo set: manifest checks, the downscale rule, and assembly from a real (test-built) Debian package with checksums.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { assemblePhotoSet, downscaleFactor, readPhotoManifest, type PhotoEntry } from '../../../tools/data/photo-set.js';
import { packageRoot } from '../../../tools/io/package-files.js';
import { tempDirs } from '../../temp-dir.js';

const makeTempDir = tempDirs();
const root = makeTempDir('photo-set-');
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

function manifestFile(photos: unknown, name = 'm.json', format = 'onnx-denoiser/photo-set'): string {
  const file = join(root, name);
  writeFileSync(file, JSON.stringify({ format, version: 1, photos }));
  return file;
}

let photos: PhotoEntry[];
const cache = join(root, 'cache');

beforeAll(async () => {
  // A package "test-photos" 1.0 holding a 300x200 JPEG (downscaled by 2) and a 40x30 grey PNG (kept as is).
  const pkg = join(root, 'pkg');
  mkdirSync(join(pkg, 'DEBIAN'), { recursive: true });
  mkdirSync(join(pkg, 'usr/share/pics'), { recursive: true });
  writeFileSync(join(pkg, 'DEBIAN/control'), 'Package: test-photos\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@example.com>\nDescription: test\n');
  const rgb = Buffer.alloc(300 * 200 * 3, 0).map((_, i) => (i * 7) % 256);
  await sharp(rgb, { raw: { width: 300, height: 200, channels: 3 } }).jpeg().toFile(join(pkg, 'usr/share/pics/a.jpg'));
  await sharp(Buffer.alloc(40 * 30, 128), { raw: { width: 40, height: 30, channels: 1 } }).toColourspace('b-w').png().toFile(join(pkg, 'usr/share/pics/b.png'));
  mkdirSync(join(cache, 'debs'), { recursive: true });
  execFileSync('dpkg-deb', ['-b', pkg, join(cache, 'debs', 'test-photos_1.0_all.deb')], { stdio: 'ignore' });
  const entry = (name: string, path: string, split: 'train' | 'val'): PhotoEntry => ({ name, package: 'test-photos', version: '1.0', path, licence: 'CC0-1.0', copyright: 'nobody', sha256: sha(join(pkg, path)), split });
  photos = [entry('a', 'usr/share/pics/a.jpg', 'train'), entry('b', 'usr/share/pics/b.png', 'val')];
});

describe('photo set: bad calls', () => {
  it('refuses a manifest of another format, without photos, or with a bad entry, naming the file and key', async () => {
    await expect(readPhotoManifest(manifestFile([], 'x.json', 'other'))).rejects.toThrow(`Expected a manifest with format "onnx-denoiser/photo-set" for ${join(root, 'x.json')} but received "other"`);
    await expect(readPhotoManifest(manifestFile([], 'e.json'))).rejects.toThrow(`Expected a non-empty "photos" array for ${join(root, 'e.json')}: photos but received []`);
    await expect(readPhotoManifest(manifestFile([{ ...photos[0], sha256: 7 }], 'k.json'))).rejects.toThrow(`Expected a string "sha256" for ${join(root, 'k.json')}: photos[0] but received 7`);
    await expect(readPhotoManifest(manifestFile([{ ...photos[0], split: 'test' }], 's.json'))).rejects.toThrow(`Expected "train" or "val" for ${join(root, 's.json')}: photos[0].split but received "test"`);
  });

  it('refuses a file whose checksum differs, and a path the package does not hold', async () => {
    const bad = { photos: [{ ...photos[0]!, sha256: '0'.repeat(64) }] };
    await expect(assemblePhotoSet({ manifest: bad, out: join(root, 'bad'), cache })).rejects.toThrow(`Expected sha256 ${'0'.repeat(64)} for usr/share/pics/a.jpg (test-photos=1.0) but received ${photos[0]!.sha256}`);
    const missing = { photos: [{ ...photos[0]!, path: 'usr/share/pics/none.jpg' }] };
    await expect(assemblePhotoSet({ manifest: missing, out: join(root, 'bad'), cache })).rejects.toThrow('Expected a package holding usr/share/pics/none.jpg for test-photos=1.0 but received one without it');
  });
});

describe('photo set', () => {
  it('downscales JPEGs by at least 2 and to at most 2048 px on the long side; PNGs stay', () => {
    expect(downscaleFactor('x.jpg', 2560, 1600)).toBe(2);
    expect(downscaleFactor('x.JPEG', 5120, 2880)).toBe(3);
    expect(downscaleFactor('x.jpg', 6028, 3391)).toBe(3);
    expect(downscaleFactor('x.jpg', 800, 600)).toBe(2);
    expect(downscaleFactor('x.png', 5120, 2880)).toBe(1);
  });

  it('assembles train/ and val/ PNGs from the package, grey kept grey, with SOURCES.md', async () => {
    const out = join(root, 'out');
    const result = await assemblePhotoSet({ manifest: { photos }, out, cache });
    expect(result.written).toBe(2);
    expect(result.sourceMegapixels).toBeCloseTo((300 * 200 + 40 * 30) / 1e6, 6);
    const a = await sharp(join(out, 'train', 'a.png')).metadata();
    expect([a.width, a.height, a.channels]).toEqual([150, 100, 3]);
    expect((await sharp(join(out, 'val', 'b.png')).metadata()).channels).toBe(1);
    const b = await sharp(join(out, 'val', 'b.png')).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    expect([b.info.width, b.info.height, b.info.channels]).toEqual([40, 30, 1]);
    expect(b.data.every((v) => v === 128)).toBe(true);
    const sources = readFileSync(join(out, 'SOURCES.md'), 'utf8');
    expect(sources).toContain('| train | a | test-photos 1.0 | CC0-1.0 | nobody | 300x200 / 2 = 150x100 |');
    expect(sources).toContain('| val | b | test-photos 1.0 | CC0-1.0 | nobody | 40x30 / 1 = 40x30 grey |');
  });

  it('the shipped manifest is well-formed: unique names, whole photos held out, a licence for each', async () => {
    const manifest = await readPhotoManifest(join(packageRoot(), 'models', 'photo-set', 'manifest.json'));
    const names = manifest.photos.map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
    expect(manifest.photos.filter((p) => p.split === 'val').length).toBeGreaterThanOrEqual(5);
    for (const p of manifest.photos) expect(p.sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});
