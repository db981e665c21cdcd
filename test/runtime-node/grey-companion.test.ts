// The default photo model's grey companion in the Node library: grey images (1 or 2 channels, or equal colour channels) go to photo-denoiser-grey, colour ones to photo-denoiser, bit for bit as each model by itself.
import { afterAll, describe, expect, it } from 'vitest';
import { Denoiser, defaultModelPath } from '../../runtime-node/denoiser.js';
import { Rng } from '../../runtime-common/rng.js';
import { SHIPPED_MODELS } from '../../runtime-common/shipped-models.js';

const open: Denoiser[] = [];
async function create(options: Parameters<typeof Denoiser.create>[0]) {
  const d = await Denoiser.create(options);
  open.push(d);
  return d;
}
afterAll(async () => {
  await Promise.all(open.map((d) => d.dispose()));
});

const width = 61;
const height = 43;
/**
 * A ramp with a hard edge plus Gaussian noise of sigma 15 (seeded), in `channels` channels: colour ones shifted apart
 * with their own noise, or all equal (`equal`); alpha a pattern of its own.
 */
function picture(channels: number, equal = false): { data: Uint8Array; width: number; height: number; channels: number } {
  const rng = new Rng(channels + (equal ? 10 : 0));
  const data = new Uint8Array(width * height * channels);
  for (let i = 0; i < width * height; i++) {
    const x = i % width;
    const grey = (x < 30 ? 60 + 2 * x : 190) + 15 * rng.nextNormal();
    for (let c = 0; c < channels; c++) {
      const alpha = (channels === 2 && c === 1) || (channels === 4 && c === 3);
      const value = equal || channels < 3 ? grey : grey + [0, -40, 35][c]! + 15 * rng.nextNormal();
      data[i * channels + c] = alpha ? (i * 13) % 256 : Math.max(0, Math.min(255, Math.round(value)));
    }
  }
  return { data, width, height, channels };
}

describe('Denoiser: the grey companion, bad calls', () => {
  it('a disposed Denoiser refuses grey images too (its companion is released with it)', async () => {
    const d = await Denoiser.create({ device: 'cpu' });
    await d.denoise(picture(1));
    await d.dispose();
    await expect(d.denoise(picture(1))).rejects.toThrow(/Expected a Denoiser that is not disposed/);
    await expect(d.denoiseBatch([picture(3, true)])).rejects.toThrow(/Expected a Denoiser that is not disposed/);
  });
});

describe('Denoiser: the grey companion', () => {
  it('the table names it: photo-denoiser hands grey images to photo-denoiser-grey, which takes them itself', () => {
    expect(SHIPPED_MODELS['photo-denoiser']!.grey).toBe('photo-denoiser-grey');
    expect(SHIPPED_MODELS['photo-denoiser-grey']!.grey).toBeUndefined();
  });

  it('grey, grey with alpha and grey stored as RGB(A) go to photo-denoiser-grey; colour to photo-denoiser; exactly as each model alone', async () => {
    const pair = await create({ device: 'cpu' });
    const grey = await create({ model: 'photo-denoiser-grey', device: 'cpu' });
    const colour = await create({ model: defaultModelPath('photo-denoiser'), device: 'cpu' });
    expect([pair.hasGreyCompanion, grey.hasGreyCompanion, colour.hasGreyCompanion]).toEqual([true, false, false]);
    for (const image of [picture(1), picture(2), picture(3, true), picture(4, true)]) {
      const expected = await grey.denoise(image);
      expect(Array.from((await pair.denoise(image)).data), `${image.channels} channels`).toEqual(Array.from(expected.data));
      // The colour model alone gives another result: the route matters.
      expect(Array.from((await colour.denoise(image)).data)).not.toEqual(Array.from(expected.data));
    }
    for (const image of [picture(3), picture(4)]) {
      expect(Array.from((await pair.denoise(image)).data), `${image.channels} channels`).toEqual(Array.from((await colour.denoise(image)).data));
    }
    // A told sigma reaches the companion too.
    expect(Array.from((await pair.denoise(picture(1), { sigma: 30 })).data)).toEqual(Array.from((await grey.denoise(picture(1), { sigma: 30 })).data));
  });

  it('by path, photo-denoiser.onnx has no companion: grey images go through the colour model', async () => {
    const byPath = await create({ model: defaultModelPath('photo-denoiser'), device: 'cpu' });
    const byName = await create({ model: 'photo-denoiser', device: 'cpu' });
    expect(byName.hasGreyCompanion).toBe(true);
    expect(Array.from((await byPath.denoise(picture(1))).data)).not.toEqual(Array.from((await byName.denoise(picture(1))).data));
  });

  it('denoiseBatch splits a mixed batch between the models and keeps the order: equal to denoise one by one', async () => {
    const pair = await create({ device: 'cpu' });
    const images = [picture(3), picture(1), picture(3, true), picture(3), picture(2), picture(1)];
    const batched = await pair.denoiseBatch(images);
    for (const [i, image] of images.entries()) expect(Array.from(batched[i]!.data), `image ${i}`).toEqual(Array.from((await pair.denoise(image)).data));
  });
});
