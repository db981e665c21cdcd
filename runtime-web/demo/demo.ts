// The demo page's script: loads the shipped model on the chosen device, takes the sample, a picked or a dropped picture, adds seeded noise, denoises and shows before/after with device, time and PSNR.
import { checkDeviceName, Denoiser, denoiseWithNoise, loadImage, type PixelImage, readPixels, toImageData, WEB_DEVICES, type WebDevice } from '../index.js';

/** Seed of the synthetic noise: the same slider position always gives the same noisy picture. */
const SEED = 2026;
const SAMPLE = 'samples/fashion-grid-clean.png';

const byId = <T extends HTMLElement>(id: string): T => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the demo page has no #${id}`);
  return element as T;
};
const ui = {
  drop: byId<HTMLLabelElement>('drop'),
  file: byId<HTMLInputElement>('file'),
  sample: byId<HTMLButtonElement>('sample'),
  noise: byId<HTMLInputElement>('noise'),
  noiseValue: byId<HTMLOutputElement>('noise-value'),
  device: byId<HTMLSelectElement>('device'),
  run: byId<HTMLButtonElement>('run'),
  before: byId<HTMLCanvasElement>('before'),
  after: byId<HTMLCanvasElement>('after'),
  beforeLabel: byId<HTMLElement>('before-label'),
  split: byId<HTMLInputElement>('split'),
  divider: byId<HTMLElement>('divider'),
  statDevice: byId<HTMLElement>('stat-device'),
  statMs: byId<HTMLElement>('stat-ms'),
  statPsnr: byId<HTMLElement>('stat-psnr'),
  statImage: byId<HTMLElement>('stat-image'),
  statModel: byId<HTMLElement>('stat-model'),
  status: byId<HTMLElement>('status'),
};

// ?model=<name or url> and ?device=<name> override the defaults (the shipped photo-denoiser, auto).
const params = new URLSearchParams(location.search);
const modelUrl = params.get('model') ?? undefined;
let parameterError: unknown;
try {
  const device = params.get('device');
  if (device !== null) ui.device.value = checkDeviceName(device, WEB_DEVICES, '?device');
} catch (error) {
  parameterError = error;
}

let denoiser: Promise<Denoiser> | undefined;
let denoiserDevice = '';
let clean: PixelImage | undefined;
let current: AbortController | undefined;

function setStatus(text: string, error = false): void {
  ui.status.textContent = text;
  ui.status.classList.toggle('error', error);
}

function setState(state: 'loading' | 'running' | 'done' | 'error'): void {
  document.body.dataset.state = state;
}

function showError(error: unknown): void {
  const message = (error as Error)?.message ?? String(error);
  console.error(error);
  setStatus(message, true);
  setState('error');
}

/** The denoiser for the selected device, created once per device (the previous one is released). */
function currentDenoiser(): Promise<Denoiser> {
  const device = ui.device.value as WebDevice;
  if (denoiser && denoiserDevice === device) return denoiser;
  const previous = denoiser;
  denoiserDevice = device;
  const created = Denoiser.create({
    model: modelUrl,
    device,
    onProgress: (p) => setStatus(`downloading the model… ${p.total ? `${Math.round((100 * p.done) / p.total)}%` : `${p.done} bytes`}`),
  });
  denoiser = created;
  // A failed load is forgotten so that the next run tries again.
  created.catch(() => {
    if (denoiser === created) denoiser = undefined;
  });
  previous?.then((d) => d.dispose()).catch(() => undefined);
  return created;
}

function draw(canvas: HTMLCanvasElement, image: PixelImage): void {
  canvas.width = image.width;
  canvas.height = image.height;
  canvas.getContext('2d')!.putImageData(toImageData(image), 0, 0);
}

function setSplit(): void {
  const share = Number(ui.split.value);
  ui.after.style.clipPath = `inset(0 0 0 ${share}%)`;
  ui.divider.style.left = `${share}%`;
}

async function run(): Promise<void> {
  if (!clean) return;
  current?.abort();
  const controller = new AbortController();
  current = controller;
  const { signal } = controller;
  setState('running');
  try {
    const d = await currentDenoiser();
    if (signal.aborted) return;
    ui.statDevice.textContent = d.device === 'webgpu' ? `webgpu (${d.adapter})` : `wasm${d.skipped.length ? ` (${d.skipped.join('; ')})` : ''}`;
    ui.statModel.textContent = `${d.model.name ?? d.model.source}, ${d.model.channels} channel${d.model.channels === 1 ? '' : 's'}`;
    const noise = Number(ui.noise.value);
    setStatus('denoising…');
    const result = await denoiseWithNoise(d, clean, noise, SEED, {
      signal,
      onProgress: (p) => setStatus(`denoising… tile ${p.done} of ${p.total}`),
    });
    if (signal.aborted) return;
    draw(ui.before, result.input);
    draw(ui.after, result.denoised);
    ui.beforeLabel.textContent = noise > 0 ? `before: noise ${noise.toFixed(2)} added` : 'before: as loaded';
    ui.statMs.textContent = `${result.ms.toFixed(1)} ms`;
    ui.statPsnr.textContent =
      result.psnr === undefined ? 'no synthetic noise: nothing clean to compare with' : `${result.psnrNoisy!.toFixed(2)} dB noisy → ${result.psnr.toFixed(2)} dB denoised`;
    setStatus(`done on ${d.device} in ${result.ms.toFixed(1)} ms`);
    setState('done');
    console.info(`denoised ${clean.width}x${clean.height} on ${d.device} in ${result.ms.toFixed(1)} ms`);
  } catch (error) {
    if (!signal.aborted) showError(error);
  }
}

/** Loads a picture (the sample's URL, or a picked or dropped file) and denoises it; a bad file keeps the last good picture. */
async function useImage(source: string | Blob, name: string): Promise<void> {
  setState('loading');
  setStatus(`loading ${name}…`);
  try {
    const bitmap = await loadImage(source, { name: 'image' });
    const pixels = readPixels(bitmap, 'image');
    bitmap.close();
    clean = pixels;
    const kind = pixels.channels <= 2 ? 'grey' : 'colour';
    ui.statImage.textContent = `${name}: ${pixels.width}x${pixels.height}, ${kind}${pixels.channels % 2 === 0 ? ' + alpha' : ''}`;
    ui.run.disabled = false;
    await run();
  } catch (error) {
    showError(error);
  }
}

ui.sample.addEventListener('click', () => void useImage(SAMPLE, 'sample'));
ui.file.addEventListener('change', () => {
  const file = ui.file.files?.[0];
  if (file) void useImage(file, file.name);
});
ui.run.addEventListener('click', () => void run());
ui.noise.addEventListener('input', () => {
  ui.noiseValue.value = Number(ui.noise.value).toFixed(2);
});
ui.noise.addEventListener('change', () => void run());
ui.device.addEventListener('change', () => void run());
ui.split.addEventListener('input', setSplit);
for (const type of ['dragenter', 'dragover']) {
  document.addEventListener(type, (event) => {
    event.preventDefault();
    ui.drop.classList.add('over');
  });
}
document.addEventListener('dragleave', () => ui.drop.classList.remove('over'));
document.addEventListener('drop', (event) => {
  event.preventDefault();
  ui.drop.classList.remove('over');
  const file = event.dataTransfer?.files[0];
  if (file) void useImage(file, file.name);
});

ui.noiseValue.value = Number(ui.noise.value).toFixed(2);
setSplit();
// A bad ?device shows its error and waits for the user (the device menu and the sample button still work).
if (parameterError) showError(parameterError);
else void useImage(SAMPLE, 'sample');
