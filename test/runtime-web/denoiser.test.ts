// The browser library in headless chromium, beyond the shared contract (denoiser-contract.test.ts): URLs and callbacks, WebGPU and wasm against onnxruntime-node CPU, browser image kinds, tiles, progress, cancel.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planTiles } from '../../runtime-common/denoise-core.js';
import { Denoiser as NodeDenoiser } from '../../runtime-node/denoiser.js';
import { noiseReducerLikeModel, testMetadata } from '../../tools/onnx/test-models.js';
import { type BrowserPage, fixedInput, maxAbsDiff, openBrowserPage, runInBrowser, runOnNodeCpu } from '../../tools/web/browser-harness.js';

type Web = typeof import('../../runtime-web/index.js');
const shipped = new Uint8Array(readFileSync('models/noise-reducer.onnx'));
const spec = readFileSync('models/noise-reducer.json', 'utf8');
const testModel = noiseReducerLikeModel(5, 1, testMetadata(1, { spec, size_multiple: '4' }));
const SIZES = [
  [1, 1, 28, 28],
  [1, 1, 64, 64],
  [1, 1, 27, 31],
] as const;

let harness: BrowserPage;
beforeAll(async () => {
  harness = await openBrowserPage();
  harness.server.route('/t/shipped.onnx', { body: shipped });
  harness.server.route('/t/test-model.onnx', { body: testModel });
  harness.server.route('/t/not-a-model.onnx', { body: 'this is not an ONNX model, just text' });
});
afterAll(async () => {
  await harness?.close();
});

/** A grey test picture as 8-bit pixels. */
function greyPicture(width: number, height: number, seed: number): Uint8Array {
  const input = fixedInput([1, 1, height, width], seed);
  return Uint8Array.from(input, (v) => Math.round(v * 255));
}

describe('runtime-web Denoiser: bad calls', () => {
  it('names the argument and what it accepts: models and callbacks', async () => {
    const messages = await harness.page.evaluate(async () => {
      const { Denoiser } = (window as unknown as { runtimeWeb: Web }).runtimeWeb;
      const message = async (make: () => Promise<unknown>) => make().then(() => 'resolved', (e: Error) => `${e.name}: ${e.message}`);
      const model = '/t/test-model.onnx';
      return {
        modelType: await message(() => Denoiser.create({ model: 42 as never })),
        modelEmpty: await message(() => Denoiser.create({ model: '' })),
        onProgress: await message(() => Denoiser.create({ model, onProgress: 'yes' as never })),
        signal: await message(() => Denoiser.create({ model, signal: {} as never })),
      };
    });
    expect(messages).toEqual({
      modelType: 'ValidationError: Expected a model URL, ArrayBuffer or Uint8Array for options.model but received 42',
      modelEmpty: 'ValidationError: Expected a model URL, ArrayBuffer or Uint8Array for options.model but received ""',
      onProgress: 'ValidationError: Expected a function for options.onProgress but received "yes"',
      signal: 'ValidationError: Expected an AbortSignal for options.signal but received {}',
    });
  });

  it('takes every shipped model by name (served from the build, next to the bundle)', async () => {
    const names = await harness.page.evaluate(async () => {
      const { Denoiser } = (window as unknown as { runtimeWeb: Web }).runtimeWeb;
      const out: string[] = [];
      for (const name of ['noise-reducer', 'residual-denoiser', 'residual-denoiser-blind', 'photo-denoiser']) {
        const denoiser = await Denoiser.create({ model: name, device: 'wasm' });
        out.push(`${denoiser.model.name} ${denoiser.model.source.replace(/^.*\/models\//, 'models/')}`);
        await denoiser.dispose();
      }
      return out;
    });
    expect(names).toEqual(['noise-reducer models/noise-reducer.onnx', 'residual-denoiser models/residual-denoiser.onnx', 'residual-denoiser models/residual-denoiser-blind.onnx', 'photo-denoiser models/photo-denoiser.onnx']);
  });

  it('the default hands grey images to photo-denoiser-grey, downloaded on the first one: exactly what that model gives by name', async () => {
    const result = await harness.page.evaluate(async () => {
      const { Denoiser } = (window as unknown as { runtimeWeb: Web }).runtimeWeb;
      // Every fetch the page makes, as it is made.
      const fetched: string[] = [];
      const pageFetch = window.fetch;
      window.fetch = (input, init) => {
        fetched.push(input instanceof Request ? input.url : String(input));
        return pageFetch(input, init);
      };
      const downloads = () => fetched.filter((url) => url.endsWith('/models/photo-denoiser-grey.onnx')).length;
      const width = 40;
      const height = 30;
      // Seeded pseudo-random noise around a ramp (a linear congruential generator: plain and repeatable).
      let state = 7;
      const noise = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5) * 60;
      const grey = Uint8Array.from({ length: width * height }, (_, i) => Math.max(0, Math.min(255, Math.round(60 + (i % width) * 3 + noise()))));
      const colour = Uint8Array.from({ length: width * height * 3 }, (_, i) => Math.max(0, Math.min(255, Math.round(grey[Math.floor(i / 3)]! + [0, -30, 30][i % 3]! + noise()))));
      const pair = await Denoiser.create({ device: 'wasm' });
      const colourOut = await pair.denoisePixels({ data: colour, width, height, channels: 3 });
      const afterColour = downloads();
      const greyOut = await pair.denoisePixels({ data: grey, width, height, channels: 1 });
      const afterGrey = downloads();
      // A grey picture as RGBA ImageData (a canvas's view of it) goes the same way.
      const rgba = new ImageData(width, height);
      grey.forEach((v, i) => rgba.data.set([v, v, v, 255], i * 4));
      const imageOut = await pair.denoise(rgba);
      const byName = await Denoiser.create({ model: 'photo-denoiser-grey', device: 'wasm' });
      const colourModel = await Denoiser.create({ model: 'photo-denoiser', device: 'wasm' });
      const expected = await byName.denoisePixels({ data: grey, width, height, channels: 1 });
      // By URL the colour model has no companion.
      const byUrl = await Denoiser.create({ model: pair.model.source, device: 'wasm' });
      const colourExpected = await byUrl.denoisePixels({ data: colour, width, height, channels: 3 });
      const same = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.from(a).every((v, i) => v === b[i]);
      const imageGrey = Array.from({ length: width * height }, (_, i) => imageOut.data[i * 4]!);
      const result = {
        afterColour,
        afterGrey,
        hasCompanion: [pair.hasGreyCompanion, byName.hasGreyCompanion, colourModel.hasGreyCompanion, byUrl.hasGreyCompanion],
        greySame: same(greyOut.data, expected.data),
        imageSame: same(imageGrey, expected.data) && Array.from({ length: width * height }, (_, i) => imageOut.data[i * 4 + 1] === imageOut.data[i * 4] && imageOut.data[i * 4 + 2] === imageOut.data[i * 4]).every(Boolean),
        colourSame: same(colourOut.data, colourExpected.data),
        greyChanged: !same(greyOut.data, grey),
      };
      await Promise.all([pair.dispose(), byName.dispose(), colourModel.dispose(), byUrl.dispose()]);
      window.fetch = pageFetch;
      return result;
    });
    expect(result).toEqual({ afterColour: 0, afterGrey: 1, hasCompanion: [true, false, true, false], greySame: true, imageSame: true, colourSame: true, greyChanged: true });
  });

  it('says clearly when a model URL does not load or is not ONNX, and when an ArrayBuffer is empty', async () => {
    const messages = await harness.page.evaluate(async () => {
      const { Denoiser } = (window as unknown as { runtimeWeb: Web }).runtimeWeb;
      const message = async (make: () => Promise<unknown>) => make().then(() => 'resolved', (e: Error) => `${e.name}: ${e.message}`);
      return {
        missing: await message(() => Denoiser.create({ model: '/t/missing.onnx', device: 'wasm' })),
        unreachable: await message(() => Denoiser.create({ model: 'http://127.0.0.1:1/model.onnx', device: 'wasm' })),
        text: await message(() => Denoiser.create({ model: '/t/not-a-model.onnx', device: 'wasm' })),
        empty: await message(() => Denoiser.create({ model: new ArrayBuffer(0), device: 'wasm' })),
      };
    });
    expect(messages.missing).toBe(`ValidationError: Cannot load model /t/missing.onnx: HTTP 404 Not Found (${harness.url('/t/missing.onnx')})`);
    expect(messages.unreachable).toMatch(/^ValidationError: Cannot load model http:\/\/127\.0\.0\.1:1\/model\.onnx: network error \(Failed to fetch\)$/);
    expect(messages.text).toMatch(/^ModelFormatError: Expected an ONNX model file for \/t\/not-a-model\.onnx but received bytes that are not one/);
    expect(messages.empty).toBe('ModelFormatError: Expected an ONNX model file for model bytes but received an empty file');
  });

  it('refuses what is not a readable browser image, and bad denoise options', async () => {
    const messages = await harness.page.evaluate(async () => {
      const { Denoiser } = (window as unknown as { runtimeWeb: Web }).runtimeWeb;
      const message = async (make: () => Promise<unknown>) => make().then(() => 'resolved', (e: Error) => `${e.name}: ${e.message}`);
      const d = await Denoiser.create({ model: '/t/test-model.onnx', device: 'wasm' });
      const broken = new Image();
      broken.src = '/t/missing.png';
      await new Promise((resolve) => broken.addEventListener('error', resolve, { once: true }));
      const bitmap = await createImageBitmap(new ImageData(2, 2));
      bitmap.close();
      const image = new ImageData(4, 4);
      const result = {
        number: await message(() => d.denoise(42 as never)),
        object: await message(() => d.denoise({ width: 2, height: 2 } as never)),
        element: await message(() => d.denoise(document.body as never)),
        brokenImg: await message(() => d.denoise(broken)),
        closedBitmap: await message(() => d.denoise(bitmap)),
        emptyCanvas: await message(() => d.denoise(Object.assign(document.createElement('canvas'), { width: 0 }))),
        option: await message(() => d.denoise(image, { tiles: 2 } as never)),
        progress: await message(() => d.denoise(image, { onProgress: 1 } as never)),
      };
      await d.dispose();
      return result;
    });
    expect(messages).toEqual({
      number: 'ValidationError: Expected an ImageData, ImageBitmap, HTMLImageElement or HTMLCanvasElement for image but received 42',
      object: 'ValidationError: Expected an ImageData, ImageBitmap, HTMLImageElement or HTMLCanvasElement for image but received {"width":2,"height":2}',
      element: 'ValidationError: Expected an ImageData, ImageBitmap, HTMLImageElement or HTMLCanvasElement for image but received a HTMLBodyElement',
      brokenImg: `ValidationError: Expected a loaded <img> (complete, decoded, naturalWidth > 0) for image but received <img src="${harness.url('/t/missing.png')}">, which is broken (it did not load or decode)`,
      closedBitmap: 'ValidationError: Expected an image of at least 1x1 pixels for image but received a 0x0 ImageBitmap',
      emptyCanvas: 'ValidationError: Expected an image of at least 1x1 pixels for image but received a 0x150 <canvas>',
      option: 'ValidationError: Expected only the keys "onProgress", "signal", "sigma" for options but received unknown key "tiles"',
      progress: 'ValidationError: Expected a function for options.onProgress but received 1',
    });
  });

  it('an aborted signal rejects create and denoise with its reason', async () => {
    const messages = await harness.page.evaluate(async () => {
      const { Denoiser } = (window as unknown as { runtimeWeb: Web }).runtimeWeb;
      const message = async (make: () => Promise<unknown>) => make().then(() => 'resolved', (e: Error) => `${e.name}: ${e.message}`);
      const aborted = AbortSignal.abort(new DOMException('the user cancelled', 'AbortError'));
      const d = await Denoiser.create({ model: '/t/test-model.onnx', device: 'wasm' });
      const result = {
        create: await message(() => Denoiser.create({ model: '/t/test-model.onnx', device: 'wasm', signal: aborted })),
        denoise: await message(() => d.denoise(new ImageData(8, 8), { signal: aborted })),
      };
      await d.dispose();
      return result;
    });
    expect(messages).toEqual({ create: 'AbortError: the user cancelled', denoise: 'AbortError: the user cancelled' });
    expect(harness.pageErrors).toEqual([]);
  });
});

describe('runtime-web Denoiser', () => {
  it('the page loads and auto picks WebGPU, with nothing skipped', async () => {
    const dims = [1, 1, 28, 28] as const;
    const result = await runInBrowser(harness, { model: shipped, input: fixedInput(dims), dims, device: 'auto' });
    expect(result.device).toBe('webgpu');
    expect(result.skipped).toEqual([]);
    expect(result.adapter).toMatch(/\S/);
    expect(harness.pageErrors).toEqual([]);
  });

  for (const device of ['webgpu', 'wasm'] as const) {
    it(`${device}: output equals onnxruntime-node CPU within 1e-4, shipped model and a test model, 28x28, 64x64, 27x31`, async () => {
      for (const [name, model] of [['shipped', shipped], ['test model', testModel]] as const) {
        for (const dims of SIZES) {
          const input = fixedInput(dims, dims[3]);
          const [browser, reference] = await Promise.all([runInBrowser(harness, { model, input, dims, device }), runOnNodeCpu(model, input, dims)]);
          expect(browser.device).toBe(device);
          expect(browser.output.length).toBe(reference.length);
          const diff = maxAbsDiff(browser.output, reference);
          expect(diff, `${name} ${dims.join('x')} on ${device}`).toBeLessThan(1e-4);
        }
      }
      // The outputs differ from the inputs: the comparison is not one of two copies of the input.
      const dims = SIZES[0];
      const input = fixedInput(dims, 3);
      expect(maxAbsDiff((await runInBrowser(harness, { model: shipped, input, dims, device })).output, input)).toBeGreaterThan(0.05);
    });
  }

  it('denoise() on ImageData, canvas, ImageBitmap and <img> equals the Node runtime on the same pixels, tiled, with tile progress', async () => {
    const [width, height] = [120, 100];
    const grey = greyPicture(width, height, 7);
    const node = await NodeDenoiser.create({ model: shipped, device: 'cpu', tile: 52 });
    const expected = (await node.denoise({ data: grey, width, height, channels: 1 })).data;
    const plan = planTiles(width, height, node.model, node.tiles);
    await node.dispose();
    const result = await harness.page.evaluate(
      async ({ grey, width, height }) => {
        const { Denoiser } = (window as unknown as { runtimeWeb: Web }).runtimeWeb;
        const d = await Denoiser.create({ model: '/t/shipped.onnx', device: 'wasm', tile: 52 });
        const rgba = new Uint8ClampedArray(width * height * 4);
        grey.forEach((v, i) => rgba.set([v, v, v, 255], i * 4));
        const image = new ImageData(rgba, width, height);
        const progress: string[] = [];
        const fromImageData = await d.denoise(image, { onProgress: (p) => progress.push(`${p.stage} ${p.done}/${p.total}`) });
        const canvas = document.createElement('canvas');
        [canvas.width, canvas.height] = [width, height];
        canvas.getContext('2d')!.putImageData(image, 0, 0);
        const fromCanvas = await d.denoise(canvas);
        const fromBitmap = await d.denoise(await createImageBitmap(image));
        const img = new Image();
        img.src = canvas.toDataURL('image/png');
        await img.decode();
        const fromImg = await d.denoise(img);
        const red = (out: ImageData) => Array.from(out.data.filter((_, i) => i % 4 === 0));
        const same = (out: ImageData) => out.data.every((v, i) => v === fromImageData.data[i]);
        const greyOut = fromImageData.data.every((v, i) => i % 4 === 3 ? v === 255 : v === fromImageData.data[i - (i % 4)]);
        await d.dispose();
        return { red: red(fromImageData), progress, canvas: same(fromCanvas), bitmap: same(fromBitmap), img: same(fromImg), greyOut, size: [fromImageData.width, fromImageData.height] };
      },
      { grey: Array.from(grey), width, height },
    );
    expect(result.size).toEqual([width, height]);
    expect(result.greyOut).toBe(true);
    expect([result.canvas, result.bitmap, result.img]).toEqual([true, true, true]);
    expect(plan.rows.length).toBeGreaterThan(1);
    expect(plan.columns.length).toBeGreaterThan(1);
    const tiles = plan.rows.length * plan.columns.length;
    expect(result.progress).toEqual(Array.from({ length: tiles }, (_, i) => `tiles ${i + 1}/${tiles}`));
    expect(maxAbsDiff(result.red, expected)).toBeLessThanOrEqual(1);
    expect(result.red.filter((v, i) => v !== expected[i]).length).toBeLessThan(expected.length / 100);
    expect(maxAbsDiff(expected, grey)).toBeGreaterThan(20);
  });

  it('keeps colour and alpha: RGBA through the 1-channel model per colour channel, alpha untouched, as the Node runtime does', async () => {
    const [width, height] = [40, 30];
    const rgba = Uint8Array.from({ length: width * height * 4 }, (_, i) => (i % 4 === 3 ? 128 + (i % 127) : (i * 37 + (i >> 2) * 11) % 256));
    const node = await NodeDenoiser.create({ model: shipped, device: 'cpu' });
    const expected = (await node.denoise({ data: rgba, width, height, channels: 4 })).data;
    await node.dispose();
    const out = await harness.page.evaluate(
      async ({ rgba, width, height }) => {
        const { Denoiser } = (window as unknown as { runtimeWeb: Web }).runtimeWeb;
        const d = await Denoiser.create({ model: '/t/shipped.onnx', device: 'wasm' });
        const result = await d.denoise(new ImageData(new Uint8ClampedArray(rgba), width, height));
        await d.dispose();
        return Array.from(result.data);
      },
      { rgba: Array.from(rgba), width, height },
    );
    expect(maxAbsDiff(out, expected)).toBeLessThanOrEqual(1);
    expect(out.filter((_, i) => i % 4 === 3)).toEqual(Array.from(rgba.filter((_, i) => i % 4 === 3)));
  });

  it('two models on one page run at once: each call gets its own model\'s result (one queue for the page)', async () => {
    const result = await harness.page.evaluate(async () => {
      const { Denoiser } = (window as unknown as { runtimeWeb: Web }).runtimeWeb;
      const [a, b] = await Promise.all([Denoiser.create({ model: '/t/shipped.onnx', device: 'wasm' }), Denoiser.create({ model: '/t/test-model.onnx', device: 'wasm' })]);
      const input = new Float32Array(2 * 64 * 64).map((_, i) => ((i * 37) % 101) / 100);
      const alone = [await a.runTensor(input, [2, 1, 64, 64]), await b.runTensor(input, [2, 1, 64, 64])];
      const runs = await Promise.all(Array.from({ length: 6 }, (_, k) => (k % 2 ? b : a).runTensor(input, [2, 1, 64, 64])));
      const same = runs.map((r, k) => r.every((v, i) => v === alone[k % 2]![i]));
      await Promise.all([a.dispose(), b.dispose()]);
      return same;
    });
    expect(result).toEqual([true, true, true, true, true, true]);
  });

  it('reports the model download in bytes, and cancels between tiles; the denoiser works on after a cancel', async () => {
    const result = await harness.page.evaluate(async () => {
      const { Denoiser } = (window as unknown as { runtimeWeb: Web }).runtimeWeb;
      const download: [string, number, number | undefined][] = [];
      const d = await Denoiser.create({ model: '/t/shipped.onnx', device: 'wasm', tile: 52, onProgress: (p) => download.push([p.stage, p.done, p.total]) });
      const image = new ImageData(120, 100);
      const controller = new AbortController();
      let runs = 0;
      const cancelled = await d
        .denoise(image, {
          signal: controller.signal,
          onProgress: () => {
            runs++;
            if (runs === 2) controller.abort();
          },
        })
        .then(() => 'resolved', (e: Error) => e.name);
      const after = await d.denoise(image);
      await d.dispose();
      return { download, cancelled, runs, after: [after.width, after.height] };
    });
    expect(result.cancelled).toBe('AbortError');
    expect(result.runs).toBe(2);
    expect(result.after).toEqual([120, 100]);
    expect(result.download[0]).toEqual(['model', 0, shipped.length]);
    expect(result.download.at(-1)).toEqual(['model', shipped.length, shipped.length]);
    expect(harness.pageErrors).toEqual([]);
  });
});

describe('runtime-web Denoiser without WebGPU', () => {
  let noGpu: BrowserPage;
  beforeAll(async () => {
    noGpu = await openBrowserPage({ webgpu: false });
  });
  afterAll(async () => {
    await noGpu?.close();
  });

  it('auto takes wasm and records why WebGPU was skipped; a named webgpu is an error, never a silent fallback', async () => {
    const dims = [1, 1, 27, 31] as const;
    const input = fixedInput(dims);
    const result = await runInBrowser(noGpu, { model: testModel, input, dims, device: 'auto' });
    expect(result.device).toBe('wasm');
    expect(result.skipped).toEqual(['webgpu: navigator.gpu is missing: this browser has no WebGPU (or it is turned off)']);
    expect(maxAbsDiff(result.output, await runOnNodeCpu(testModel, input, dims))).toBeLessThan(1e-4);
    noGpu.server.route('/t/test-model.onnx', { body: testModel });
    const named = await noGpu.page.evaluate(async () => {
      const { Denoiser } = (window as unknown as { runtimeWeb: Web }).runtimeWeb;
      return Denoiser.create({ model: '/t/test-model.onnx', device: 'webgpu' }).then(() => 'resolved', (e: Error) => `${e.name}: ${e.message}`);
    });
    expect(named).toBe('ValidationError: Expected a device available on this machine for options.device but received "webgpu": navigator.gpu is missing: this browser has no WebGPU (or it is turned off)');
    expect(noGpu.pageErrors).toEqual([]);
  });
});
