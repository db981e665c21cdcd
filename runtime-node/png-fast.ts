// Small plain PNGs without sharp (fast-png decodes, node:zlib compresses): a folder of thumbnails costs per file what sharp's pipeline set-up costs, so they skip it; everything else goes through sharp.
import zlib, { deflateSync } from 'node:zlib';
import { decode } from 'fast-png';
import type { FilePixels } from './image-file.js';

/** The most pixels a PNG may have to take the fast path (256 x 256): above it sharp's threaded codec is faster. */
export const FAST_PNG_MAX_PIXELS = 65_536;

/** Chunks whose meaning the fast path would lose (transparency key, ICC profile, EXIF orientation, animation, significant bits): such files go through sharp. */
const SHARP_ONLY_CHUNKS = new Set(['tRNS', 'iCCP', 'eXIf', 'acTL', 'sBIT']);

/** What a plain PNG's header says. */
export interface PlainPngHeader {
  width: number;
  height: number;
  depth: 8 | 16;
  channels: 1 | 2 | 3 | 4;
}

/**
 * The header of a "plain" PNG, or undefined: grey, grey + alpha, RGB or RGBA at 8 or 16 bits, not interlaced,
 * without the chunks in {@link SHARP_ONLY_CHUNKS}, every chunk whole up to IEND, and at most FAST_PNG_MAX_PIXELS.
 * Only such files are decoded here; sharp decodes them to the same samples (tested).
 */
export function plainPngHeader(bytes: Uint8Array): PlainPngHeader | undefined {
  if (bytes.length < 33 || bytes[0] !== 0x89 || bytes[1] !== 0x50 || bytes[2] !== 0x4e || bytes[3] !== 0x47) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // IHDR: width, height, bit depth, colour type, compression, filter, interlace (bytes 16 to 28).
  if (view.getUint32(12) !== 0x49484452) return undefined;
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const depth = bytes[24]!;
  const channels = ({ 0: 1, 4: 2, 2: 3, 6: 4 } as Record<number, 1 | 2 | 3 | 4>)[bytes[25]!];
  if (!channels || (depth !== 8 && depth !== 16) || bytes[28] !== 0 || width * height > FAST_PNG_MAX_PIXELS || width === 0 || height === 0) return undefined;
  let at = 8;
  while (at + 12 <= bytes.length) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(bytes[at + 4]!, bytes[at + 5]!, bytes[at + 6]!, bytes[at + 7]!);
    if (at + 12 + length > bytes.length || SHARP_ONLY_CHUNKS.has(type)) return undefined;
    if (type === 'IEND') return { width, height, depth, channels };
    at += 12 + length;
  }
  return undefined;
}

/** Decodes a PNG that {@link plainPngHeader} accepted; throws on damaged image data (callers then let sharp say why). */
export function decodePlainPng(bytes: Uint8Array, header: PlainPngHeader): FilePixels {
  const png = decode(bytes);
  const size = header.width * header.height * header.channels;
  if (png.width !== header.width || png.height !== header.height || png.channels !== header.channels || png.data.length !== size) throw new Error('PNG decoded to another size than its header states');
  const data = header.depth === 16 ? (png.data instanceof Uint16Array ? png.data : Uint16Array.from(png.data)) : png.data instanceof Uint8Array ? png.data : new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length);
  return { data, width: png.width, height: png.height, channels: png.channels } as FilePixels;
}

/** Whether pixels can be written by {@link encodePlainPng}: at most FAST_PNG_MAX_PIXELS. */
export function fitsFastPng(image: FilePixels): boolean {
  return image.width * image.height <= FAST_PNG_MAX_PIXELS;
}

/** PNG colour types by channel count: grey, grey + alpha, RGB, RGBA. */
const COLOUR_TYPES = [0, 4, 2, 6] as const;

/** One PNG chunk: length, type, data, CRC-32 of type and data. */
function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/**
 * zlib level 4 (as the sharp path) with a window no larger than the data and a hash table to match. zlib's defaults
 * (a 32 KB window, memory level 8) allocate about 256 KB per call, whatever the data: a 28x28 PNG's compression took
 * 112 us per file in the CLI's profile, against 64 to 76 us with these (a folder of 28x28 PNGs, one profile each, on
 * a noisy machine). The output stays within 2% of the defaults' size (equal for 28x28 images and above 32 KB).
 */
export function deflateOptions(bytes: number): { level: number; windowBits: number; memLevel: number } {
  // zlib needs the window to hold the data plus its 262-byte lookahead to find every match it would find anyway.
  const windowBits = Math.min(15, Math.max(9, Math.ceil(Math.log2(bytes + 262))));
  return { level: 4, windowBits, memLevel: windowBits - 7 };
}

/**
 * Encodes pixels as a PNG (8 or 16 bits as the array, grey to RGBA as the channels): no row filter, zlib level 4 as
 * the sharp path. The compression is node:zlib's (native); a JS deflate took 70 to 150 us of a 28x28 file's time,
 * zlib about 10.
 */
export function encodePlainPng(image: FilePixels): Uint8Array {
  const { width, height, channels, data } = image;
  const sixteen = data instanceof Uint16Array;
  const rowBytes = width * channels * (sixteen ? 2 : 1);
  // Each row: filter byte 0 (none), then its samples (16-bit ones big-endian).
  const raw = new Uint8Array(height * (rowBytes + 1));
  for (let y = 0; y < height; y++) {
    const at = y * (rowBytes + 1) + 1;
    if (!sixteen) raw.set(data.subarray(y * width * channels, (y + 1) * width * channels), at);
    else for (let i = 0, from = y * width * channels; i < width * channels; i++) {
      raw[at + 2 * i] = data[from + i]! >> 8;
      raw[at + 2 * i + 1] = data[from + i]! & 255;
    }
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header[8] = sixteen ? 16 : 8;
  header[9] = COLOUR_TYPES[channels - 1]!;
  const parts = [PNG_SIGNATURE, chunk('IHDR', header), chunk('IDAT', deflateSync(raw, deflateOptions(raw.length))), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

/** CRC-32 (ISO 3309, as PNG and zlib use): node:zlib's where Node has it (20.15 and later), else a table. */
const crc32: (data: Uint8Array) => number = (zlib as { crc32?: (data: Uint8Array) => number }).crc32 ?? tableCrc32;

let crcTable: Uint32Array | undefined;

/** @internal CRC-32 from a table: the fallback, exported for its test. */
export function tableCrc32(data: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]!) & 255]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
