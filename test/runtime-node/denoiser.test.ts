// The Node library on raw pixels, beyond the shared contract (denoiser-contract.test.ts): Node options, model files, devices, Buffers, batches, the package entry, the default photo model's grey companion.
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Denoiser, defaultModelPath } from '../../runtime-node/denoiser.js';
import { boxBlurModel, halfSizeModel, identityModel, noiseReducerLikeModel } from '../../tools/onnx/test-models.js';
import { Rng } from '../../runtime-common/rng.js';
import { SHIPPED_MODELS } from '../../runtime-common/shipped-models.js';
import { tempDirs } from '../temp-dir.js';

const makeTempDir = tempDirs();
const dir = makeTempDir('denoiser-test-');
const open: Denoiser[] = [];
async function create(options: Parameters<typeof Denoiser.create>[0]) {
  const d = await Denoiser.create(options);
  open.push(d);
  return d;
}
afterAll(async () => {
  await Promise.all(open.map((d) => d.dispose()));
});

describe('Denoiser: bad calls', () => {
  it('rejects models, thread counts and batch sizes of the wrong kind with the standard message', async () => {
    await expect(Denoiser.create({ model: 42 as never })).rejects.toThrow('Expected a model path or bytes for options.model but received 42');
    await expect(Denoiser.create({ model: identityModel(), threads: 0 })).rejects.toThrow('Expected an integer >= 1 and <= 1024 for options.threads but received 0');
    await expect(Denoiser.create({ model: identityModel(), maxBatchValues: 0 })).rejects.toThrow('Expected an integer >= 1 for options.maxBatchValues but received 0');
  });

  it('says clearly when the model file is missing, or when the default model is not made yet', async () => {
    await expect(Denoiser.create({ model: path.join(dir, 'none.onnx') })).rejects.toThrow(`Cannot read model file ${path.join(dir, 'none.onnx')}: no such file`);
    await expect(Denoiser.create({ model: dir })).rejects.toThrow(/it is a folder/);
    if (!existsSync(defaultModelPath())) {
      await expect(Denoiser.create({ device: 'cpu' })).rejects.toThrow(/Cannot read model file .*models\/photo-denoiser\.onnx: no such file; a shipped model is made by training and exporting .*npx tools export-onnx/);
    }
  });

  it('takes a shipped model by name: the same file as its path', async () => {
    const byName = await Denoiser.create({ model: 'noise-reducer', device: 'cpu' });
    const byPath = await Denoiser.create({ model: defaultModelPath('noise-reducer'), device: 'cpu' });
    expect(byName.model.name).toBe('noise-reducer');
    expect(byName.model.metadata.content_sha256).toBe(byPath.model.metadata.content_sha256);
    await Promise.all([byName.dispose(), byPath.dispose()]);
  });

  it('refuses a model file that is not ONNX, naming its path', async () => {
    const garbage = path.join(dir, 'garbage.onnx');
    writeFileSync(garbage, 'this is not a model at all, just text');
    await expect(Denoiser.create({ model: garbage, device: 'cpu' })).rejects.toThrow(`Expected an ONNX model file for ${garbage} but received bytes that are not one`);
  });

  it('names a device that is not available here instead of falling back', async () => {
    await expect(Denoiser.create({ model: identityModel(), device: 'cuda' })).rejects.toThrow(/Expected a device available on this machine for options.device but received "cuda": the CUDA provider is not installed \(libonnxruntime_providers_cuda.so is not in .*ONNXRUNTIME_NODE_INSTALL=cuda12/);
  });

  it('denoiseBatch names the image that is bad: its size, NaN or infinite float pixels', async () => {
    const d = await create({ model: noiseReducerLikeModel(), device: 'cpu' });
    await expect(d.denoiseBatch({} as never)).rejects.toThrow('Expected an array of images for images but received {}');
    await expect(d.denoiseBatch([{ data: new Uint8Array(4), width: 2, height: 2, channels: 1 }, { data: new Uint8Array(4), width: 2, height: 0, channels: 1 }])).rejects.toThrow('Expected an integer >= 1 for images[1].height but received 0');
    const data = new Float32Array(40 * 30).fill(0.5);
    data[620] = Infinity;
    await expect(d.denoiseBatch([{ data: new Float32Array(1200), width: 40, height: 30, channels: 1 }, { data, width: 40, height: 30, channels: 1 }])).rejects.toThrow('for images[1].data[620] (x 20, y 15, channel 0) but received Infinity');
  });

  it('refuses an onRows or waitForRows that is no function, and either on a batch (whose images are not written out or filled in row by row)', async () => {
    const d = await create({ model: noiseReducerLikeModel(), device: 'cpu' });
    const image = { data: new Uint8Array(16 * 12), width: 16, height: 12, channels: 1 };
    await expect(d.denoise(image, { onRows: 'rows' as never })).rejects.toThrow('Expected a function for options.onRows but received "rows"');
    await expect(d.denoise(image, { waitForRows: 5 as never })).rejects.toThrow('Expected a function for options.waitForRows but received 5');
    await expect(d.denoiseBatch([image], { onRows: () => undefined } as never)).rejects.toThrow('Expected only the keys "sigma" for options but received unknown key "onRows"');
    await expect(d.denoiseBatch([image], { waitForRows: async () => undefined } as never)).rejects.toThrow('Expected only the keys "sigma" for options but received unknown key "waitForRows"');
    // Float samples still being filled in are checked once they are all in: a NaN in the last rows is refused by name.
    const float = { data: new Float32Array(16 * 12).fill(Number.NaN), width: 16, height: 12, channels: 1 };
    const fill = (last: number) => async (end: number) => {
      float.data.fill(0.5, 0, end * 16);
      float.data[11 * 16 + 3] = last;
    };
    await expect(d.denoise(float, { waitForRows: fill(Number.NaN) })).rejects.toThrow('Expected finite samples (float pixels in [0, 1]) for image.data[179] (x 3, y 11, channel 0) but received NaN');
    const filled = await d.denoise(float, { waitForRows: fill(0.25) });
    expect(Array.from(filled.data)).toEqual(Array.from((await d.denoise({ ...float, data: float.data.slice() })).data));
  });

  it('denoiseBatch refuses a foreign model whose output has another shape, naming the model file', async () => {
    const half = path.join(dir, 'half.onnx');
    writeFileSync(half, halfSizeModel());
    const image = { data: new Uint8Array(24 * 16).fill(100), width: 24, height: 16, channels: 1 };
    const d = await create({ model: half, device: 'cpu' });
    await expect(d.denoiseBatch([image, image])).rejects.toThrow(`Expected [2, 1, 16, 24] (the input's N, C, H, W) for the output shape of ${half} but received [2, 1, 8, 12]`);
  });
});

describe('Denoiser', () => {
  it('hands over the rows of a tiled image as they become final, which together are the result', async () => {
    const d = await create({ model: noiseReducerLikeModel(), device: 'cpu', tile: 64 });
    const rng = new Rng(9);
    const image = { data: Uint8Array.from({ length: 150 * 170 }, () => Math.floor(rng.nextFloat() * 256)), width: 150, height: 170, channels: 1 };
    const pieces: Uint8Array[] = [];
    let next = 0;
    const result = await d.denoise(image, {
      onRows: (partial, y0, rows) => {
        expect(y0).toBe(next);
        next += rows;
        pieces.push((partial.data as Uint8Array).slice(y0 * 150, (y0 + rows) * 150));
      },
    });
    expect(pieces.length).toBeGreaterThan(1);
    expect(next).toBe(170);
    expect(Buffer.concat(pieces)).toEqual(Buffer.from(result.data));
    expect(result.data).toEqual((await d.denoise(image)).data);
  });

  it('takes a Node Buffer like a Uint8Array, without the deprecated Buffer() constructor (DEP0005)', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error & { code?: string }) => warnings.push(`${w.code ?? w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      const d = await create({ model: boxBlurModel(), device: 'cpu' });
      const bytes = new Uint8Array(21 * 13).map((_, i) => (i * 37) % 256);
      const fromBuffer = await d.denoise({ data: Buffer.from(bytes), width: 21, height: 13, channels: 1 });
      const fromArray = await d.denoise({ data: bytes, width: 21, height: 13, channels: 1 });
      expect(Array.from(fromBuffer.data)).toEqual(Array.from(fromArray.data));
      const [batched] = await d.denoiseBatch([{ data: Buffer.from(bytes), width: 21, height: 13, channels: 1 }]);
      expect(Array.from(batched!.data)).toEqual(Array.from(fromArray.data));
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((w) => w.includes('DEP0005'))).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });


  it('auto picks the CPU here and explains why it skipped CUDA and WebGPU (with no Vulkan driver named)', async () => {
    // A driver named in the environment (CI names SwiftShader) changes why WebGPU is skipped: webgpu.test.ts covers that.
    const saved = { VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES, VK_DRIVER_FILES: process.env.VK_DRIVER_FILES };
    delete process.env.VK_ICD_FILENAMES;
    delete process.env.VK_DRIVER_FILES;
    try {
      const d = await create({ model: identityModel() });
      expect(d.device).toBe('cpu');
      expect(d.skipped[0]).toMatch(/^cuda: the CUDA provider is not installed/);
      // Without a GPU device node auto does not even start Dawn; with one but no usable driver, Dawn finds no adapter.
      expect(d.skipped[1]).toMatch(/^webgpu: (no GPU here \(no \/dev\/dri\/renderD\*, \/dev\/nvidia\* or \/dev\/dxg device node\)|no WebGPU adapter)/);
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it('is what the package entry exports', async () => {
    const api = await import('../../runtime-node/index.js');
    expect(api.Denoiser).toBe(Denoiser);
    expect(Object.keys(api).sort()).toEqual(['DEFAULT_MODEL_NAME', 'Denoiser', 'IMAGE_EXTENSIONS', 'ImageFileError', 'ModelFormatError', 'SHIPPED_MODELS', 'ValidationError', 'autoNoiseLevel', 'defaultModelPath', 'encodeImage', 'estimateNoiseLevel', 'readImage']);
  });

  it('the default photo model keeps a grey picture stored as RGB grey: every pixel\'s three channels equal, as denoising it as grey gives', async () => {
    const d = await create({ model: 'photo-denoiser', device: 'cpu' });
    const width = 70;
    const height = 50;
    // A smooth ramp with a hard edge, plus deterministic pseudo-noise of about sigma 15.
    const grey = Uint8Array.from({ length: width * height }, (_, i) => {
      const x = i % width;
      const base = x < 35 ? 60 + x : 200;
      return Math.max(0, Math.min(255, Math.round(base + 26 * (((i * 7919) % 1000) / 1000 - 0.5))));
    });
    const rgb = Uint8Array.from({ length: width * height * 3 }, (_, i) => grey[Math.floor(i / 3)]!);
    const asGrey = await d.denoise({ data: grey, width, height, channels: 1 });
    const asRgb = await d.denoise({ data: rgb, width, height, channels: 3 });
    for (let i = 0; i < width * height; i++) {
      for (let c = 0; c < 3; c++) expect(asRgb.data[i * 3 + c], `pixel ${i} channel ${c}`).toBe(asGrey.data[i]);
    }
  });

  it('denoiseBatch equals denoise one by one, stacked small images and tiled large ones alike', async () => {
    const d = await create({ model: noiseReducerLikeModel(2), device: 'cpu', tile: 64, overlap: 16 });
    const sizes = [[40, 70], [40, 70], [49, 65], [130, 90], [49, 65], [22, 13]] as const;
    const images = sizes.map(([width, height], k) => ({ data: new Uint8Array(width * height).map((_, i) => (i * (k + 3)) % 256), width, height, channels: 1 }));
    const sequential: Awaited<ReturnType<typeof d.denoise>>[] = [];
    for (const image of images) sequential.push(await d.denoise(image));
    const batched = await d.denoiseBatch(images);
    batched.forEach((r, i) => expect(r.data).toEqual(sequential[i]!.data));
  });
});

const greyWidth = 61;
const greyHeight = 43;
/**
 * A ramp with a hard edge plus Gaussian noise of sigma 15 (seeded), in `channels` channels: colour ones shifted apart
 * with their own noise, or all equal (`equal`); alpha a pattern of its own.
 */
function picture(channels: number, equal = false): { data: Uint8Array; width: number; height: number; channels: number } {
  const rng = new Rng(channels + (equal ? 10 : 0));
  const data = new Uint8Array(greyWidth * greyHeight * channels);
  for (let i = 0; i < greyWidth * greyHeight; i++) {
    const x = i % greyWidth;
    const grey = (x < 30 ? 60 + 2 * x : 190) + 15 * rng.nextNormal();
    for (let c = 0; c < channels; c++) {
      const alpha = (channels === 2 && c === 1) || (channels === 4 && c === 3);
      const value = equal || channels < 3 ? grey : grey + [0, -40, 35][c]! + 15 * rng.nextNormal();
      data[i * channels + c] = alpha ? (i * 13) % 256 : Math.max(0, Math.min(255, Math.round(value)));
    }
  }
  return { data, width: greyWidth, height: greyHeight, channels };
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

  it('an image still being filled in takes the same route, scanned once all its rows are in: exactly as when whole', async () => {
    const pair = await create({ device: 'cpu' });
    for (const image of [picture(1), picture(3, true), picture(3)]) {
      // Rows not yet filled in are 0: a grey picture, which would send a colour one to the grey model if scanned early.
      const filling = { ...image, data: new Uint8Array(image.data.length) };
      const asked: number[] = [];
      const waitForRows = async (end: number) => {
        asked.push(end);
        await new Promise((resolve) => setTimeout(resolve, 0));
        filling.data.set(image.data.subarray(0, end * image.width * image.channels));
      };
      const streamed = await pair.denoise(filling, { waitForRows });
      expect(Array.from(streamed.data), `${image.channels} channels`).toEqual(Array.from((await pair.denoise(image)).data));
      // The grey model estimates the noise level over the whole image (sigma auto): it waits for all rows at once too.
      expect(asked[0], `${image.channels} channels`).toBe(greyHeight);
    }
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
