// Small plain PNGs in JS (fast-png): a folder of thumbnails costs per file what sharp's pipeline set-up costs, so they skip it; everything else goes through sharp.
import { decode, encode } from 'fast-png';
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

/** Encodes pixels as a PNG (8 or 16 bits as the array, grey to RGBA as the channels), zlib level 4 as the sharp path. */
export function encodePlainPng(image: FilePixels): Uint8Array {
  const depth = image.data instanceof Uint16Array ? 16 : 8;
  return encode({ width: image.width, height: image.height, data: image.data, channels: image.channels, depth }, { zlib: { level: 4 } });
}
