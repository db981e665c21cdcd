// The <denoise-image> custom element: loads `src`, adds optional synthetic noise, denoises it and shows input and result in its shadow DOM; events progress, done, error; no exception escapes.
import { isModelName, checkDeviceName, invalid, noiseLevelFor } from 'onnx-denoiser-common';
import { loadImage, readPixels, toImageData } from './browser-image.js';
import { type DenoiseProgress, Denoiser, defaultModelUrl, type WebDevice } from './denoiser.js';
import { resolveUrl } from './fetch-bytes.js';
import { WEB_DEVICES } from './ort-web.js';
import { denoiseWithNoise } from './synthetic-noise.js';

/** Attributes the element reacts to. */
export const DENOISE_IMAGE_ATTRIBUTES = Object.freeze(['src', 'model', 'device', 'noise', 'seed', 'sigma'] as const);

/** Seed of the synthetic noise when the `seed` attribute is absent. */
export const DEFAULT_SEED = 1;

/** `detail` of the `done` event. */
export interface DenoiseDoneDetail {
  /** `webgpu` or `wasm`. */
  device: string;
  /** The WebGPU adapter's name on WebGPU. */
  adapter?: string;
  /** Devices `auto` skipped, each with why. */
  skipped: string[];
  /** Milliseconds the denoising took (download, decoding and noise not counted). */
  ms: number;
  width: number;
  height: number;
  /** PSNR (dB) of the result against the clean picture, when synthetic noise was added. */
  psnr?: number;
  /** PSNR (dB) of the noisy input against the clean picture, when synthetic noise was added. */
  psnrNoisy?: number;
}

/** `detail` of the `error` event. */
export interface DenoiseErrorDetail {
  /** What went wrong, for people: names the attribute, URL or file. */
  message: string;
  /** The attribute or option at fault, when known. */
  argument?: string;
}

/** The element's public surface (the class itself is made by {@link defineDenoiseImage}, where HTMLElement exists). */
export interface DenoiseImageElement extends HTMLElement {
  /** The last denoised picture, once `done` fired. */
  readonly result: ImageData | undefined;
  /** The last `done` event's detail. */
  readonly lastRun: DenoiseDoneDetail | undefined;
}

// One session per model URL and device, shared by every element on the page (their runs queue on it).
const denoisers = new Map<string, Promise<Denoiser>>();

function sharedDenoiser(model: string, device: WebDevice, onProgress: (progress: DenoiseProgress) => void): Promise<Denoiser> {
  const key = `${device} ${model}`;
  let denoiser = denoisers.get(key);
  if (!denoiser) {
    denoiser = Denoiser.create({ model, device, onProgress });
    denoisers.set(key, denoiser);
    // A failed load is not kept: fixing the URL or the server and setting the attribute again retries.
    denoiser.catch(() => denoisers.delete(key));
  }
  return denoiser;
}

function parseNoise(text: string | null): number {
  if (text === null) return 0;
  const value = text.trim() === '' ? NaN : Number(text);
  if (!(Number.isFinite(value) && value >= 0 && value <= 1)) throw invalid('a number from 0 to 1', 'noise', text);
  return value;
}

/** The `sigma` attribute as text: absent is `auto`, a number's text its number, anything else as it is (refused by noiseLevelFor). */
function sigmaValue(text: string | null): unknown {
  if (text === null || text.trim() === 'auto') return 'auto';
  return text.trim() !== '' && Number.isFinite(Number(text)) ? Number(text) : text;
}

function parseSeed(text: string | null): number {
  if (text === null) return DEFAULT_SEED;
  const value = text.trim() === '' ? NaN : Number(text);
  if (!(Number.isInteger(value) && value >= 0 && value <= 2 ** 32 - 1)) throw invalid('an integer from 0 to 4294967295', 'seed', text);
  return value;
}

const STYLE = `
:host { display: inline-block; font: 12px/1.4 system-ui, sans-serif; }
.panels { display: flex; gap: 8px; flex-wrap: wrap; }
figure { margin: 0; }
canvas { display: block; max-width: 100%; image-rendering: pixelated; background: #eee; }
figcaption { color: #555; margin-top: 2px; }
.status { margin-top: 4px; color: #555; min-height: 1.4em; }
.status.error { color: #b00020; }
`;

function draw(canvas: HTMLCanvasElement, image: ImageData): void {
  canvas.width = image.width;
  canvas.height = image.height;
  canvas.getContext('2d')!.putImageData(image, 0, 0);
}

/**
 * Registers `<denoise-image>` (or `tagName`) once; returns its class. Importing the library does this by itself
 * where `customElements` exists. Attributes: `src` (image URL), `model` (a shipped model's name or an ONNX URL; default the shipped `photo-denoiser`),
 * `device` (`auto`, `webgpu`, `wasm`), `noise` (0 to 1: synthetic Gaussian noise added first, for demos), `seed`,
 * `sigma` (for a model with a noise map: the noise level in 8-bit levels, 0 to 255, higher denoises more; default
 * `auto`, estimated from the picture).
 * The element sets its own `state` attribute to `loading`, `done` or `error` (for styling and tests).
 */
export function defineDenoiseImage(tagName = 'denoise-image'): CustomElementConstructor {
  const existing = customElements.get(tagName);
  if (existing) return existing;

  class Element extends HTMLElement implements DenoiseImageElement {
    static observedAttributes = [...DENOISE_IMAGE_ATTRIBUTES];
    #controller: AbortController | undefined;
    #scheduled = false;
    #result: ImageData | undefined;
    #lastRun: DenoiseDoneDetail | undefined;
    readonly #input: HTMLCanvasElement;
    readonly #output: HTMLCanvasElement;
    readonly #inputCaption: HTMLElement;
    readonly #outputCaption: HTMLElement;
    readonly #status: HTMLElement;

    constructor() {
      super();
      const root = this.attachShadow({ mode: 'open' });
      root.innerHTML = `<style>${STYLE}</style><div class="panels"><figure part="input"><canvas part="input-canvas"></canvas><figcaption></figcaption></figure><figure part="output"><canvas part="output-canvas"></canvas><figcaption></figcaption></figure></div><div class="status" part="status" role="status"></div>`;
      [this.#input, this.#output] = Array.from(root.querySelectorAll('canvas'));
      [this.#inputCaption, this.#outputCaption] = Array.from(root.querySelectorAll('figcaption'));
      this.#status = root.querySelector('.status')!;
    }

    get result(): ImageData | undefined {
      return this.#result;
    }

    get lastRun(): DenoiseDoneDetail | undefined {
      return this.#lastRun;
    }

    connectedCallback(): void {
      this.#schedule();
    }

    disconnectedCallback(): void {
      this.#controller?.abort();
      this.#controller = undefined;
    }

    attributeChangedCallback(): void {
      if (this.isConnected) this.#schedule();
    }

    /** Several attribute changes in one task start one run; a new run cancels the one before. */
    #schedule(): void {
      if (this.#scheduled) return;
      this.#scheduled = true;
      queueMicrotask(() => {
        this.#scheduled = false;
        if (!this.isConnected) return;
        this.#controller?.abort();
        const controller = new AbortController();
        this.#controller = controller;
        this.#run(controller.signal).catch((error) => this.#fail(error, controller.signal));
      });
    }

    #setStatus(text: string, error = false): void {
      this.#status.textContent = text;
      this.#status.classList.toggle('error', error);
    }

    #emit(type: string, detail: unknown): void {
      this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
    }

    #fail(error: unknown, signal: AbortSignal): void {
      if (signal.aborted) return;
      const message = (error as Error)?.message ?? String(error);
      const argument = (error as { argument?: unknown })?.argument;
      this.#result = undefined;
      this.#output.getContext('2d')?.clearRect(0, 0, this.#output.width, this.#output.height);
      this.#outputCaption.textContent = '';
      this.#setStatus(message, true);
      this.setAttribute('state', 'error');
      const detail: DenoiseErrorDetail = { message, ...(typeof argument === 'string' ? { argument } : {}) };
      this.#emit('error', detail);
    }

    async #run(signal: AbortSignal): Promise<void> {
      const src = this.getAttribute('src');
      if (!src) {
        this.#setStatus('');
        this.removeAttribute('state');
        return;
      }
      const device = checkDeviceName(this.getAttribute('device') ?? 'auto', WEB_DEVICES, 'device') as WebDevice;
      const noise = parseNoise(this.getAttribute('noise'));
      const seed = parseSeed(this.getAttribute('seed'));
      const sigmaText = this.getAttribute('sigma');
      const named = this.getAttribute('model');
      // A shipped model's name ("residual-denoiser") or a URL relative to the page.
      const model = named === null ? defaultModelUrl() : isModelName(named) ? defaultModelUrl(named, 'model') : resolveUrl(named);
      this.setAttribute('state', 'loading');
      this.#setStatus('loading…');
      const onProgress = (progress: DenoiseProgress) => {
        if (signal.aborted) return;
        const share = progress.total ? ` ${Math.round((100 * progress.done) / progress.total)}%` : '';
        this.#setStatus(progress.stage === 'model' ? `downloading the model…${share}` : `denoising…${share}`);
        this.#emit('progress', progress);
      };
      // The model and the picture load at the same time.
      const [denoiser, bitmap] = await Promise.all([sharedDenoiser(model, device, onProgress), loadImage(src, { signal, name: 'src' })]);
      signal.throwIfAborted();
      const clean = readPixels(bitmap, 'src');
      bitmap.close();
      // Checked against the model here, so a bad value or a number for a blind model names the attribute.
      const sigma = sigmaValue(sigmaText);
      noiseLevelFor(denoiser.model, sigma, 'sigma');
      const run = await denoiseWithNoise(denoiser, clean, noise, seed, { signal, onProgress, sigma: sigma as number | 'auto' });
      signal.throwIfAborted();
      const result = toImageData(run.denoised);
      draw(this.#input, toImageData(run.input));
      draw(this.#output, result);
      const detail: DenoiseDoneDetail = {
        device: denoiser.device,
        ...(denoiser.adapter ? { adapter: denoiser.adapter } : {}),
        skipped: [...denoiser.skipped],
        ms: run.ms,
        width: clean.width,
        height: clean.height,
        ...(run.psnr === undefined ? {} : { psnr: run.psnr, psnrNoisy: run.psnrNoisy }),
      };
      this.#inputCaption.textContent = noise > 0 ? `input + noise ${noise}${run.psnrNoisy === undefined ? '' : ` (${run.psnrNoisy.toFixed(2)} dB)`}` : 'input';
      this.#outputCaption.textContent = `denoised${run.psnr === undefined ? '' : ` (${run.psnr.toFixed(2)} dB)`}`;
      this.#setStatus(`${denoiser.device}, ${run.ms.toFixed(0)} ms`);
      this.#result = result;
      this.#lastRun = detail;
      this.setAttribute('state', 'done');
      this.#emit('done', detail);
    }
  }

  customElements.define(tagName, Element);
  return Element;
}
