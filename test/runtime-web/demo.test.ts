// The demo page in headless chromium: the sample denoised on load (equal to the Node runtime), device, time and PSNR shown; a non-image file is a clear error and the page works on (drop, device, noise).
import { mkdirSync } from 'node:fs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addGaussianNoise } from '../../runtime-common/noise.js';
import { Denoiser as NodeDenoiser } from '../../runtime-node/denoiser.js';
import { type BrowserPage, maxAbsDiff, openBrowserPage } from '../../tools/web/browser-harness.js';


let harness: BrowserPage;
beforeAll(async () => {
  harness = await openBrowserPage({ page: null });
});
afterAll(async () => {
  await harness?.close();
});

// WebGPU runs on SwiftShader here (CPU-emulated): the photo model's first run on a 2-core CI machine, next to other
// suites, has been seen to take over 30 s (playwright's default wait).
const SETTLE_MS = 150_000;

/** Waits until the page settles (done or error) and returns what it shows. */
async function settled(): Promise<Record<string, string>> {
  await harness.page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state ?? ''), null, { timeout: SETTLE_MS });
  return harness.page.evaluate(() => {
    const text = (id: string) => document.getElementById(id)!.textContent ?? '';
    return {
      state: document.body.dataset.state!,
      status: text('status'),
      device: text('stat-device'),
      ms: text('stat-ms'),
      psnr: text('stat-psnr'),
      image: text('stat-image'),
    };
  });
}

/** Red channel of a canvas on the page. */
async function canvasRed(id: string): Promise<{ width: number; height: number; red: number[] }> {
  return harness.page.evaluate((id) => {
    const canvas = document.getElementById(id) as HTMLCanvasElement;
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    return { width: canvas.width, height: canvas.height, red: Array.from(data.filter((_, i) => i % 4 === 0)) };
  }, id);
}

describe('demo page: bad calls', () => {
  it('shows a bad ?device (listing the valid ones) and a broken ?model URL as clear errors; no exception escapes, the page works on', async () => {
    await harness.open('/?device=gpu');
    const badDevice = await settled();
    expect(badDevice).toMatchObject({ state: 'error', status: 'Expected one of "auto", "webgpu", "wasm" for ?device but received "gpu"' });
    await harness.page.selectOption('#device', 'wasm');
    await harness.page.click('#sample');
    expect(await settled()).toMatchObject({ state: 'done', image: 'sample: 224x224, grey', device: 'wasm' });

    await harness.open('/?model=models/missing.onnx&device=wasm');
    const badModel = await settled();
    expect(badModel.state).toBe('error');
    expect(badModel.status).toBe(`Cannot load model models/missing.onnx: HTTP 404 Not Found (${harness.url('/models/missing.onnx')})`);
    // Still responsive: the sample loads again and the same clear error comes back, from a fresh try.
    await harness.page.click('#sample');
    expect((await settled()).status).toBe(badModel.status);
    expect(harness.pageErrors).toEqual([]);
  }, 4 * SETTLE_MS);
});

describe('demo page', () => {
  it('loads, denoises the sample with noise 0.4 on WebGPU and shows device, time and PSNR; the picture equals the Node runtime', async () => {
    const requests: string[] = [];
    harness.page.on('request', (request) => requests.push(request.url()));
    await harness.open('/');
    const shown = await settled();
    expect(shown.state).toBe('done');
    expect(shown.device).toMatch(/^webgpu \(.+\)$/);
    expect(shown.ms).toMatch(/^\d+(\.\d)? ms$/);
    expect(shown.image).toBe('sample: 224x224, grey');
    const [, noisyDb, denoisedDb] = /^([\d.]+) dB noisy → ([\d.]+) dB denoised$/.exec(shown.psnr) ?? [];
    expect(Number(denoisedDb)).toBeGreaterThan(Number(noisyDb) + 3);

    const { data, info } = await sharp('models/samples/fashion-grid-clean.png').extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    const noisy = addGaussianNoise({ data: new Uint8Array(data), width: info.width, height: info.height, channels: 1 }, 0.4, 2026);
    // The page's default model, as in Node: the shipped photo denoiser, whose grey companion takes this grey sample.
    const node = await NodeDenoiser.create({ model: 'photo-denoiser', device: 'cpu' });
    const expected = await node.denoise(noisy);
    await node.dispose();
    const [before, after] = [await canvasRed('before'), await canvasRed('after')];
    expect([after.width, after.height]).toEqual([224, 224]);
    expect(before.red).toEqual(Array.from(noisy.data));
    expect(maxAbsDiff(after.red, expected.data)).toBeLessThanOrEqual(1);
    // Everything, onnxruntime-web's wasm files included, comes from the page's own server: no CDN.
    expect(requests.filter((url) => !url.startsWith(harness.server.url) && !url.startsWith('data:'))).toEqual([]);
    expect(requests).toContain(harness.url('/ort/ort-wasm-simd-threaded.jsep.wasm'));
    mkdirSync('test-output', { recursive: true });
    await harness.page.screenshot({ path: 'test-output/demo-page.png' });
    expect(harness.pageErrors).toEqual([]);
  }, 2 * SETTLE_MS);

  it('shows a picked file that is no picture as a clear error, keeps working: a dropped picture, wasm, no noise', async () => {
    await harness.page.setInputFiles('#file', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a picture\n') });
    const failed = await settled();
    expect(failed.state).toBe('error');
    expect(failed.status).toMatch(/^Cannot decode "notes\.txt" as an image \(text\/plain, 14 bytes\): the browser cannot read it as a picture/);
    expect(await harness.page.locator('#status.error').count()).toBe(1);

    const png = await sharp({ create: { width: 40, height: 36, channels: 3, background: { r: 200, g: 40, b: 90 } } }).png().toBuffer();
    await harness.page.evaluate(async (bytes) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([new Uint8Array(bytes)], 'dropped.png', { type: 'image/png' }));
      document.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }, Array.from(png));
    const dropped = await settled();
    expect(dropped).toMatchObject({ state: 'done', image: 'dropped.png: 40x36, colour' });

    await harness.page.selectOption('#device', 'wasm');
    const onWasm = await settled();
    expect(onWasm.state).toBe('done');
    expect(onWasm.device).toBe('wasm');

    await harness.page.locator('#noise').fill('0');
    await harness.page.locator('#noise').dispatchEvent('change');
    await harness.page.waitForFunction(() => document.getElementById('stat-psnr')!.textContent!.startsWith('no synthetic noise'), null, { timeout: SETTLE_MS });
    expect((await settled()).state).toBe('done');
    expect(harness.pageErrors).toEqual([]);
  }, 4 * SETTLE_MS);
});
