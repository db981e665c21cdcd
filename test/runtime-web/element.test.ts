// The <denoise-image> element in headless chromium: bad attributes, a denoised rendering equal to the Node runtime's, broken model URLs and non-image files shown as errors with the page working on.
import { mkdirSync, readFileSync } from 'node:fs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { colourToUnit } from '../../runtime-common/image-ops.js';
import { psnr } from '../../runtime-common/metrics.js';
import { addGaussianNoise } from '../../runtime-common/noise.js';
import { Denoiser as NodeDenoiser } from '../../runtime-node/denoiser.js';
import { type BrowserPage, fixedInput, maxAbsDiff, openBrowserPage } from '../../tools/web/browser-harness.js';

const shipped = new Uint8Array(readFileSync('models/noise-reducer.onnx'));
const [WIDTH, HEIGHT] = [64, 48];
const picture = Uint8Array.from(fixedInput([1, 1, HEIGHT, WIDTH], 11), (v) => Math.round(v * 255));
const notes = 'these are notes, not a picture\n';

// The page embeds the element with no script of its own; the test only listens to its events.
const PAGE = `<!doctype html><meta charset="utf-8"><title>denoise-image</title><link rel="icon" href="data:,">
<script type="module" src="/runtime-web.js"></script>
<script>
  window.events = [];
  for (const type of ['progress', 'done', 'error']) document.addEventListener(type, (e) => { if (e.target.localName === 'denoise-image') window.events.push({ type, detail: e.detail }); }, true);
</script>
<body style="margin: 8px; background: #fff"><denoise-image id="it" model="/t/shipped.onnx"></denoise-image></body>`;

interface ElementEvent {
  type: 'progress' | 'done' | 'error';
  detail: { message?: string; device?: string; ms?: number; psnr?: number; psnrNoisy?: number; stage?: string };
}

let harness: BrowserPage;
beforeAll(async () => {
  harness = await openBrowserPage({ page: null });
  harness.server.route('/t/element.html', { body: PAGE });
  harness.server.route('/t/shipped.onnx', { body: shipped });
  harness.server.route('/t/picture.png', { body: await sharp(picture, { raw: { width: WIDTH, height: HEIGHT, channels: 1 } }).png().toBuffer() });
  harness.server.route('/t/notes.txt', { body: notes });
  await harness.open('/t/element.html');
  await harness.page.waitForFunction(() => customElements.get('denoise-image') !== undefined);
});
afterAll(async () => {
  await harness?.close();
});

/** Sets attributes on the element and waits for the next done or error event; returns the events since the change. */
async function change(attributes: Record<string, string | null>): Promise<ElementEvent[]> {
  return harness.page.evaluate(async (attributes) => {
    const w = window as unknown as { events: ElementEvent[] };
    const element = document.getElementById('it')!;
    w.events = [];
    const settled = new Promise<void>((resolve) => {
      const done = () => {
        element.removeEventListener('done', done);
        element.removeEventListener('error', done);
        resolve();
      };
      element.addEventListener('done', done);
      element.addEventListener('error', done);
    });
    for (const [name, value] of Object.entries(attributes)) {
      if (value === null) element.removeAttribute(name);
      else element.setAttribute(name, value);
    }
    await settled;
    return w.events;
  }, attributes);
}

/** The element's state attribute and its shadow DOM status line. */
async function shown(): Promise<{ state: string | null; status: string; error: boolean }> {
  return harness.page.evaluate(() => {
    const element = document.getElementById('it')!;
    const status = element.shadowRoot!.querySelector('.status')!;
    return { state: element.getAttribute('state'), status: status.textContent ?? '', error: status.classList.contains('error') };
  });
}

const settledOnly = (events: ElementEvent[]) => events.filter((e) => e.type !== 'progress');

describe('<denoise-image>: bad attributes', () => {
  it('reports a bad sigma (a number for a blind model too), an unknown device (listing the valid ones), a bad noise and a bad seed as error events shown in the element', async () => {
    const cases: [Record<string, string | null>, string, string][] = [
      [{ seed: '1', sigma: 'loud', src: '/t/picture.png' }, 'sigma', 'Expected "auto" or a number from 0 to 255 (8-bit levels) for sigma but received "loud"'],
      [{ sigma: '12' }, 'sigma', 'Expected "auto" for a blind model (noise-reducer takes no noise level) for sigma but received 12'],
      [{ device: 'gpu', sigma: null }, 'device', 'Expected one of "auto", "webgpu", "wasm" for device but received "gpu"'],
      [{ device: 'wasm', noise: 'abc' }, 'noise', 'Expected a number from 0 to 1 for noise but received "abc"'],
      [{ noise: '1.5' }, 'noise', 'Expected a number from 0 to 1 for noise but received "1.5"'],
      [{ noise: '0.2', seed: '-1' }, 'seed', 'Expected an integer from 0 to 4294967295 for seed but received "-1"'],
    ];
    for (const [attributes, argument, message] of cases) {
      const events = settledOnly(await change(attributes));
      expect(events).toEqual([{ type: 'error', detail: { message, argument } }]);
      expect(await shown()).toEqual({ state: 'error', status: message, error: true });
    }
    expect(harness.pageErrors).toEqual([]);
  });
});

describe('<denoise-image>', () => {
  it('renders the noisy input and the denoised picture; the result equals the Node runtime on the same noise, with device, time and PSNR', async () => {
    const events = await change({ device: null, noise: '0.2', seed: '7', src: '/t/picture.png' });
    const done = events.at(-1)!;
    expect(done.type).toBe('done');
    expect(done.detail.device).toBe('webgpu');
    expect(done.detail.ms).toBeGreaterThan(0);
    expect(events.filter((e) => e.type === 'progress' && e.detail.stage === 'tiles').length).toBeGreaterThan(0);
    const canvases = await harness.page.evaluate(() => {
      const root = document.getElementById('it')!.shadowRoot!;
      return Array.from(root.querySelectorAll('canvas')).map((canvas) => {
        const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
        return { width: canvas.width, height: canvas.height, red: Array.from(data.filter((_, i) => i % 4 === 0)) };
      });
    });
    const noisy = addGaussianNoise({ data: picture, width: WIDTH, height: HEIGHT, channels: 1 }, 0.2, 7);
    const node = await NodeDenoiser.create({ model: shipped, device: 'cpu' });
    const expected = await node.denoise(noisy);
    await node.dispose();
    expect(canvases.map((c) => [c.width, c.height])).toEqual([[WIDTH, HEIGHT], [WIDTH, HEIGHT]]);
    expect(canvases[0]!.red).toEqual(Array.from(noisy.data));
    expect(maxAbsDiff(canvases[1]!.red, expected.data)).toBeLessThanOrEqual(1);
    const clean = colourToUnit({ data: picture, width: WIDTH, height: HEIGHT, channels: 1 }).values;
    expect(done.detail.psnr).toBeCloseTo(psnr(clean, colourToUnit(expected).values), 1);
    expect(done.detail.psnrNoisy).toBeCloseTo(psnr(clean, colourToUnit(noisy).values), 6);
    expect(done.detail.psnr!).toBeGreaterThan(done.detail.psnrNoisy!);
    expect(await shown()).toMatchObject({ state: 'done', error: false });
    mkdirSync('test-output', { recursive: true });
    await harness.page.locator('#it').screenshot({ path: 'test-output/denoise-image-element.png' });
    expect(harness.pageErrors).toEqual([]);
  });

  it('shows a broken model URL as a clear error, no exception escapes, and works again once the URL is fixed', async () => {
    const failed = settledOnly(await change({ model: '/t/missing.onnx' }));
    const message = `Cannot load model ${harness.url('/t/missing.onnx')}: HTTP 404 Not Found`;
    expect(failed).toEqual([{ type: 'error', detail: { message, argument: 'options.model' } }]);
    expect(await shown()).toEqual({ state: 'error', status: message, error: true });
    const fixed = settledOnly(await change({ model: '/t/shipped.onnx' }));
    expect(fixed.map((e) => e.type)).toEqual(['done']);
    expect(harness.pageErrors).toEqual([]);
  });

  it('shows a file that is no picture as a clear error, and works on with a picture', async () => {
    const failed = settledOnly(await change({ src: '/t/notes.txt' }));
    expect(failed).toHaveLength(1);
    expect(failed[0]!.type).toBe('error');
    expect(failed[0]!.detail.message).toMatch(new RegExp(`^Cannot decode /t/notes\\.txt as an image \\(text/plain; charset=utf-8, ${notes.length} bytes\\): the browser cannot read it as a picture`));
    expect(await shown()).toMatchObject({ state: 'error', error: true, status: failed[0]!.detail.message });
    const missing = settledOnly(await change({ src: '/t/missing.png' }));
    expect(missing[0]!.detail.message).toBe(`Cannot load image /t/missing.png: HTTP 404 Not Found (${harness.url('/t/missing.png')})`);
    const back = settledOnly(await change({ src: '/t/picture.png' }));
    expect(back.map((e) => e.type)).toEqual(['done']);
    expect(harness.pageErrors).toEqual([]);
  });

  it('runs once for several attribute changes in one task, with the last values; wasm when asked', async () => {
    const events = settledOnly(await change({ noise: '0.1', device: 'wasm', seed: '3' }));
    expect(events).toHaveLength(1);
    expect(events[0]!.detail.device).toBe('wasm');
    const noisy = addGaussianNoise({ data: picture, width: WIDTH, height: HEIGHT, channels: 1 }, 0.1, 3);
    const clean = colourToUnit({ data: picture, width: WIDTH, height: HEIGHT, channels: 1 }).values;
    expect(events[0]!.detail.psnrNoisy).toBeCloseTo(psnr(clean, colourToUnit(noisy).values), 6);
    expect(harness.pageErrors).toEqual([]);
  });
});
