// Image files through sharp (small plain PNGs through png-fast.ts): PNG, JPEG, WebP, TIFF, AVIF, GIF in (8/16-bit, grey or RGB, alpha, EXIF orientation, ICC kept) and out by extension.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Metadata, OutputInfo, Sharp } from 'sharp';
import { type PixelImage, checkInteger, fileErrorReason, invalid, ValidationError } from 'onnx-denoiser-common';
import { decodePlainPng, encodePlainPng, FAST_PNG_MAX_PIXELS, fitsFastPng, plainPngHeader, PNG_SIGNATURE } from './png-fast.js';
import { PngRowReader } from './png-row-reader.js';
import { PngRowWriter } from './png-rows.js';

/** Pixels as files hold them: 8-bit or 16-bit samples. */
export type FilePixels = PixelImage<Uint8Array> | PixelImage<Uint16Array>;

/** Output extension -> sharp format. */
export const OUTPUT_FORMATS: Readonly<Record<string, 'png' | 'jpeg' | 'webp' | 'tiff' | 'avif' | 'gif'>> = Object.freeze({
  '.png': 'png',
  '.jpg': 'jpeg',
  '.jpeg': 'jpeg',
  '.webp': 'webp',
  '.tif': 'tiff',
  '.tiff': 'tiff',
  '.avif': 'avif',
  '.gif': 'gif',
});

/** Extensions of files a folder input contributes. */
export const IMAGE_EXTENSIONS: readonly string[] = Object.freeze(Object.keys(OUTPUT_FORMATS));

/**
 * Default pixel limit for one image: 100 megapixels. What an image near it costs (measured with the CLI on 81 MP):
 * about 5.5 MB of memory per megapixel for 8-bit grey and 12 MB for 8-bit RGB (0.45 and 1 GB), per file in flight.
 */
export const DEFAULT_MAX_PIXELS = 100_000_000;

/** The largest pixel limit sharp takes (Number.MAX_SAFE_INTEGER). */
export const MAX_PIXEL_LIMIT = Number.MAX_SAFE_INTEGER;

/** Bytes read to recognise a format before anything else is read. */
const HEAD_BYTES = 4096;

/**
 * The format sharp would decode, recognised from a file's first bytes (PNG, JPEG, GIF, WebP, TIFF, HEIF/AVIF, SVG
 * and gzipped SVG), or undefined: then the file is refused before it is read whole (a 1.5 GB non-image would
 * otherwise be loaded into memory first).
 */
export function sniffImageFormat(head: Uint8Array): string | undefined {
  const ascii = (from: number, to: number) => String.fromCharCode(...head.subarray(from, to));
  const starts = (...bytes: number[]) => bytes.every((b, i) => head[i] === b);
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'png';
  if (starts(0xff, 0xd8, 0xff)) return 'jpeg';
  if (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a') return 'gif';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  if (starts(0x49, 0x49, 0x2a, 0x00) || starts(0x4d, 0x4d, 0x00, 0x2a) || starts(0x49, 0x49, 0x2b, 0x00) || starts(0x4d, 0x4d, 0x00, 0x2b)) return 'tiff';
  if (ascii(4, 8) === 'ftyp') return 'heif';
  if (starts(0x1f, 0x8b)) return 'svgz';
  // SVG is text: a UTF-8 byte-order mark and white space, then markup.
  let at = starts(0xef, 0xbb, 0xbf) ? 3 : 0;
  while (at < head.length && (head[at] === 0x20 || head[at] === 0x09 || head[at] === 0x0a || head[at] === 0x0d)) at++;
  if (head[at] === 0x3c && /<svg[\s>]/i.test(new TextDecoder('utf-8', { fatal: false }).decode(head))) return 'svg';
  return undefined;
}

/** Files up to this size are read whole at once (one open, stat, read and close); larger ones by their head first. */
const WHOLE_READ_BYTES = 1 << 20;

/**
 * Opens a file once: its size, its first bytes, and all of it when it is small. Throws ImageFileError-ready
 * reasons through `fail` for a folder or an empty file. The calls are synchronous: they read at most
 * WHOLE_READ_BYTES, which takes microseconds, while a round trip through libuv's thread pool per call cost more
 * than the reading itself for a folder of small files (a larger file's body is read asynchronously later).
 */
function openImageFile(file: string, fail: (why: string) => ImageFileError): { head: Uint8Array; bytes: Buffer | undefined } {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    throw fail(fileErrorReason(error));
  }
  try {
    const info = fstatSync(fd);
    if (info.isDirectory()) throw fail('is a folder, not an image file');
    if (info.size === 0) throw fail('empty file (0 bytes), not an image');
    if (info.size <= WHOLE_READ_BYTES) {
      // One read of the size fstat gave; a file that changed meanwhile is read by sharp's path below.
      const bytes = Buffer.allocUnsafe(info.size);
      const bytesRead = readSync(fd, bytes, 0, info.size, 0);
      if (bytesRead === info.size) return { head: bytes.subarray(0, HEAD_BYTES), bytes };
      return { head: bytes.subarray(0, Math.min(bytesRead, HEAD_BYTES)), bytes: undefined };
    }
    const buffer = new Uint8Array(HEAD_BYTES);
    const bytesRead = readSync(fd, buffer, 0, HEAD_BYTES, 0);
    return { head: buffer.subarray(0, bytesRead), bytes: undefined };
  } catch (error) {
    if (error instanceof ImageFileError) throw error;
    throw fail(fileErrorReason(error));
  } finally {
    closeSync(fd);
  }
}

/** The whole file, or `fail` with why it cannot be read. */
async function readWhole(file: string, fail: (why: string) => ImageFileError): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    throw fail((error as Error).message);
  }
}

/** Thrown for an image file that cannot be read, is not an image, or is too large; `argument` is the file. */
export class ImageFileError extends ValidationError {
  override name = 'ImageFileError';
}

/** A decoded image file. */
export interface LoadedImage {
  file: string;
  /** Pixels after EXIF orientation; grey stays 1 channel (+ alpha), colour is RGB (+ alpha). */
  image: FilePixels;
  /** The container format sharp detected (png, jpeg, webp, tiff, heif, gif). */
  format: string;
  bitDepth: 8 | 16;
  /** The embedded ICC profile, when there is one (pixels are then left in that profile's space). */
  icc: Buffer | undefined;
  /** Pages (frames) in the file; only the first is read. */
  pages: number;
  /**
   * Only from a read with {@link ReadOptions.rowsAsDecoded}: the image's rows are still being decoded into `image`,
   * top to bottom. `waitForRows(end)` resolves once rows 0 to end - 1 are in; `done` once all are and the data's
   * checksum matched. Both reject with an ImageFileError naming the file for damaged data.
   */
  decoding?: { waitForRows: (end: number) => Promise<void>; done: Promise<void> };
}

/** Options for {@link readImage}. */
export interface ReadOptions {
  /** Refuse images with more pixels than this (default {@link DEFAULT_MAX_PIXELS}). */
  maxPixels?: number;
  /** Name of the flag or option that raises the limit, for the message (default "maxPixels"). */
  limitName?: string;
  /** Force grey (true) or RGB (false) instead of the file's own: to read a reference like the image it is compared with. */
  grey?: boolean;
  /**
   * Called with the image's pixel count (and its width, height and channels as the header says) once its header passed the limit, before any
   * pixel is decoded; decoding waits for it (the CLI holds many small files back there while large ones are in
   * flight, see PixelBudget, and gets the denoiser ready for the image's size).
   */
  beforeDecode?: (pixels: number, size: { width: number; height: number; channels: number | undefined }) => void | Promise<void>;
  /**
   * Return a large plain PNG (over 256x256: 8 or 16 bits, not interlaced, no ICC profile, transparency key or EXIF)
   * as soon as its decoding has started: `LoadedImage.decoding` says which rows are in. Others are read whole.
   */
  rowsAsDecoded?: boolean;
}

function megapixels(pixels: number): string {
  return `${(pixels / 1e6).toFixed(pixels < 1e7 ? 2 : 1)} MP`;
}

const NOT_AN_IMAGE = 'not an image in a format sharp reads (PNG, JPEG, WebP, TIFF, AVIF, GIF)';

function sharpReason(error: unknown): string {
  const message = ((error as Error).message ?? String(error)).trim();
  if (/unsupported image format/i.test(message)) return NOT_AN_IMAGE;
  if (/premature end|truncated|unexpected end|end of (file|stream)|not enough data|incomplete|corrupt|bad seek|not defined/i.test(message)) return `truncated or damaged image data (${message.split('\n')[0]})`;
  return message.split('\n')[0]!;
}

/**
 * Runs a sharp call, and again (up to twice) while it fails with an empty or "Unknown error" message: libvips keeps
 * one error buffer for all its threads, so when several files fail at once one failure's message can be taken by
 * another. Running the call again recovers the real cause; any other failure is thrown at once.
 */
async function retryLostSharpError<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (attempt >= 2 || !/^(unknown error)?$/i.test(((error as Error).message ?? '').trim())) throw error;
    }
  }
}

/**
 * Why a PNG file is incomplete, or undefined when its chunks run whole up to IEND (or it is no PNG). libvips
 * decodes a PNG cut inside its image data without complaint, so the chunk structure is checked here.
 */
export function pngDamage(bytes: Uint8Array): string | undefined {
  if (bytes.length < 8 || PNG_SIGNATURE.some((byte, i) => bytes[i] !== byte)) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 8;
  while (at + 12 <= bytes.length) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (at + 12 + length > bytes.length) return `PNG chunk ${type} at byte ${at} holds ${length} bytes but the file ends ${Math.max(0, bytes.length - at - 8)} bytes into it`;
    if (type === 'IEND') return undefined;
    at += 12 + length;
  }
  return `PNG ends after ${bytes.length} bytes without its IEND chunk`;
}

let sharpModule: Promise<typeof import('sharp').default> | undefined;

/**
 * sharp, loaded on first use: about 0.15 s of start-up that a folder of small plain PNGs (png-fast.ts) never needs.
 * Every other read and write awaits it once.
 */
export function loadSharp(): Promise<typeof import('sharp').default> {
  return (sharpModule ??= import('sharp').then((m) => m.default));
}

const inputOptions = (maxPixels: number) => ({ failOn: 'error' as const, limitInputPixels: maxPixels, autoOrient: true, pages: 1 });

/**
 * Reads an image file into pixels: EXIF orientation applied, the first frame of animations, 16-bit kept
 * (PNG, TIFF), grey kept as 1 channel, CMYK converted to sRGB, alpha kept. Pixels stay in the file's own colour
 * space when it embeds an ICC profile (nothing is converted), so writing them back with the profile is exact.
 * @throws ImageFileError naming the file: missing, a folder, empty, not an image, truncated, over the pixel limit.
 */
export async function readImage(file: string, options: ReadOptions = {}): Promise<LoadedImage> {
  const maxPixels = checkInteger(options.maxPixels ?? DEFAULT_MAX_PIXELS, options.limitName ?? 'maxPixels', { min: 1, max: MAX_PIXEL_LIMIT });
  const fail = (why: string) => new ImageFileError(`${file}: ${why}`, file);
  const opened = openImageFile(file, fail);
  // Cheap checks first, on the file's first bytes and its header: the format, then the size against the limit.
  const sniffed = sniffImageFormat(opened.head);
  if (!sniffed) throw fail(NOT_AN_IMAGE);
  const limitText = (width: number, height: number) =>
    `${width}x${height} is ${megapixels(width * height)}, over the limit of ${megapixels(maxPixels)} (${maxPixels} pixels); raise it with ${options.limitName ?? 'maxPixels'}`;
  // A plain PNG is decoded here: a small one at once, a large one (asked for so) row by row, read whole for that.
  const rowByRow = options.rowsAsDecoded === true && options.grey === undefined && sniffed === 'png';
  if (rowByRow) opened.bytes ??= await readWhole(file, fail);
  const plain = opened.bytes && options.grey === undefined ? plainPngHeader(opened.bytes, rowByRow ? Number.MAX_SAFE_INTEGER : FAST_PNG_MAX_PIXELS) : undefined;
  if (plain && opened.bytes) {
    const pixels = plain.width * plain.height;
    if (pixels > maxPixels) throw fail(limitText(plain.width, plain.height));
    await options.beforeDecode?.(pixels, { width: plain.width, height: plain.height, channels: plain.channels });
    if (pixels > FAST_PNG_MAX_PIXELS) {
      const reader = new PngRowReader(opened.bytes, plain, (why) => fail(`truncated or damaged image data (${why})`));
      return { file, image: reader.image, format: 'png', bitDepth: plain.depth, icc: undefined, pages: 1, decoding: reader };
    }
    try {
      const image = decodePlainPng(opened.bytes, plain);
      return { file, image, format: 'png', bitDepth: plain.depth, icc: undefined, pages: 1 };
    } catch {
      // Damaged data: sharp's path below says why, as for any other file.
    }
  }
  const sharp = await loadSharp();
  let meta: Metadata;
  try {
    meta = await retryLostSharpError(() => sharp(opened.bytes ?? file, inputOptions(0)).metadata());
  } catch (error) {
    throw fail(sharpReason(error));
  }
  const width = meta.autoOrient?.width ?? meta.width ?? 0;
  const height = meta.autoOrient?.height ?? meta.pageHeight ?? meta.height ?? 0;
  if (width * height > maxPixels) throw fail(limitText(width, height));
  // A plain PNG that failed to decode above has been admitted already.
  if (!plain) await options.beforeDecode?.(width * height, { width, height, channels: meta.channels });
  const bytes = opened.bytes ?? (await readWhole(file, fail));
  const damage = pngDamage(bytes);
  if (damage) throw fail(`truncated or damaged image data (${damage})`);
  const sixteen = meta.depth !== undefined && meta.depth !== 'uchar' && meta.depth !== 'char';
  const grey = options.grey ?? (meta.space === 'b-w' || meta.space === 'grey16');
  const icc = meta.space !== 'cmyk' && meta.icc ? Buffer.from(meta.icc) : undefined;
  let pipeline = sharp(bytes, inputOptions(maxPixels));
  if (icc) pipeline = pipeline.keepIccProfile();
  // sharp's raw output keeps only the first band of 8-bit 'b-w': grey + alpha is read as RGBA and narrowed below.
  const greyAlpha8 = grey && !sixteen && meta.hasAlpha === true;
  pipeline = pipeline.toColourspace(grey && !greyAlpha8 ? (sixteen ? 'grey16' : 'b-w') : sixteen ? 'rgb16' : 'srgb');
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    decoded = await retryLostSharpError(() => (sixteen ? pipeline.clone().raw({ depth: 'ushort' }) : pipeline.clone().raw()).toBuffer({ resolveWithObject: true }));
  } catch (error) {
    throw fail(sharpReason(error));
  }
  const { data, info } = decoded;
  let pixels: Uint8Array | Uint16Array = sixteen
    ? new Uint16Array(data.buffer, data.byteOffset, data.length / 2).slice()
    : new Uint8Array(data.buffer, data.byteOffset, data.length);
  let channels = info.channels;
  if (greyAlpha8 && channels === 4) {
    const count = info.width * info.height;
    const narrowed = new Uint8Array(count * 2);
    for (let n = 0; n < count; n++) {
      narrowed[2 * n] = pixels[4 * n]!;
      narrowed[2 * n + 1] = pixels[4 * n + 3]!;
    }
    pixels = narrowed;
    channels = 2;
  }
  return {
    file,
    image: { data: pixels, width: info.width, height: info.height, channels } as FilePixels,
    format: meta.format ?? 'unknown',
    bitDepth: sixteen ? 16 : 8,
    icc,
    pages: meta.pages ?? 1,
  };
}

/** The sharp format an output path asks for, or a ValidationError listing the supported extensions. */
export function outputFormat(file: string, argument = 'output'): (typeof OUTPUT_FORMATS)[string] {
  const ext = path.extname(file).toLowerCase();
  const format = OUTPUT_FORMATS[ext];
  if (!format) {
    throw invalid(`an output file ending in ${IMAGE_EXTENSIONS.join(', ')}`, argument, file);
  }
  return format;
}

/** Whether a format stores 16-bit samples. */
export function keeps16Bit(format: string): boolean {
  return format === 'png' || format === 'tiff';
}

/** 16-bit pixels rounded to 8-bit. */
export function to8Bit(image: FilePixels): PixelImage<Uint8Array> {
  if (image.data instanceof Uint8Array) return image as PixelImage<Uint8Array>;
  const out = new Uint8Array(image.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(image.data[i]! / 257);
  return { ...image, data: out };
}

function formatOptions(pipeline: Sharp, format: (typeof OUTPUT_FORMATS)[string]): Sharp {
  switch (format) {
    case 'png':
      // zlib level 4: about half the time of the default 6 for files about 5% larger.
      return pipeline.png({ compressionLevel: 4 });
    case 'jpeg':
      return pipeline.jpeg({ quality: 95, chromaSubsampling: '4:4:4' });
    case 'webp':
      return pipeline.webp({ quality: 95 });
    case 'tiff':
      return pipeline.tiff({ compression: 'deflate', predictor: 'horizontal' });
    case 'avif':
      return pipeline.avif({ quality: 80 });
    case 'gif':
      return pipeline.gif();
  }
}

/** Options for {@link encodeImage}. */
export interface EncodeOptions {
  /**
   * The file the pixels were read from, when it embeds an ICC profile: the profile is carried over without a
   * colour conversion (the output is written as that file XOR a difference image, so pixels stay exact).
   */
  original?: LoadedImage;
}

/** Whether an output keeps the original file's ICC profile (then sharp writes it: see {@link EncodeOptions.original}). */
function keepsProfile(image: FilePixels, original: LoadedImage | undefined): original is LoadedImage {
  return original?.icc !== undefined && original.image.data.constructor === image.data.constructor && original.image.channels === image.channels;
}

/**
 * Whether {@link encodeImage} writes `image` with a PngRowWriter (png-rows.ts): a PNG over FAST_PNG_MAX_PIXELS that
 * keeps no ICC profile. Such a file can also be written row band by row band while it is denoised, to the same bytes.
 */
export function writesPngRows(image: FilePixels, outputFile: string, original?: LoadedImage): boolean {
  return outputFormat(outputFile) === 'png' && !fitsFastPng(image) && !keepsProfile(image, original);
}

/**
 * Encodes pixels in the format the output path's extension names. 16-bit is kept for PNG and TIFF, other formats
 * get 8-bit; grey stays grey where the format has it (WebP and AVIF store grey as RGB, GIF as a palette). PNGs are
 * written here (small ones stored or node:zlib-compressed, larger ones Up-filtered: see PngRowWriter) unless they
 * keep an ICC profile.
 */
export async function encodeImage(image: FilePixels, outputFile: string, options: EncodeOptions = {}): Promise<Buffer> {
  const format = outputFormat(outputFile);
  const sixteen = image.data instanceof Uint16Array && keeps16Bit(format);
  const pixels: FilePixels = sixteen ? image : to8Bit(image);
  const grey = pixels.channels <= 2;
  const space = grey ? (sixteen ? 'grey16' : 'b-w') : sixteen ? 'rgb16' : 'srgb';
  const raw = { width: pixels.width, height: pixels.height, channels: pixels.channels as 1 | 2 | 3 | 4 };
  const original = options.original;
  // Small plain PNGs skip sharp's pipeline set-up (and its loading), which would cost more than the encoding.
  if (format === 'png' && fitsFastPng(pixels) && !keepsProfile(image, original)) {
    const png = encodePlainPng(pixels);
    return Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  }
  // Larger ones are filtered here: a third smaller than sharp writes them unfiltered (see PngRowWriter).
  if (writesPngRows(pixels, outputFile, original)) {
    const writer = new PngRowWriter(pixels.width, pixels.height, raw.channels, sixteen ? 16 : 8);
    writer.push(pixels as PixelImage<Uint8Array | Uint16Array>, 0, pixels.height);
    return writer.finish();
  }
  const sharp = await loadSharp();
  let pipeline: Sharp;
  if (keepsProfile(image, original)) {
    // sharp attaches a profile only with a conversion, or by keeping the input's: so keep the original file's and
    // turn its pixels into ours with an exact bitwise XOR (original ^ (original ^ ours) = ours).
    const difference = new (image.data.constructor as Uint8ArrayConstructor | Uint16ArrayConstructor)(image.data.length);
    for (let i = 0; i < difference.length; i++) difference[i] = image.data[i]! ^ original.image.data[i]!;
    const originalSpace = original.image.channels <= 2 ? (original.bitDepth === 16 ? 'grey16' : 'b-w') : original.bitDepth === 16 ? 'rgb16' : 'srgb';
    pipeline = sharp(original.file, inputOptions(0))
      .keepIccProfile()
      .toColourspace(originalSpace)
      .boolean(difference as unknown as Buffer, 'eor', { raw }) // sharp reads the depth from the array type
      .toColourspace(space);
  } else {
    pipeline = sharp(pixels.data as Uint8Array, { raw }).toColourspace(space);
  }
  return formatOptions(pipeline, format).toBuffer();
}
