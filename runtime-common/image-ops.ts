// Pixel buffers and model tensors: HWC uint8/uint16/float32 pixels <-> planar float32 regions, and which channels the model sees.
import { check, checkInteger, checkObject, invalid } from './validate.js';

/** The pixel arrays the runtimes accept: 8-bit, 16-bit, or float in [0, 1]. */
export type PixelArray = Uint8Array | Uint8ClampedArray | Uint16Array | Float32Array;

/** An image as raw interleaved pixels (HWC): `data[(y * width + x) * channels + c]`. */
export interface PixelImage<T extends PixelArray = PixelArray> {
  /** Interleaved samples; 8-bit in [0, 255], 16-bit in [0, 65535], float in [0, 1]. */
  data: T;
  width: number;
  height: number;
  /** 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA; alpha is always the last channel. */
  channels: number;
}

/**
 * The image a denoiser returns for `I`: the same array kind, per member of a union (so a `PixelImage<Uint8Array> |
 * PixelImage<Uint16Array>`, as image files decode to, comes back as that union).
 */
export type SameKind<I extends PixelImage> = I extends PixelImage<infer T> ? PixelImage<T> : never;

/** The value range `[low, high]` a model expects its input in (and returns its output in). */
export type ValueRange = readonly [number, number];

/** Validates a pixel image at a public boundary and returns it typed. */
export function checkPixelImage(image: unknown, name = 'image'): PixelImage {
  const object = checkObject(image, name);
  const { data } = object;
  check(
    data instanceof Uint8Array || data instanceof Uint8ClampedArray || data instanceof Uint16Array || data instanceof Float32Array,
    'a Uint8Array, Uint8ClampedArray, Uint16Array or Float32Array',
    `${name}.data`,
    data,
  );
  const { width, height, channels } = object as { width: number; height: number; channels: number };
  // checkInteger builds its message eagerly: call it only when a value is wrong (this runs once per image).
  if (!(Number.isInteger(width) && width >= 1)) checkInteger(width, `${name}.width`, { min: 1 });
  if (!(Number.isInteger(height) && height >= 1)) checkInteger(height, `${name}.height`, { min: 1 });
  if (!(Number.isInteger(channels) && channels >= 1 && channels <= 4)) checkInteger(channels, `${name}.channels`, { min: 1, max: 4 });
  const expected = width * height * channels;
  check(data.length === expected, `${expected} samples (${width}x${height}x${channels})`, `${name}.data.length`, data.length);
  if (data instanceof Float32Array) {
    // A NaN or an infinity would spread through the network's receptive field into a block of black pixels.
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (v - v !== 0) {
        const pixel = Math.floor(i / channels);
        throw invalid('finite samples (float pixels in [0, 1])', `${name}.data[${i}] (x ${pixel % width}, y ${Math.floor(pixel / width)}, channel ${i % channels})`, v);
      }
    }
  }
  return { data, width, height, channels };
}

/** The largest sample value of a pixel array's kind: 255, 65535, or 1 for floats. */
export function pixelPeak(data: PixelArray): number {
  if (data instanceof Uint16Array) return 65535;
  if (data instanceof Float32Array) return 1;
  return 255;
}

/**
 * A new, zeroed pixel array of the same kind as `like` (its base typed-array kind: a Node Buffer gives a
 * Uint8Array, since Buffer's own constructor is the deprecated `Buffer(size)`, DEP0005).
 */
export function allocatePixels<T extends PixelArray>(like: T, length: number): T {
  // One constructor per branch: a constructor picked into a variable is a slower call (about 1 us for a 28x28 image).
  if (like instanceof Float32Array) return new Float32Array(length) as T;
  if (like instanceof Uint16Array) return new Uint16Array(length) as T;
  if (like instanceof Uint8ClampedArray) return new Uint8ClampedArray(length) as T;
  return new Uint8Array(length) as T;
}

/** How an image's channels map onto a model's input: which image channel feeds each plane, and what stays untouched. */
export interface ChannelPlan {
  /** Image channel feeding each plane of a region's input, in NCHW order (N outer, C inner). */
  planes: number[];
  /** Images per region in the batch dimension: 3 when RGB goes through a 1-channel model. */
  batch: number;
  /** The model's channel count C. */
  modelChannels: number;
  /** `copy`: output plane i goes to channel planes[i]; `mean`: all output planes are averaged into channel 0. */
  merge: 'copy' | 'mean';
  /** Image channels copied from input to output untouched (alpha). */
  untouched: number[];
  /** Colour channels set equal to channel 0 once it is written: a grey picture stored as RGB stays grey. */
  fill: number[];
}

/**
 * Decides how an image with `imageChannels` goes through a model with `modelChannels`: colour channels are denoised,
 * alpha is kept. A 1-channel model takes RGB as a batch of 3; a 3-channel model takes grey as 3 equal planes and
 * the 3 outputs are averaged; a model whose channel count equals the image's takes every channel. `grey`: the
 * image's colour channels are equal everywhere (see {@link hasEqualColourChannels}), so an RGB(A) image goes through
 * as grey, channel 0 alone, and its result is written to all three colour channels.
 * @throws when the model cannot take the image's channels.
 */
export function planChannels(imageChannels: number, modelChannels: number, grey = false): ChannelPlan {
  // A plan is frozen and depends only on the three inputs: each is worked out once (this runs once per image).
  const key = (imageChannels * 64 + modelChannels) * 2 + (grey ? 1 : 0);
  const known = PLANS.get(key);
  if (known) return known;
  const plan = Object.freeze(newPlan(imageChannels, modelChannels, grey)) as ChannelPlan;
  // newPlan accepted both counts: integers, the image's 1 to 4; the key is unique for models under 64 channels.
  if (modelChannels < 64) PLANS.set(key, plan);
  return plan;
}

const PLANS = new Map<number, ChannelPlan>();

function newPlan(imageChannels: number, modelChannels: number, grey: boolean): ChannelPlan {
  if (!(Number.isInteger(imageChannels) && imageChannels >= 1 && imageChannels <= 4)) checkInteger(imageChannels, 'image.channels', { min: 1, max: 4 });
  if (!(Number.isInteger(modelChannels) && modelChannels >= 1)) checkInteger(modelChannels, 'model channels', { min: 1 });
  const hasAlpha = imageChannels === 2 || imageChannels === 4;
  const colour = hasAlpha ? imageChannels - 1 : imageChannels;
  const alpha = hasAlpha ? [imageChannels - 1] : [];
  if (grey && colour === 3 && (modelChannels === 1 || modelChannels === 3)) {
    // Channel 0 stands for all three; a model with the image's channel count in all (4 for RGBA) takes them as they are.
    const base = newPlan(hasAlpha ? 2 : 1, modelChannels, false);
    return { ...base, untouched: alpha, fill: [1, 2] };
  }
  const colourChannels = Array.from({ length: colour }, (_, c) => c);
  if (modelChannels === colour) return { planes: colourChannels, batch: 1, modelChannels, merge: 'copy', untouched: alpha, fill: [] };
  if (modelChannels === 1) return { planes: colourChannels, batch: colour, modelChannels, merge: 'copy', untouched: alpha, fill: [] };
  if (modelChannels === 3 && colour === 1) return { planes: [0, 0, 0], batch: 1, modelChannels, merge: 'mean', untouched: alpha, fill: [] };
  if (modelChannels === imageChannels) return { planes: Array.from({ length: imageChannels }, (_, c) => c), batch: 1, modelChannels, merge: 'copy', untouched: [], fill: [] };
  throw invalid(`an image the ${modelChannels}-channel model can take (${modelChannels} colour channels, or ${modelChannels} channels in all)`, 'image.channels', imageChannels);
}

/**
 * Whether an RGB or RGBA image's three colour channels hold the same value at every pixel (of `rows` rows from row
 * `y0`; default all): a grey picture stored as colour (scans, grey JPEGs saved as RGB). Stops at the first pixel
 * that differs, so a colour photo costs a few samples. False for 1- and 2-channel images (they are grey already).
 */
export function hasEqualColourChannels(image: PixelImage, y0 = 0, rows = image.height - y0): boolean {
  const { data, channels } = image;
  if (channels < 3) return false;
  const end = (y0 + rows) * image.width * channels;
  for (let i = y0 * image.width * channels; i < end; i += channels) {
    const r = data[i];
    if (data[i + 1] !== r || data[i + 2] !== r) return false;
  }
  return true;
}

/**
 * Whether an image is grey: one or two channels (grey, grey and alpha), or colour channels equal everywhere;
 * `equalColourChannels`: {@link hasEqualColourChannels} of the image when the caller has it already.
 */
export function isGreyImage(image: PixelImage, equalColourChannels = hasEqualColourChannels(image)): boolean {
  return image.channels <= 2 || equalColourChannels;
}

/** Sets channels `fill` of every pixel (of `rows` rows from row `y0`; default all) equal to its channel 0 (see {@link ChannelPlan.fill}). */
export function fillFromFirstChannel(image: PixelImage, fill: readonly number[], y0 = 0, rows = image.height - y0): void {
  if (fill.length === 0) return;
  const { data, channels } = image;
  const end = (y0 + rows) * image.width * channels;
  for (let i = y0 * image.width * channels; i < end; i += channels) {
    for (const c of fill) data[i + c] = data[i]!;
  }
}

/** Number of output planes written back: one per destination channel. */
export function outputPlaneCount(plan: ChannelPlan): number {
  return plan.merge === 'mean' ? 1 : plan.planes.length;
}

/** A rectangle of an image: `width` x `height` pixels whose top-left corner is (x, y). */
export interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Writes a region of `image` as planar float32 into `out` at `offset` (HWC -> CHW, one plane per entry of
 * `planes`), mapping samples from [0, peak] onto the model's range.
 */
export function regionToPlanes(image: PixelImage, planes: readonly number[], region: Region, range: ValueRange, out: Float32Array, offset = 0): void {
  const { data, width: imageWidth, channels } = image;
  const scale = (range[1] - range[0]) / pixelPeak(data);
  const low = range[0];
  const rowLength = region.width;
  const planeSize = rowLength * region.height;
  if (channels === 1 && region.x === 0 && rowLength === imageWidth) {
    // Whole rows of a one-channel image are one contiguous run.
    const from = region.y * imageWidth;
    for (let p = 0; p < planes.length; p++) {
      const to = offset + p * planeSize;
      for (let n = 0; n < planeSize; n++) out[to + n] = data[from + n]! * scale + low;
    }
    return;
  }
  for (let p = 0; p < planes.length; p++) {
    const channel = planes[p]!;
    for (let y = 0; y < region.height; y++) {
      const from = ((region.y + y) * imageWidth + region.x) * channels + channel;
      const to = offset + p * planeSize + y * rowLength;
      if (channels === 1) {
        for (let x = 0; x < rowLength; x++) out[to + x] = data[from + x]! * scale + low;
      } else {
        for (let x = 0, i = from; x < rowLength; x++, i += channels) out[to + x] = data[i]! * scale + low;
      }
    }
  }
}

/**
 * Writes planar model values back into `image` (CHW -> HWC) for the rows of `planes` that start at image row
 * `y0`: values are mapped from the model's range to [0, peak], clamped, and rounded for integer pixels.
 * `planes` holds `outputChannels.length` planes of `rows` x image width, `planeStride` values apart (default:
 * packed, rows x width).
 */
export function planesToPixels(planes: Float32Array, outputChannels: readonly number[], y0: number, rows: number, range: ValueRange, image: PixelImage, planeStride = rows * image.width): void {
  const { data, width, channels } = image;
  const peak = pixelPeak(data);
  const scale = peak / (range[1] - range[0]);
  // Rounding to the nearest integer is floor(v + 0.5) once v is clamped to [0, peak]; floats keep v, and
  // Uint8ClampedArray rounds on assignment by itself.
  const half = data instanceof Float32Array || data instanceof Uint8ClampedArray ? 0 : 0.5;
  const offset = half - range[0] * scale;
  // Integer arrays truncate on assignment, so v + 0.5 clamped to [0, peak + 0.5] stores round(v) within [0, peak].
  // The clamp is written as two selects, which compile without branches (noisy images defeat branch prediction).
  const top = peak + half;
  const count = rows * width;
  const base = y0 * width * channels;
  for (let p = 0; p < outputChannels.length; p++) {
    const channel = outputChannels[p]!;
    const src = p * planeStride;
    if (channels === 1) {
      for (let n = 0; n < count; n++) {
        let v = planes[src + n]! * scale + offset;
        v = v > 0 ? v : 0;
        data[base + n] = v < top ? v : top;
      }
    } else {
      for (let n = 0, i = base + channel; n < count; n++, i += channels) {
        let v = planes[src + n]! * scale + offset;
        v = v > 0 ? v : 0;
        data[i] = v < top ? v : top;
      }
    }
  }
}

/**
 * Copies the listed channels of `from` into `to` (same size and channel count), in `rows` rows from row `y0`
 * (default all): alpha passes through untouched.
 */
export function copyChannels(from: PixelImage, to: PixelImage, channelList: readonly number[], y0 = 0, rows = from.height - y0): void {
  if (channelList.length === 0) return;
  const { channels } = from;
  const first = y0 * from.width;
  const count = rows * from.width;
  for (const c of channelList) {
    for (let n = 0, i = first * channels + c; n < count; n++, i += channels) to.data[i] = from.data[i]!;
  }
}

/** Colour samples of an image scaled to [0, 1] (alpha dropped), interleaved, for metrics. */
export function colourToUnit(image: PixelImage): { values: Float32Array; channels: number } {
  const colour = image.channels === 2 || image.channels === 4 ? image.channels - 1 : image.channels;
  const count = image.width * image.height;
  const values = new Float32Array(count * colour);
  const inv = 1 / pixelPeak(image.data);
  for (let n = 0; n < count; n++) {
    for (let c = 0; c < colour; c++) values[n * colour + c] = image.data[n * image.channels + c]! * inv;
  }
  return { values, channels: colour };
}
