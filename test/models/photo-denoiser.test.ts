// The shipped default photo model (photo-denoiser, grey pictures through photo-denoiser-grey) on validation photos it never saw: no colour shift on clean photos, and above the best-tuned Gaussian blur on noisy ones, in colour and grey.
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readModelMetadata } from '../../runtime-common/onnx-model.js';
import { colourShift, psnr } from '../../runtime-common/metrics.js';

/** The colour shift of 8-bit pixels, in levels. */
const shift = (a: Uint8Array, b: Uint8Array, channels: number) => colourShift(a, b, channels, 255);
import { DEFAULT_MODEL_NAME, SHIPPED_MODELS } from '../../runtime-common/shipped-models.js';
import { Denoiser } from '../../runtime-node/denoiser.js';
import { Rng } from '../../runtime-common/rng.js';
import { gaussianBlur, goldenMax } from '../../tools/eval/baselines.js';
import { addPhotoNoise } from '../../tools/eval/photo-eval.js';

const FIXTURES = 'test/fixtures/photos';
const PHOTOS = ['Garden-crop.png', 'ColorfulCups-crop.png', 'coffee-crop.png', 'camera-crop.png'];

interface Photo {
  name: string;
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

let denoiser: Denoiser;
const photos: Photo[] = [];

beforeAll(async () => {
  denoiser = await Denoiser.create({ device: 'cpu', threads: 1 });
  for (const name of PHOTOS) {
    const grey = name.startsWith('camera');
    const pipeline = sharp(`${FIXTURES}/${name}`).removeAlpha();
    const { data, info } = await (grey ? pipeline.toColourspace('b-w') : pipeline).raw().toBuffer({ resolveWithObject: true });
    photos.push({ name, data: new Uint8Array(data), width: info.width, height: info.height, channels: info.channels });
  }
});

afterAll(async () => {
  await denoiser?.dispose();
});


/** The evaluation's noise (clip(x + sigma/255 N(0, 1), 0, 1) rounded to 8 bits, seeded) on 8-bit pixels. */
function addNoise(p: Photo, sigma: number, seed: number): Uint8Array {
  return Uint8Array.from(addPhotoNoise(toFloat(p, p.data), sigma, new Rng(seed)).data, (v) => Math.round(v * 255));
}

const toFloat = (p: Photo, data: Uint8Array) => ({ data: Float32Array.from(data, (v) => v / 255), width: p.width, height: p.height, channels: p.channels });

describe('photo-denoiser: bad calls', () => {
  it('refuses an image with a channel count it cannot take, naming it', async () => {
    await expect(denoiser.denoise({ data: new Uint8Array(4 * 4 * 5), width: 4, height: 4, channels: 5 })).rejects.toThrow('Expected an integer >= 1 and <= 4 for image.channels but received 5');
  });
});

describe('photo-denoiser', () => {
  it('is the default model, for colour and (through its companion) grey, and both describe the noise they were trained for', () => {
    expect(DEFAULT_MODEL_NAME).toBe('photo-denoiser');
    expect(denoiser.model.channels).toBe(3);
    expect(denoiser.hasGreyCompanion).toBe(true);
    for (const name of ['photo-denoiser', 'photo-denoiser-grey']) {
      const { metadata } = readModelMetadata(readFileSync(`models/${SHIPPED_MODELS[name]!.file}`), name);
      expect(metadata.noise, name).toMatchObject({ kind: 'gaussian', factor: 0 });
      expect(metadata.noise!.maxFactor, name).toBeGreaterThanOrEqual(50 / 255);
    }
  });

  it('takes the noise level through its noise map: told sigma 25 it removes far more than told 0, and its own estimate comes close to the truth', async () => {
    expect(denoiser.model.noiseMapName).toBe('noise_map');
    for (const [i, p] of photos.entries()) {
      const noisy = addNoise(p, 25, 700 + i);
      const clean = toFloat(p, p.data).data;
      const score = async (sigma: number | 'auto') => psnr(Float32Array.from((await denoiser.denoise({ data: noisy, width: p.width, height: p.height, channels: p.channels }, { sigma })).data as Uint8Array, (v) => v / 255), clean);
      const [told, none, auto] = [await score(25), await score(0), await score('auto')];
      const line = `${p.name}: told 25 ${told.toFixed(2)} dB, told 0 ${none.toFixed(2)} dB, auto ${auto.toFixed(2)} dB`;
      expect(told, line).toBeGreaterThan(none + 3);
      expect(Math.abs(auto - told), line).toBeLessThan(0.5);
    }
  });

  it('keeps the colour of clean pictures: every flat colour and photo within 0.5 of a level (the issue\'s target)', async () => {
    // The old photo model moved a flat (50, 100, 200) by 49 levels in red and clean photos by about 4; the stage-3
    // model a flat 235 by 2.5, stage 4 a flat (200, 100, 50) by 0.66 and the Garden crop by 0.84; stage 6 stayed within
    // 0.06 on all of them. Stage 8 read the photos' own grain as a few levels of noise (its estimate) and moved the
    // coffee crop by 0.37; stage 9 (told 0.9 of the estimate) by 0.30 and the flat (50, 100, 200) by 0.17. Stage 10
    // moved the coffee crop by 0.29; with the weak-texture estimate (clean crops read as almost noise-free) by 0.07,
    // ColorfulCups by 0.03, the rest (the grey camera crop through photo-denoiser-grey too) and every flat by 0.002 at most.
    const flats = [[128, 128, 128], [50, 100, 200], [200, 100, 50], [20, 20, 20], [235, 235, 235]].map((rgb) => {
      const data = new Uint8Array(64 * 64 * 3).map((_, i) => rgb[i % 3]!);
      return { name: `flat ${rgb.join(',')}`, data, width: 64, height: 64, channels: 3 };
    });
    const shifts: string[] = [];
    for (const p of [...flats, ...photos]) {
      const out = await denoiser.denoise({ data: p.data, width: p.width, height: p.height, channels: p.channels });
      expect(out.channels, p.name).toBe(p.channels);
      shifts.push(`${p.name}: ${shift(out.data as Uint8Array, p.data, p.channels).toFixed(2)}`);
    }
    const value = (line: string) => Number(line.split(': ')[1]);
    for (const line of shifts) expect(value(line), shifts.join('; ')).toBeLessThanOrEqual(0.5);
  });

  it('beats the Gaussian blur at its best sigma by 0.5 dB at sigma 15 and 25, in colour and grey, shifting colour by at most 3 levels (clipped noise alone shifts the mean by about 2 at sigma 25)', async () => {
    for (const sigma of [15, 25]) {
      for (const [i, p] of photos.entries()) {
        const noisy = addNoise(p, sigma, 100 * sigma + i);
        const clean = toFloat(p, p.data).data;
        const blur = goldenMax((s) => psnr(gaussianBlur(toFloat(p, noisy), s).data, clean), 0.3, 4).value;
        const out = await denoiser.denoise({ data: noisy, width: p.width, height: p.height, channels: p.channels });
        const model = psnr(Float32Array.from(out.data as Uint8Array, (v) => v / 255), clean);
        expect(model, `${p.name} at sigma ${sigma}: model ${model.toFixed(2)} dB, blur ${blur.toFixed(2)} dB`).toBeGreaterThan(blur + 0.5);
        expect(shift(out.data as Uint8Array, p.data, p.channels), `${p.name} at sigma ${sigma}`).toBeLessThanOrEqual(3);
      }
    }
  });
});
