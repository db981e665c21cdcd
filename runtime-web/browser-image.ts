// Browser images (ImageData, ImageBitmap, <img>, <canvas>, files and URLs) to the shared PixelImage and back to ImageData.
import { type PixelImage, pixelPeak, cannot, check, described, describeValue, invalid } from 'onnx-denoiser-common';
import { fetchBytes } from './fetch-bytes.js';

/** The image kinds {@link readPixels} and `Denoiser.denoise` take. */
export type BrowserImage = ImageData | ImageBitmap | HTMLImageElement | HTMLCanvasElement;

const KINDS = 'an ImageData, ImageBitmap, HTMLImageElement or HTMLCanvasElement';

/** `value instanceof <global constructor>`, false where this context lacks the constructor (workers have no <img>). */
function isInstance(value: unknown, constructorName: string): boolean {
  const ctor = (globalThis as Record<string, unknown>)[constructorName];
  return typeof ctor === 'function' && value instanceof (ctor as abstract new (...args: never[]) => unknown);
}

/** Names a browser image for messages: `<img src="...">`, `ImageBitmap 0x0`, ... */
function describeImage(value: unknown): string {
  if (isInstance(value, 'HTMLImageElement')) return `<img src=${JSON.stringify((value as HTMLImageElement).currentSrc || (value as HTMLImageElement).src)}>`;
  if (isInstance(value, 'HTMLCanvasElement')) return `a ${(value as HTMLCanvasElement).width}x${(value as HTMLCanvasElement).height} <canvas>`;
  if (isInstance(value, 'ImageBitmap')) return `a ${(value as ImageBitmap).width}x${(value as ImageBitmap).height} ImageBitmap`;
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && value.constructor && value.constructor !== Object) return `a ${value.constructor.name}`;
  return describeValue(value);
}

/** Width and height of a browser image as drawn at its own size. */
function imageSize(image: BrowserImage): [number, number] {
  if (isInstance(image, 'HTMLImageElement')) return [(image as HTMLImageElement).naturalWidth, (image as HTMLImageElement).naturalHeight];
  return [image.width, image.height];
}

/**
 * Checks that `value` is a browser image with pixels to read: a loaded (complete, not broken) <img>, a canvas or
 * bitmap of at least 1x1 (a closed ImageBitmap is 0x0).
 * @throws ValidationError naming `name`.
 */
export function checkBrowserImage(value: unknown, name = 'image'): BrowserImage {
  const kind = ['ImageData', 'ImageBitmap', 'HTMLImageElement', 'HTMLCanvasElement'].some((k) => isInstance(value, k));
  if (!kind) throw invalid(KINDS, name, described(describeImage(value)));
  const image = value as BrowserImage;
  if (isInstance(image, 'HTMLImageElement')) {
    const img = image as HTMLImageElement;
    if (!(img.complete && img.naturalWidth > 0)) {
      throw invalid('a loaded <img> (complete, decoded, naturalWidth > 0)', name, described(`${describeImage(img)}, ${img.complete ? 'which is broken (it did not load or decode)' : 'still loading'}`));
    }
  }
  const [width, height] = imageSize(image);
  if (!(width > 0 && height > 0)) throw invalid('an image of at least 1x1 pixels', name, described(describeImage(image)));
  return image;
}

type Context2d = CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D;

/** A 2D context on a fresh canvas of the given size (an OffscreenCanvas where there is one). */
function scratchContext(width: number, height: number): Context2d {
  if (typeof OffscreenCanvas === 'function') {
    const context = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
    if (context) return context;
  }
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d', { willReadFrequently: true });
  if (!context) throw new Error('this browser gives no 2D canvas context');
  return context;
}

/** RGBA pixels of any browser image (ImageData as it is; the others drawn once at their own size). */
function rgbaOf(image: BrowserImage, name: string): ImageData {
  if (isInstance(image, 'ImageData')) return image as ImageData;
  const [width, height] = imageSize(image);
  const context = scratchContext(width, height);
  context.drawImage(image as CanvasImageSource, 0, 0, width, height);
  try {
    return context.getImageData(0, 0, width, height);
  } catch (error) {
    throw cannot(`read the pixels of ${name} (${describeImage(image)})`, `${(error as Error).message}; a cross-origin image needs CORS (crossorigin="anonymous" and an Access-Control-Allow-Origin header)`, name);
  }
}

/**
 * The pixels of a browser image as a PixelImage with as few channels as say everything: grey when R = G = B
 * everywhere, alpha only when some pixel is not opaque. A 1-channel model then runs once per pixel on a grey
 * picture instead of three times on equal R, G and B planes, with the same result.
 * @throws ValidationError for anything but a readable browser image.
 */
export function readPixels(image: unknown, name = 'image'): PixelImage<Uint8ClampedArray> {
  const rgba = rgbaOf(checkBrowserImage(image, name), name);
  const { data, width, height } = rgba;
  const count = width * height;
  let grey = true;
  let opaque = true;
  for (let i = 0; i < count && (grey || opaque); i++) {
    const o = i * 4;
    if (data[o] !== data[o + 1] || data[o] !== data[o + 2]) grey = false;
    if (data[o + 3] !== 255) opaque = false;
  }
  const channels = (grey ? 1 : 3) + (opaque ? 0 : 1);
  if (channels === 4) return { data: new Uint8ClampedArray(data), width, height, channels };
  const out = new Uint8ClampedArray(count * channels);
  for (let i = 0, o = 0, p = 0; i < count; i++, o += 4) {
    if (grey) out[p++] = data[o]!;
    else {
      out[p++] = data[o]!;
      out[p++] = data[o + 1]!;
      out[p++] = data[o + 2]!;
    }
    if (!opaque) out[p++] = data[o + 3]!;
  }
  return { data: out, width, height, channels };
}

/** A PixelImage (1 to 4 channels, any pixel kind) as 8-bit RGBA ImageData: grey is spread over R, G and B, missing alpha is opaque. */
export function toImageData(image: PixelImage): ImageData {
  const { data, width, height, channels } = image;
  const count = width * height;
  const out = new Uint8ClampedArray(count * 4);
  const scale = 255 / pixelPeak(data);
  const colour = channels === 2 || channels === 4 ? channels - 1 : channels;
  const hasAlpha = colour !== channels;
  for (let i = 0; i < count; i++) {
    const from = i * channels;
    const to = i * 4;
    // Uint8ClampedArray rounds and clamps on assignment.
    if (colour === 1) out[to] = out[to + 1] = out[to + 2] = data[from]! * scale;
    else {
      out[to] = data[from]! * scale;
      out[to + 1] = data[from + 1]! * scale;
      out[to + 2] = data[from + 2]! * scale;
    }
    out[to + 3] = hasAlpha ? data[from + colour]! * scale : 255;
  }
  return new ImageData(out, width, height);
}

/**
 * Loads and decodes an image from a URL, a File or a Blob into an ImageBitmap, with no colour-space conversion (so
 * pixels are what the file holds).
 * @throws ValidationError `Cannot load image <url>: HTTP 404 ...`, or `Cannot decode <name> as an image: ...` for a
 * file that is no picture; the signal's reason when aborted.
 */
export async function loadImage(source: string | URL | Blob, options: { signal?: AbortSignal; name?: string } = {}): Promise<ImageBitmap> {
  const argument = options.name ?? 'src';
  let blob: Blob;
  let label: string;
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    blob = source;
    label = typeof File !== 'undefined' && source instanceof File ? JSON.stringify(source.name) : 'the blob';
  } else {
    check(source instanceof URL || (typeof source === 'string' && source.length > 0), 'an image URL, File or Blob', argument, source);
    const { bytes, type } = await fetchBytes(source, 'image', argument, { signal: options.signal });
    blob = new Blob([bytes as Uint8Array<ArrayBuffer>], { type });
    label = String(source);
  }
  options.signal?.throwIfAborted();
  try {
    return await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (error) {
    const kind = blob.type ? `${blob.type}, ` : '';
    throw cannot(`decode ${label} as an image (${kind}${blob.size} bytes)`, `the browser cannot read it as a picture (${(error as Error).message})`, argument);
  }
}
