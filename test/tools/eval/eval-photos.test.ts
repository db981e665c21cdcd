// `tools eval --images` through the built bin: bad calls, then a folder of two RGB photos and one grey photo scored in RGB and grey.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { psnr } from '../../../runtime-common/metrics.js';
import { Rng } from '../../../runtime-common/rng.js';
import type { PhotoEvalResult, PhotoScore } from '../../../tools/eval/photo-eval.js';
import { autoNoiseLevel, estimateNoiseLevel } from '../../../runtime-common/noise-level.js';
import { identityModel, noiseMapOffsetModel, offsetModel } from '../../../tools/onnx/test-models.js';
import { tempDirs } from '../../temp-dir.js';

const makeTempDir = tempDirs();
const work = makeTempDir('eval-photos-');
const photos = join(work, 'photos');
const OFFSET = 0.02;
const W = 40;
const H = 32;

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [join(process.cwd(), 'tools/bin/tools.js'), 'eval', ...args], { cwd: work, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A colour photo with values in 60..200, so that an offset of 0.02 is never clipped. */
function colourPixels(k: number): Uint8Array {
  return Uint8Array.from({ length: W * H * 3 }, (_, i) => {
    const p = Math.floor(i / 3);
    const x = p % W;
    const y = Math.floor(p / W);
    return Math.round(130 + 35 * Math.sin(x / (4 + k) + (i % 3)) + 20 * Math.cos(y / 5) + (x >= W / 2 ? 15 : -15));
  });
}
const greyPixels = Uint8Array.from({ length: W * H }, (_, i) => 70 + (i % W) * 2 + Math.floor(i / W));

beforeAll(async () => {
  mkdirSync(photos);
  mkdirSync(join(work, 'empty'));
  mkdirSync(join(work, 'grey-only'));
  await sharp(colourPixels(0), { raw: { width: W, height: H, channels: 3 } }).png().toFile(join(photos, 'a.png'));
  await sharp(colourPixels(3), { raw: { width: W, height: H, channels: 3 } }).png().toFile(join(photos, 'b.png'));
  await sharp(greyPixels, { raw: { width: W, height: H, channels: 1 } }).toColourspace('b-w').png().toFile(join(photos, 'c.png'));
  await sharp(greyPixels, { raw: { width: W, height: H, channels: 1 } }).toColourspace('b-w').png().toFile(join(work, 'grey-only', 'g.png'));
  writeFileSync(join(work, 'identity.onnx'), identityModel());
  writeFileSync(join(work, 'offset.onnx'), offsetModel(OFFSET));
  writeFileSync(join(work, 'map-offset.onnx'), noiseMapOffsetModel());
});

describe('tools eval --images: bad calls', () => {
  it.each([
    [['--images', 'photos', '--sigmas', '10,x'], 'Expected comma-separated numbers from 0 to 255 such as 10,15,25,50 for --sigmas but received "10,x"'],
    [['--images', 'photos', '--sigmas', '300'], 'Expected comma-separated numbers from 0 to 255 such as 10,15,25,50 for --sigmas but received "300"'],
    [['--images', 'photos', '--sigmas', '10,10'], 'Expected distinct sigmas for --sigmas but received "10,10"'],
    [['--images', 'photos', '--baselines', 'bilateral,bm3d'], 'Expected a comma-separated list of "bilateral", "tv", "nlm", "wavelet", "blur" (or "none") for --baselines but received "bilateral,bm3d"'],
    [['--images', 'photos', '--colour', 'rgb,cmyk'], 'Expected a comma-separated list of "rgb", "grey" for --colour but received "rgb,cmyk"'],
    [['--images', 'photos', '--levels', '0.1', '--sigmas', '10'], 'Expected either --sigmas or --levels with --images, not both for --levels but received "0.1"'],
    [['--images', 'photos', '--levels', '0.1,2'], 'Expected comma-separated factors from 0 to 1 such as 0.1,0.2 (sigma / 255) with --images for --levels but received "0.1,2"'],
    [['--images', 'photos', '--noise', 'poisson'], 'Expected "gaussian" with --images (photos take --sigmas) for --noise but received "poisson"'],
    [['--images', 'photos', '--max-side', '4'], 'Expected an integer >= 16 for --max-side but received 4'],
    [['--images', 'photos', '--estimate-scales', '0.9,x'], 'Expected comma-separated factors from 0 to 4 such as 0.8,0.9,1 for --estimate-scales but received "0.9,x"'],
    [['--images', 'photos', '--estimate-scales', '1,1'], 'Expected distinct factors for --estimate-scales but received "1,1"'],
    [['--estimate-scales', '1'], 'Expected no value without --images (photos only) for --estimate-scales but received "1"'],
    [['--images', 'photos', '--crop', '8'], 'Expected an integer >= 16 for --crop but received 8'],
    [['--sigmas', '10'], 'Expected no value without --images (photos only) for --sigmas but received "10"'],
    [['--images', 'empty'], 'Expected a folder with image files (.png, .jpg, .jpeg, .webp, .tif, .tiff, .avif, .gif) for --images but received "empty"'],
    [['--images', 'missing'], 'Expected a readable folder of images for --images but received "missing"'],
    [['--images', 'grey-only', '--colour', 'rgb', '--model', 'identity.onnx'], 'Expected a colour mode the photos have (every photo in the folder is grey) for --colour but received "rgb"'],
  ])('%j', (args, message) => {
    const r = run(...args, '--out', 'bad');
    expect(r.stderr).toContain(message);
    expect(r.code).toBe(1);
  });
});

describe('tools eval --images', () => {
  let result: PhotoEvalResult;
  let report: string;
  const methods = ['noisy input', 'bilateral filter', 'total variation (Chambolle)', 'non-local means', 'wavelet (BayesShrink)', 'Gaussian blur', 'identity.onnx', 'offset.onnx'];
  const score = (colour: 'rgb' | 'grey', sigma: number, method: string): PhotoScore =>
    result.colours.find((c) => c.colour === colour)!.sigmas.find((s) => s.sigma === sigma)!.scores.find((s) => s.method === method)!;

  beforeAll(() => {
    const r = run('--images', 'photos', '--model', 'identity.onnx', '--model', 'offset.onnx', '--sigmas', '10,25', '--json', '--out', 'out');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('rgb σ 25: non-local means');
    result = JSON.parse(r.stdout) as PhotoEvalResult;
    report = readFileSync(join(work, 'out', 'eval.md'), 'utf8');
  }, 300_000);

  it('scores colour photos in RGB and every photo in grey, every method at every sigma', () => {
    expect(result.kind).toBe('photos');
    expect(result.sigmas).toEqual([10, 25]);
    expect(result.colours.map((c) => [c.colour, c.photos])).toEqual([
      ['rgb', ['a.png', 'b.png']],
      ['grey', ['a.png', 'b.png', 'c.png']],
    ]);
    for (const colour of result.colours) {
      expect(colour.megapixels).toBeCloseTo((colour.photos.length * W * H) / 1e6, 12);
      for (const { scores } of colour.sigmas) expect(scores.map((s) => s.method)).toEqual(methods);
    }
  });

  it("the noisy input's PSNR, worked out here from the same seeded noise", async () => {
    for (const sigma of result.sigmas) {
      const rng = new Rng(1);
      let sum = 0;
      for (const name of ['a.png', 'b.png']) {
        const clean = Float32Array.from(await sharp(join(photos, name)).raw().toBuffer(), (v) => v / 255);
        const noisy = clean.map((v) => Math.round(Math.min(1, Math.max(0, v + (sigma / 255) * rng.nextNormal())) * 255) / 255);
        sum += psnr(noisy, clean);
      }
      expect(score('rgb', sigma, 'noisy input').psnr).toBeCloseTo(sum / 2, 9);
    }
  });

  it('an identity model scores exactly the noisy input; every tuned baseline beats it, its parameters recorded', () => {
    for (const colour of ['rgb', 'grey'] as const) {
      for (const sigma of result.sigmas) {
        const noisy = score(colour, sigma, 'noisy input');
        const identity = score(colour, sigma, 'identity.onnx');
        expect([identity.psnr, identity.ssim, identity.colourShift]).toEqual([noisy.psnr, noisy.ssim, noisy.colourShift]);
        expect(identity.secondsPerMegapixel).toBeGreaterThan(0);
        for (const s of result.colours.find((c) => c.colour === colour)!.sigmas.find((x) => x.sigma === sigma)!.scores.filter((x) => x.kind === 'classical')) {
          expect(s.psnr, `${colour} σ ${sigma} ${s.method}`).toBeGreaterThan(noisy.psnr);
          expect(Object.keys(s.params!).length).toBeGreaterThan(0);
          expect(s.paramsText).toBeTruthy();
          expect(s.tuning!.evaluations).toBeGreaterThan(5);
        }
      }
    }
  });

  it("reports a biased model's colour shift: +0.02 is 5.1 levels on the clean photos, and within the noise's own shift of it under noise", () => {
    for (const colour of result.colours) {
      expect(colour.clean.find((c) => c.method === 'identity.onnx')!.colourShift).toBe(0);
      expect(colour.clean.find((c) => c.method === 'offset.onnx')!.colourShift).toBeCloseTo(OFFSET * 255, 3);
      for (const sigma of result.sigmas) {
        const noisyShift = score(colour.colour, sigma, 'noisy input').colourShift;
        expect(Math.abs(score(colour.colour, sigma, 'offset.onnx').colourShift - OFFSET * 255)).toBeLessThanOrEqual(noisyShift + 1e-3);
      }
    }
  });

  it('writes eval.md with a table per colour mode (methods by sigma, s/MP), the colour shift and the tuned parameters, and the grids', async () => {
    expect(report.match(/\| method \| σ 10 \| σ 25 \| s\/MP \|/g)).toHaveLength(2);
    expect(report).toContain('## RGB: 2 photo(s)');
    expect(report).toContain('## Grey: 3 photo(s)');
    for (const method of methods.slice(1)) expect(report).toMatch(new RegExp(`\\| ${method.replace(/[()]/g, '\\$&')} \\| (\\*\\*)?[\\d.]+ dB / [\\d.]+(\\*\\*)? \\|`));
    expect(report.match(/\| method \| clean \| σ 10 \| σ 25 \|/g)).toHaveLength(2);
    expect(report).toMatch(/\| offset\.onnx \| 5\.10 \|/);
    expect(report.match(/\| baseline \| σ 10 \|/g)).toHaveLength(2);
    expect(report).toContain('oracle-tuned');
    const saved = JSON.parse(readFileSync(join(work, 'out', 'eval.json'), 'utf8')) as PhotoEvalResult;
    expect(saved.colours).toEqual(result.colours);
    for (const colour of ['rgb', 'grey']) {
      for (const sigma of result.sigmas) expect((await sharp(join(work, 'out', `eval-${colour}-sigma${sigma}.png`)).metadata()).format).toBe('png');
    }
  });

  it('the defaults: sigmas 10, 15, 25, 50 and both colour modes; --help lists the baselines', () => {
    const r = run('--images', 'photos', '--model', 'identity.onnx', '--baselines', 'none', '--json', '--out', 'defaults');
    expect(r.code, r.stderr).toBe(0);
    const defaults = JSON.parse(r.stdout) as PhotoEvalResult;
    expect(defaults.sigmas).toEqual([10, 15, 25, 50]);
    expect(defaults.colours.map((c) => c.colour)).toEqual(['rgb', 'grey']);
    expect(r.stderr).toContain('baselines none');
    const help = run('--help').stdout.replace(/\s+/g, ' ');
    for (const option of ['--sigmas', '--colour', '--baselines', '--max-side', '--crop', '--tune-side']) expect(help).toContain(option);
    expect(help).toContain('bilateral,tv,nlm,wavelet,blur or none');
  });

  it('--colour, --baselines (and none), --sigmas (with 0) or --levels, --limit and --max-side', () => {
    const r = run('--images', 'photos', '--model', 'identity.onnx', '--colour', 'grey', '--baselines', 'blur', '--sigmas', '0,20', '--limit', '2', '--max-side', '20', '--json', '--out', 'small');
    expect(r.code, r.stderr).toBe(0);
    const small = JSON.parse(r.stdout) as PhotoEvalResult;
    expect(small.colours.map((c) => [c.colour, c.photos])).toEqual([['grey', ['a.png', 'b.png']]]);
    const grey = small.colours[0]!;
    expect(grey.megapixels).toBeCloseTo((2 * 20 * 16) / 1e6, 12);
    expect(grey.sigmas.map((s) => s.sigma)).toEqual([0, 20]);
    expect(grey.sigmas[0]!.scores.map((s) => s.method)).toEqual(['noisy input', 'Gaussian blur', 'identity.onnx']);
    // 8-bit photos with sigma 0: the rounded "noisy" photo is the photo itself.
    expect(grey.sigmas[0]!.scores[0]!.psnr).toBe(100);
    expect(grey.sigmas[1]!.scores[0]!.psnr).toBeLessThan(40);
    // --levels instead of --sigmas: factors of 255.
    const none = run('--images', 'photos', '--model', 'identity.onnx', '--colour', 'rgb', '--baselines', 'none', '--levels', '0.1', '--json', '--out', 'none');
    const rgb = (JSON.parse(none.stdout) as PhotoEvalResult).colours[0]!;
    expect(rgb.sigmas.map((s) => s.sigma)).toEqual([25.5]);
    expect(rgb.sigmas[0]!.scores.map((s) => s.method)).toEqual(['noisy input', 'identity.onnx']);
    // --crop: the centre 16x16 of each photo at its own scale.
    const cropped = run('--images', 'photos', '--model', 'identity.onnx', '--colour', 'grey', '--baselines', 'none', '--sigmas', '20', '--limit', '2', '--crop', '16', '--json', '--out', 'crop');
    expect(cropped.code, cropped.stderr).toBe(0);
    expect((JSON.parse(cropped.stdout) as PhotoEvalResult).colours[0]!.megapixels).toBeCloseTo((2 * 16 * 16) / 1e6, 12);
  });
});

describe('tools eval --images with a model told the noise level', () => {
  it('scores it as denoise runs it (auto), told the true sigma (--known-sigma) and told factors of the plain estimate (--estimate-scales), each worked out here', async () => {
    const r = run('--images', 'photos', '--model', 'map-offset.onnx', '--colour', 'rgb', '--sigmas', '12', '--baselines', 'none', '--known-sigma', '--estimate-scales', '0.5,1', '--json', '--out', 'mapped');
    expect(r.code, r.stderr).toBe(0);
    const scores = (JSON.parse(r.stdout) as PhotoEvalResult).colours[0]!.sigmas[0]!.scores;
    expect(scores.map((x) => x.method)).toEqual(['noisy input', 'map-offset', 'map-offset, σ known', 'map-offset, 0.5 × estimate', 'map-offset, 1 × estimate']);
    // The model adds its map (the level told) to every sample; outputs are clipped to [0, 1].
    const rng = new Rng(1);
    const sums = [0, 0, 0, 0];
    for (const name of ['a.png', 'b.png']) {
      const clean = Float32Array.from(await sharp(join(photos, name)).raw().toBuffer(), (v) => v / 255);
      const noisy = clean.map((v) => Math.round(Math.min(1, Math.max(0, v + (12 / 255) * rng.nextNormal())) * 255) / 255);
      const image = { data: noisy, width: W, height: H, channels: 3 };
      const levels = [autoNoiseLevel(image), 12 / 255, 0.5 * estimateNoiseLevel(image), estimateNoiseLevel(image)];
      levels.forEach((level, i) => {
        sums[i] += psnr(noisy.map((v) => Math.min(1, Math.fround(v + Math.fround(level)))), clean);
      });
    }
    scores.slice(1).forEach((x, i) => expect(x.psnr, x.method).toBeCloseTo(sums[i]! / 2, 3));
  }, 300_000);
});
