// The one suite every runtime's Denoiser passes (as onnxruntime runs one suite against every backend): bad options and models, bad images and tensors, shapes, tiles, ranges, concurrency, dispose.
import { afterAll, describe, expect, it } from 'vitest';
import type { ModelInfo, PixelArray, PixelImage, TileSettings } from '../../runtime-common/index.js';
import { boxBlurModel, foreignModel, halfSizeModel, identityModel, nanModel, noiseMapOffsetModel, noiseReducerLikeModel, offsetModel, testMetadata } from '../../tools/onnx/test-models.js';
import { estimateNoiseLevel } from '../../runtime-common/noise-level.js';
import { Rng } from '../../runtime-common/rng.js';

/** A runtime's Denoiser as the suite drives it (the web one through the page). */
export interface ContractDenoiser {
  readonly device: string;
  readonly model: ModelInfo;
  readonly tiles: TileSettings;
  /** The runtime's denoise on a PixelImage (node: `denoise`, web: `denoisePixels`), with its per-call options. */
  denoise(image: PixelImage, options?: { sigma?: unknown }): Promise<PixelImage>;
  runTensor(input: Float32Array, dims: readonly [number, number, number, number], noiseLevel?: number | Float32Array): Promise<Float32Array>;
  dispose(): Promise<void>;
}

/** One runtime under test. */
export interface ContractRuntime {
  /** The onnxruntime package, as messages name it. */
  runtime: string;
  /** The CPU device every case runs on (`cpu`, `wasm`). */
  device: string;
  /** Every device name `create` takes, `auto` first. */
  deviceNames: readonly string[];
  /** Every key `create`'s options take. */
  optionKeys: readonly string[];
  /** `Denoiser.create` with these options as they are (model bytes reach it as a Uint8Array). */
  create(options: unknown): Promise<ContractDenoiser>;
}

/** `<name>: <message>` of a rejection, or "resolved". */
async function failure(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'resolved',
    (e: Error) => `${e.name}: ${e.message}`,
  );
}

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

/** A graph that parses as protobuf but that onnxruntime rejects (a node of an unknown op type). */
function rejectedModel(): Uint8Array {
  return new Uint8Array(Buffer.from(Buffer.from(identityModel()).toString('latin1').replace('Identity', 'Idontity'), 'latin1'));
}

function pixels<T extends PixelArray>(data: T, width: number, height: number, channels: number): PixelImage<T> {
  return { data, width, height, channels };
}

/** Defines the contract's tests for the runtime `target()` returns (called inside each test, after the runtime's setup). */
export function denoiserContract(name: string, target: () => ContractRuntime): void {
  const open: ContractDenoiser[] = [];
  /** Creates a denoiser on the runtime's CPU device, disposed after the suite. */
  const create = async (options: Record<string, unknown>) => {
    const denoiser = await target().create({ device: target().device, ...options });
    open.push(denoiser);
    return denoiser;
  };
  afterAll(async () => {
    await Promise.all(open.map((d) => d.dispose()));
  });

  describe(`Denoiser contract (${name}): bad calls`, () => {
    it('names the option and what it accepts: no object, unknown keys, unknown devices (listing the valid ones), tiles, model names', async () => {
      const { deviceNames, optionKeys } = target();
      const model = identityModel();
      expect(await failure(target().create(42))).toBe('ValidationError: Expected an object for options but received 42');
      expect(await failure(target().create({ model, speed: 2 }))).toBe(`ValidationError: Expected only the keys ${optionKeys.map((k) => `"${k}"`).join(', ')} for options but received unknown key "speed"`);
      expect(await failure(target().create({ model, device: 'tpu' }))).toBe(`ValidationError: Expected one of ${deviceNames.map((k) => `"${k}"`).join(', ')} for options.device but received "tpu"`);
      expect(await failure(create({ model, tile: 8 }))).toBe('ValidationError: Expected an integer >= 16 for options.tile but received 8');
      expect(await failure(create({ model, tile: 40, overlap: 32 }))).toBe('ValidationError: Expected an integer >= 65 for options.tile but received 40');
      expect(await failure(create({ model: 'unet' }))).toBe(
        'ValidationError: Expected a shipped model name ("photo-denoiser", "photo-denoiser-grey", "noise-reducer", "residual-denoiser", "residual-denoiser-blind") or the path or URL of an .onnx file for options.model but received "unet"',
      );
    });

    it('refuses bytes that are no ONNX model (text, truncated, empty), a foreign model and a graph onnxruntime rejects', async () => {
      const { runtime } = target();
      const truncated = noiseReducerLikeModel();
      expect(await failure(create({ model: new TextEncoder().encode('this is not a model at all, just text') }))).toMatch(/^ModelFormatError: Expected an ONNX model file for model bytes but received bytes that are not one/);
      expect(await failure(create({ model: truncated.subarray(0, truncated.length - 100) }))).toMatch(/^ModelFormatError: Expected an ONNX model file for model bytes but received/);
      expect(await failure(create({ model: new Uint8Array(0) }))).toBe('ModelFormatError: Expected an ONNX model file for model bytes but received an empty file');
      expect(await failure(create({ model: foreignModel() }))).toMatch(/^ModelFormatError: Expected an image denoiser \(one float32 input and one float32 output \[N, C, H, W\], and a noise map input where its metadata names one\) for model bytes but received a model with 2 input\(s\)/);
      const rejected = await failure(create({ model: rejectedModel() }));
      expect(rejected.startsWith(`ModelFormatError: Expected an ONNX model ${runtime} can load for model bytes but received one it rejects: `), rejected).toBe(true);
      expect(rejected).toMatch(/Idontity/);
    });

    it('refuses bad images, and NaN and infinite float pixels instead of returning a black block', async () => {
      const d = await create({ model: noiseReducerLikeModel() });
      expect(await failure(d.denoise(pixels(new Uint8Array(3), 2, 2, 1)))).toBe('ValidationError: Expected 4 samples (2x2x1) for image.data.length but received 3');
      expect(await failure(d.denoise(pixels(new Uint8Array(4), 2, 0, 1)))).toBe('ValidationError: Expected an integer >= 1 for image.height but received 0');
      const data = new Float32Array(40 * 30).fill(0.5);
      data[620] = NaN;
      expect(await failure(d.denoise(pixels(data, 40, 30, 1)))).toBe('ValidationError: Expected finite samples (float pixels in [0, 1]) for image.data[620] (x 20, y 15, channel 0) but received NaN');
      data[620] = Infinity;
      expect(await failure(d.denoise(pixels(data, 40, 30, 1)))).toMatch(/for image\.data\[620\] \(x 20, y 15, channel 0\) but received Infinity$/);
    });

    it('runTensor refuses what is not a Float32Array and dims that do not match it', async () => {
      const d = await create({ model: identityModel() });
      expect(await failure(d.runTensor(new Float32Array(10), [1, 1, 3, 3]))).toBe('ValidationError: Expected 4 positive dimensions whose product is 10 for dims but received [1,1,3,3]');
      expect(await failure(d.runTensor(new Float32Array(9), [1, 1, 3] as never))).toBe('ValidationError: Expected 4 positive dimensions whose product is 9 for dims but received [1,1,3]');
      expect(await failure(d.runTensor(new Float32Array(0), [1, 1, 0, 3]))).toBe('ValidationError: Expected 4 positive dimensions whose product is 0 for dims but received [1,1,0,3]');
      expect(await failure(d.runTensor(new Uint8Array(9) as never, [1, 1, 3, 3]))).toBe('ValidationError: Expected a Float32Array for input but received Uint8Array(9)');
    });

    it('refuses a model output of another shape or with NaN, naming the model, tiled images too', async () => {
      const image = pixels(new Uint8Array(24 * 16).fill(100), 24, 16, 1);
      const half = await create({ model: halfSizeModel() });
      expect(await failure(half.denoise(image))).toBe(
        "ModelFormatError: Expected [1, 1, 16, 24] (the input's N, C, H, W) for the output shape of model bytes but received [1, 1, 8, 12]: it is not a denoiser that keeps the image size",
      );
      const nan = await create({ model: nanModel() });
      expect(await failure(nan.denoise(image))).toBe('ModelFormatError: Expected finite values for the output of model bytes but received NaN at index 0 (384 of 384 values not finite)');
      const tiled = await create({ model: nanModel(), tile: 16, overlap: 4 });
      expect(await failure(tiled.denoise(pixels(new Uint8Array(64 * 64), 64, 64, 1)))).toMatch(/^ModelFormatError: Expected finite values for the output of model bytes but received NaN/);
    });

    it('names sigma and what it accepts: at create and per call, a number for a blind model, runTensor without a level', async () => {
      const expected = (value: string, name = 'options.sigma') => `ValidationError: Expected "auto" or a number from 0 to 255 (8-bit levels) for ${name} but received ${value}`;
      expect(await failure(target().create({ model: noiseMapOffsetModel(), device: target().device, sigma: -1 }))).toBe(expected('-1'));
      expect(await failure(target().create({ model: noiseMapOffsetModel(), device: target().device, sigma: 256 }))).toBe(expected('256'));
      expect(await failure(target().create({ model: noiseMapOffsetModel(), device: target().device, sigma: 'loud' }))).toBe(expected('"loud"'));
      expect(await failure(target().create({ model: identityModel(), device: target().device, sigma: 10 }))).toBe(
        'ValidationError: Expected "auto" for a blind model (model bytes takes no noise level) for options.sigma but received 10',
      );
      const mapped = await create({ model: noiseMapOffsetModel() });
      const image = pixels(new Uint8Array(8 * 8 * 3).fill(100), 8, 8, 3);
      expect(await failure(mapped.denoise(image, { sigma: NaN }))).toBe(expected('NaN'));
      const blind = await create({ model: identityModel() });
      expect(await failure(blind.denoise(pixels(new Uint8Array(4), 2, 2, 1), { sigma: 5 }))).toBe('ValidationError: Expected "auto" for a blind model (model bytes takes no noise level) for options.sigma but received 5');
      expect(await failure(mapped.runTensor(new Float32Array(12), [1, 3, 2, 2]))).toBe(
        'ValidationError: Expected a level >= 0 or a Float32Array of 4 values (N x H x W) for the noise map of model bytes for noiseLevel but received undefined',
      );
      expect(await failure(mapped.runTensor(new Float32Array(12), [1, 3, 2, 2], new Float32Array(3)))).toMatch(/for noiseLevel but received Float32Array\(3\)$/);
      expect(await failure(blind.runTensor(new Float32Array(4), [1, 1, 2, 2], 0.1))).toBe('ValidationError: Expected nothing (model bytes is blind) for noiseLevel but received 0.1');
    });

    it('dispose() twice is harmless; a call after it says so', async () => {
      const d = await target().create({ model: identityModel(), device: target().device });
      await d.dispose();
      expect(await failure(d.dispose())).toBe('resolved');
      const disposed = 'ValidationError: Expected a Denoiser that is not disposed for this call but received one whose dispose() was called (model model bytes): create a new one';
      expect(await failure(d.denoise(pixels(new Uint8Array(4), 2, 2, 1)))).toBe(disposed);
      expect(await failure(d.runTensor(new Float32Array(4), [1, 1, 2, 2]))).toBe(disposed);
    });
  });

  describe(`Denoiser contract (${name})`, () => {
    it('opens on the named device and runs a tensor as it is', async () => {
      const d = await create({ model: identityModel() });
      expect(d.device).toBe(target().device);
      expect(Array.from(await d.runTensor(new Float32Array([0.25, 0.5, 0.75, 1]), [1, 1, 2, 2]))).toEqual([0.25, 0.5, 0.75, 1]);
    });

    it('returns the same kind of pixels: identity on 8-bit, clamped 8-bit, 16-bit and float images, 1 to 4 channels, odd sizes', async () => {
      const d = await create({ model: identityModel() });
      const images = [
        pixels(new Uint8Array(35).map((_, i) => i * 7), 7, 5, 1),
        pixels(new Uint8ClampedArray(9 * 3 * 4).map((_, i) => (i * 29) % 256), 9, 3, 4),
        pixels(new Uint16Array(35 * 3).map((_, i) => i * 601), 5, 7, 3),
        pixels(new Float32Array(12).map((_, i) => i / 11), 3, 2, 2),
      ];
      const results = await Promise.all(images.map((image) => d.denoise(image)));
      results.forEach((result, k) => {
        const image = images[k]!;
        expect(result.data.constructor).toBe(image.data.constructor);
        expect([result.width, result.height, result.channels]).toEqual([image.width, image.height, image.channels]);
        if (image.data instanceof Float32Array) for (let i = 0; i < 12; i++) expect(result.data[i]).toBeCloseTo(image.data[i]!, 6);
        else expect(Array.from(result.data)).toEqual(Array.from(image.data));
      });
    });

    it('matches a brute-force 3x3 box blur per colour channel: grey, RGB and RGBA (alpha untouched), odd sizes', async () => {
      const d = await create({ model: boxBlurModel() });
      for (const [width, height, channels] of [[13, 9, 4], [11, 7, 3], [5, 17, 1]] as const) {
        const data = new Uint8Array(width * height * channels).map((_, i) => (i * 37) % 256);
        const result = await d.denoise(pixels(data, width, height, channels));
        for (let c = 0; c < channels; c++) {
          const alpha = channels === 4 && c === 3;
          const blurred = bruteBlur(Array.from({ length: width * height }, (_, n) => data[n * channels + c]! / 255), width, height);
          for (let n = 0; n < width * height; n++) {
            const expected = alpha ? data[n * channels + c]! : Math.round(blurred[n]! * 255);
            expect(Math.abs(result.data[n * channels + c]! - expected), `${width}x${height}x${channels} channel ${c} pixel ${n}`).toBeLessThanOrEqual(alpha ? 0 : 1);
          }
        }
      }
    });

    it('feeds a model with a noise map the level: sigma at create, per call, estimated per image (auto), in every tile, in runTensor', async () => {
      // The model adds the map to the image: each output pixel shows the level it was told.
      const told = await create({ model: noiseMapOffsetModel(), sigma: 25 });
      expect(told.model.noiseMapName).toBe('noise_map');
      const image = pixels(new Uint8Array(9 * 7 * 3).map((_, i) => 40 + (i % 5)), 9, 7, 3);
      expect(Array.from((await told.denoise(image)).data)).toEqual(Array.from(image.data, (v) => v + 25));
      expect(Array.from((await told.denoise(image, { sigma: 10 })).data)).toEqual(Array.from(image.data, (v) => v + 10));
      // Tiles: every tile of a large image gets the same level.
      const tiled = await create({ model: noiseMapOffsetModel(), sigma: 3, tile: 16, overlap: 4 });
      const large = pixels(new Uint8Array(50 * 40 * 3).map((_, i) => (i * 13) % 200), 50, 40, 3);
      expect(Array.from((await tiled.denoise(large)).data)).toEqual(Array.from(large.data, (v) => v + 3));
      // auto: the estimate of each image (a grey image through the colour model too).
      const auto = await create({ model: noiseMapOffsetModel() });
      for (const [width, height, channels] of [[32, 24, 3], [20, 20, 1]] as const) {
        const rng = new Rng(width);
        const noisy = pixels(new Uint8Array(width * height * channels).map(() => Math.round(128 + 12 * rng.nextNormal())), width, height, channels);
        const estimate = estimateNoiseLevel(noisy);
        expect(Math.abs(estimate * 255 - 12)).toBeLessThan(3);
        // Below sigma 25, auto tells the model 0.95 of the estimate (AUTO_LEVEL_SCALE).
        const level = 0.95 * estimate;
        const out = await auto.denoise(noisy);
        for (let i = 0; i < noisy.data.length; i += 17) expect(Math.abs(out.data[i]! - (noisy.data[i]! + level * 255))).toBeLessThanOrEqual(0.5 + 1e-6);
        // The level the Denoiser was given is overridden by a call's own, "auto" included.
        expect(Array.from((await told.denoise(noisy, { sigma: 'auto' })).data)).toEqual(Array.from(out.data));
      }
      const tensor = await auto.runTensor(new Float32Array(12).fill(0.5), [1, 3, 2, 2], 0.1);
      expect(Array.from(tensor)).toEqual(new Array(12).fill(0).map(() => expect.closeTo(0.6, 6)));
      const map = Float32Array.from([0, 0.1, 0.2, 0.3]);
      expect(Array.from(await auto.runTensor(new Float32Array(12), [1, 3, 2, 2], map))).toEqual([...map, ...map, ...map].map((v) => expect.closeTo(v, 6)));
    });

    it('maps pixels into the value range the metadata states, and clamps outputs to the pixel range', async () => {
      // +0.1 in [0, 1]: 200/255 + 0.1 -> 225.5 -> 226; in [0, 255]: 200 + 0.1 -> 200.1 -> 200.
      const unit = await create({ model: offsetModel(0.1) });
      const bytes = await create({ model: offsetModel(0.1, 1, testMetadata(1, { value_range: '[0, 255]' })) });
      expect(bytes.model.valueRange).toEqual([0, 255]);
      const image = pixels(new Uint8Array([200]), 1, 1, 1);
      expect(Array.from((await unit.denoise(image)).data)).toEqual([226]);
      expect(Array.from((await bytes.denoise(image)).data)).toEqual([200]);
      // +0.4 (102 levels of 255) and -0.5, clamped to [0, peak].
      const up = await create({ model: offsetModel(0.4) });
      const down = await create({ model: offsetModel(-0.5) });
      expect(Array.from((await up.denoise(pixels(new Uint8Array([100, 250]), 2, 1, 1))).data)).toEqual([202, 255]);
      expect(Array.from((await up.denoise(pixels(new Uint16Array([65000]), 1, 1, 1))).data)).toEqual([65535]);
      const [low, high] = (await up.denoise(pixels(new Float32Array([0.25, 0.75]), 2, 1, 1))).data;
      expect([low, high]).toEqual([expect.closeTo(0.65, 6), 1]);
      expect(Array.from((await down.denoise(pixels(new Float32Array([0.25, 0.75]), 2, 1, 1))).data)).toEqual([0, 0.25]);
    });

    it('tiles large images to within 1e-6 of whole-image inference (noise-reducer shape, odd size, overlap from the receptive field in its metadata)', async () => {
      const model = noiseReducerLikeModel(5);
      const tiled = await create({ model, tile: 96 });
      const whole = await create({ model, tile: 0 });
      // Metadata "receptive_field" -7,7: overlap 2 * 7 + 2 = 16, and 7 px dropped at inner tile edges, no more.
      expect(tiled.model.receptiveField).toEqual({ low: -7, high: 7, radius: 7 });
      expect(tiled.model.warnings).toEqual([]);
      // Without the key: the stated default and a warning, on the model info for the caller to show.
      const unstated = await create({ model: noiseReducerLikeModel(5, 1, testMetadata(1, { size_multiple: '4' })), tile: 96 });
      expect(unstated.model.receptiveField).toBeUndefined();
      expect(unstated.model.warnings).toEqual([expect.stringMatching(/^model bytes does not state its receptive field \(metadata "receptive_field"\): tiling assumes \[-32, 32\] and overlaps tiles by 68 px/)]);
      const [width, height] = [301, 203];
      const image = pixels(new Float32Array(width * height).map((_, i) => ((i * 7919) % 1009) / 1009), width, height, 1);
      const [a, b] = await Promise.all([tiled.denoise(image), whole.denoise(image)]);
      let max = 0;
      for (let i = 0; i < a.data.length; i++) max = Math.max(max, Math.abs(a.data[i]! - b.data[i]!));
      expect(max).toBeLessThan(1e-6);
      // The model is no identity: the comparison is not one of two copies of the input.
      let moved = 0;
      for (let i = 0; i < a.data.length; i++) moved = Math.max(moved, Math.abs(a.data[i]! - image.data[i]!));
      expect(moved).toBeGreaterThan(0.01);
    });

    it('serves concurrent calls on one session: Promise.all equals one by one, tiled and untiled', async () => {
      const d = await create({ model: noiseReducerLikeModel(2), tile: 64, overlap: 16 });
      const images = [0, 1, 2, 3, 4, 5].map((k) => pixels(new Uint8Array((40 + k * 9) * (70 - k * 5)).map((_, i) => (i * (k + 3)) % 256), 40 + k * 9, 70 - k * 5, 1));
      const sequential: PixelImage[] = [];
      for (const image of images) sequential.push(await d.denoise(image));
      const concurrent = await Promise.all(images.map((image) => d.denoise(image)));
      concurrent.forEach((r, i) => expect(Array.from(r.data)).toEqual(Array.from(sequential[i]!.data)));
    });
  });
}
