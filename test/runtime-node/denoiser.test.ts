// The Node library on raw pixels: option checks, bad models, outputs against brute-force references, tiles, concurrency.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Denoiser, defaultModelPath } from '../../runtime-node/denoiser.js';
import { boxBlurModel, foreignModel, halfSizeModel, identityModel, nanModel, noiseReducerLikeModel, offsetModel, testMetadata } from '../../tools/onnx/test-models.js';

const dir = mkdtempSync(path.join(tmpdir(), 'denoiser-test-'));
const spec = readFileSync('models/noise-reducer.json', 'utf8');
const open: Denoiser[] = [];
async function create(options: Parameters<typeof Denoiser.create>[0]) {
  const d = await Denoiser.create(options);
  open.push(d);
  return d;
}
afterAll(async () => {
  await Promise.all(open.map((d) => d.dispose()));
});

/** 3x3 box blur with zero padding, by loops, on one plane of floats. */
function bruteBlur(plane: ArrayLike<number>, width: number, height: number): Float64Array {
  const out = new Float64Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    let sum = 0;
    for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
      const yy = y + dy;
      const xx = x + dx;
      if (yy >= 0 && yy < height && xx >= 0 && xx < width) sum += plane[yy * width + xx]!;
    }
    out[y * width + x] = sum / 9;
  }
  return out;
}

describe('Denoiser: bad calls', () => {
  it('rejects unknown options, devices and thread counts with the standard message', async () => {
    await expect(Denoiser.create({ model: identityModel(), speed: 2 } as never)).rejects.toThrow('Expected only the keys "model", "device", "threads", "tile", "overlap", "maxBatchValues" for options but received unknown key "speed"');
    await expect(Denoiser.create({ model: identityModel(), device: 'tpu' as never })).rejects.toThrow('Expected one of "auto", "cpu", "webgpu", "cuda" for options.device but received "tpu"');
    await expect(Denoiser.create({ model: identityModel(), threads: 0 })).rejects.toThrow('Expected an integer >= 1 and <= 1024 for options.threads but received 0');
    await expect(Denoiser.create({ model: identityModel(), tile: 8 })).rejects.toThrow('Expected an integer >= 16 for options.tile but received 8');
    await expect(Denoiser.create({ model: identityModel(), tile: 40, overlap: 32 })).rejects.toThrow('Expected an integer >= 65 for options.tile but received 40');
  });

  it('says clearly when the model file is missing, or when the default model is not made yet', async () => {
    await expect(Denoiser.create({ model: path.join(dir, 'none.onnx') })).rejects.toThrow(`Cannot read model file ${path.join(dir, 'none.onnx')}: no such file`);
    await expect(Denoiser.create({ model: dir })).rejects.toThrow(/it is a folder/);
    await expect(Denoiser.create({ model: 'unet' })).rejects.toThrow('Expected a shipped model name ("photo-denoiser", "noise-reducer", "residual-denoiser", "residual-denoiser-blind") or the path or URL of an .onnx file for options.model but received "unet"');
    if (!existsSync(defaultModelPath())) {
      await expect(Denoiser.create({ device: 'cpu' })).rejects.toThrow(/No model at .*models\/noise-reducer\.onnx: the shipped model is made by training and exporting .*npx tools export-onnx/);
    }
  });

  it('takes a shipped model by name: the same file as its path', async () => {
    const byName = await Denoiser.create({ model: 'noise-reducer', device: 'cpu' });
    const byPath = await Denoiser.create({ model: defaultModelPath('noise-reducer'), device: 'cpu' });
    expect(byName.model.name).toBe('noise-reducer');
    expect(byName.model.metadata.content_sha256).toBe(byPath.model.metadata.content_sha256);
    await Promise.all([byName.dispose(), byPath.dispose()]);
  });

  it('refuses a corrupt, truncated or empty ONNX file and a foreign model', async () => {
    const garbage = path.join(dir, 'garbage.onnx');
    writeFileSync(garbage, 'this is not a model at all, just text');
    await expect(Denoiser.create({ model: garbage, device: 'cpu' })).rejects.toThrow(`Expected an ONNX model file for ${garbage} but received bytes that are not one`);
    const truncated = noiseReducerLikeModel();
    await expect(Denoiser.create({ model: truncated.subarray(0, truncated.length - 100), device: 'cpu' })).rejects.toThrow(/Expected an ONNX model file for model bytes but received/);
    await expect(Denoiser.create({ model: new Uint8Array(0), device: 'cpu' })).rejects.toThrow('Expected an ONNX model file for model bytes but received an empty file');
    await expect(Denoiser.create({ model: foreignModel(), device: 'cpu' })).rejects.toThrow(/Expected an image denoiser \(one float32 input and one float32 output \[N, C, H, W\]\) for model bytes but received a model with 2 input\(s\)/);
    // Parses as protobuf, but onnxruntime rejects the graph (a node reading a tensor nobody makes).
    const broken = identityModel(1, { ...testMetadata(1) });
    const text = Buffer.from(broken).toString('latin1').replace('Identity', 'Idontity');
    await expect(Denoiser.create({ model: Buffer.from(text, 'latin1'), device: 'cpu' })).rejects.toThrow(/Expected an ONNX model onnxruntime can load for model bytes but received one it rejects/);
  });

  it('names a device that is not available here instead of falling back', async () => {
    await expect(Denoiser.create({ model: identityModel(), device: 'cuda' })).rejects.toThrow(/Expected a device available on this machine for options.device but received "cuda": the CUDA provider is not installed \(libonnxruntime_providers_cuda.so is not in .*ONNXRUNTIME_NODE_INSTALL=cuda12/);
  });

  it('rejects bad images', async () => {
    const d = await create({ model: identityModel(), device: 'cpu' });
    await expect(d.denoise({ data: new Uint8Array(3), width: 2, height: 2, channels: 1 })).rejects.toThrow('Expected 4 samples (2x2x1) for image.data.length but received 3');
    await expect(d.denoiseBatch([{ data: new Uint8Array(4), width: 2, height: 2, channels: 1 }, { data: new Uint8Array(4), width: 2, height: 0, channels: 1 }])).rejects.toThrow('Expected an integer >= 1 for images[1].height but received 0');
  });

  it('refuses NaN and infinite float pixels instead of returning a black block', async () => {
    const d = await create({ model: noiseReducerLikeModel(), device: 'cpu' });
    const data = new Float32Array(40 * 30).fill(0.5);
    data[30 * 40 / 2 + 20] = NaN;
    await expect(d.denoise({ data, width: 40, height: 30, channels: 1 })).rejects.toThrow('Expected finite samples (float pixels in [0, 1]) for image.data[620] (x 20, y 15, channel 0) but received NaN');
    data[620] = Infinity;
    await expect(d.denoiseBatch([{ data, width: 40, height: 30, channels: 1 }])).rejects.toThrow('for images[0].data[620] (x 20, y 15, channel 0) but received Infinity');
  });

  it('refuses a foreign model whose output has another shape, or is not finite, naming the model', async () => {
    const half = path.join(dir, 'half.onnx');
    writeFileSync(half, halfSizeModel());
    const image = { data: new Uint8Array(24 * 16).fill(100), width: 24, height: 16, channels: 1 };
    const d = await create({ model: half, device: 'cpu' });
    await expect(d.denoise(image)).rejects.toThrow(`Expected an output of [1, 1, 16, 24] (the input's N, C, H, W) from ${half} but received [1, 1, 8, 12]: it is not a denoiser that keeps the image size`);
    await expect(d.denoiseBatch([image, image])).rejects.toThrow(`Expected an output of [2, 1, 16, 24] (the input's N, C, H, W) from ${half} but received [2, 1, 8, 12]`);
    const nan = await create({ model: nanModel(), device: 'cpu' });
    await expect(nan.denoise(image)).rejects.toThrow('Expected finite output values from model bytes but received NaN at index 0 (384 of 384 values not finite)');
    // Tiled images too: every model run is checked.
    const tiled = await create({ model: nanModel(), device: 'cpu', tile: 16, overlap: 4 });
    await expect(tiled.denoise({ data: new Uint8Array(64 * 64), width: 64, height: 64, channels: 1 })).rejects.toThrow(/Expected finite output values from model bytes but received NaN/);
  });

  it('dispose() twice is harmless; a call after it says so', async () => {
    const d = await Denoiser.create({ model: identityModel(), device: 'cpu' });
    await d.dispose();
    await expect(d.dispose()).resolves.toBeUndefined();
    await expect(d.denoise({ data: new Uint8Array(4), width: 2, height: 2, channels: 1 })).rejects.toThrow('Expected a Denoiser that is not disposed for this call but received one whose dispose() was called (model model bytes): create a new one');
    await expect(d.runTensor(new Float32Array(4), [1, 1, 2, 2])).rejects.toThrow(/not disposed/);
  });
});

describe('Denoiser', () => {
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

  it('returns the same kind of pixels: identity model on 8-bit, 16-bit and float images', async () => {
    const d = await create({ model: identityModel(), device: 'cpu' });
    const u8 = { data: new Uint8Array(35).map((_, i) => i * 7), width: 7, height: 5, channels: 1 };
    const u16 = { data: new Uint16Array(35 * 3).map((_, i) => i * 601), width: 5, height: 7, channels: 3 };
    const f32 = { data: new Float32Array(12).map((_, i) => i / 11), width: 3, height: 2, channels: 2 };
    const [a, b, c] = await Promise.all([d.denoise(u8), d.denoise(u16), d.denoise(f32)]);
    expect(a.data).toBeInstanceOf(Uint8Array);
    expect(a.data).toEqual(u8.data);
    expect(b.data).toBeInstanceOf(Uint16Array);
    expect(b.data).toEqual(u16.data);
    expect(c.data).toBeInstanceOf(Float32Array);
    for (let i = 0; i < 12; i++) expect(c.data[i]).toBeCloseTo(f32.data[i]!, 6);
  });

  it('matches a brute-force 3x3 box blur per RGB channel, alpha untouched', async () => {
    const d = await create({ model: boxBlurModel(), device: 'cpu' });
    const width = 13;
    const height = 9;
    const data = new Uint8Array(width * height * 4).map((_, i) => (i * 37) % 256);
    const result = await d.denoise({ data, width, height, channels: 4 });
    for (let c = 0; c < 4; c++) {
      const plane = Array.from({ length: width * height }, (_, n) => data[n * 4 + c]! / 255);
      const blurred = bruteBlur(plane, width, height);
      for (let n = 0; n < width * height; n++) {
        const expected = c === 3 ? data[n * 4 + 3]! : Math.round(blurred[n]! * 255);
        expect(Math.abs(result.data[n * 4 + c]! - expected)).toBeLessThanOrEqual(c === 3 ? 0 : 1);
      }
    }
  });

  it('maps pixels into the value range the metadata states', async () => {
    // +0.1 in [0, 1]: 200/255 + 0.1 -> 225.5 -> 226; in [0, 255]: 200 + 0.1 -> 200.1 -> 200.
    const unit = await create({ model: offsetModel(0.1), device: 'cpu' });
    const bytes = await create({ model: offsetModel(0.1, 1, testMetadata(1, { value_range: '[0, 255]' })), device: 'cpu' });
    expect(bytes.model.valueRange).toEqual([0, 255]);
    const image = { data: new Uint8Array([200]), width: 1, height: 1, channels: 1 };
    expect(Array.from((await unit.denoise(image)).data)).toEqual([226]);
    expect(Array.from((await bytes.denoise(image)).data)).toEqual([200]);
  });

  it('tiles large images to within 1e-6 of whole-image inference (noise-reducer shape, odd size, overlap from the receptive field in its metadata)', async () => {
    const model = noiseReducerLikeModel(5);
    const tiled = await create({ model, device: 'cpu', tile: 96 });
    const whole = await create({ model, device: 'cpu', tile: 0 });
    // Metadata "receptive_field" -7,7: overlap 2 * 7 + 2 = 16, and 7 px dropped at inner tile edges, no more.
    expect(tiled.model.receptiveField).toEqual({ low: -7, high: 7, radius: 7 });
    expect(tiled.model.warnings).toEqual([]);
    // Without the key: the stated default and a warning, on the model info for the caller to show.
    const unstated = await create({ model: noiseReducerLikeModel(5, 1, testMetadata(1, { size_multiple: '4' })), device: 'cpu', tile: 96 });
    expect(unstated.model.receptiveField).toBeUndefined();
    expect(unstated.model.warnings).toEqual([expect.stringMatching(/^model bytes does not state its receptive field \(metadata "receptive_field"\): tiling assumes \[-32, 32\] and overlaps tiles by 68 px/)]);
    const width = 301;
    const height = 203;
    const data = new Float32Array(width * height).map((_, i) => ((i * 7919) % 1009) / 1009);
    const image = { data, width, height, channels: 1 };
    const [a, b] = await Promise.all([tiled.denoise(image), whole.denoise(image)]);
    let interior = 0;
    let all = 0;
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
      const d = Math.abs(a.data[y * width + x]! - b.data[y * width + x]!);
      all = Math.max(all, d);
      if (y >= 16 && y < height - 16 && x >= 16 && x < width - 16) interior = Math.max(interior, d);
    }
    expect(interior).toBeLessThan(1e-6);
    // Border tiles hold the image border, so they match too.
    expect(all).toBeLessThan(1e-6);
  });

  it('is what the package entry exports', async () => {
    const api = await import('../../runtime-node/index.js');
    expect(api.Denoiser).toBe(Denoiser);
    expect(Object.keys(api).sort()).toEqual(['DEFAULT_MODEL_NAME', 'Denoiser', 'IMAGE_EXTENSIONS', 'ImageFileError', 'ModelFormatError', 'SHIPPED_MODELS', 'ValidationError', 'defaultModelPath', 'encodeImage', 'readImage']);
  });

  it('serves concurrent calls on one session: Promise.all equals one by one', async () => {
    const model = noiseReducerLikeModel(2, 1, testMetadata(1, { spec, size_multiple: '4' }));
    const d = await create({ model, device: 'cpu', tile: 64, overlap: 16 });
    const images = [0, 1, 2, 3, 4, 5].map((k) => ({ data: new Uint8Array((40 + k * 9) * (70 - k * 5)).map((_, i) => (i * (k + 3)) % 256), width: 40 + k * 9, height: 70 - k * 5, channels: 1 }));
    const sequential: Awaited<ReturnType<typeof d.denoise>>[] = [];
    for (const image of images) sequential.push(await d.denoise(image));
    const concurrent = await Promise.all(images.map((image) => d.denoise(image)));
    concurrent.forEach((r, i) => expect(r.data).toEqual(sequential[i]!.data));
    const batched = await d.denoiseBatch(images);
    batched.forEach((r, i) => expect(r.data).toEqual(sequential[i]!.data));
  });
});
