// Small plain PNGs without sharp (fflate inflates, node:zlib deflates, rows filtered and stored data framed here): a folder of thumbnails costs per file what sharp's pipeline set-up costs, so they skip it; everything else goes through sharp.
import zlib, { deflateSync } from 'node:zlib';
import { unzlibSync } from 'fflate';
import type { PixelImage } from 'onnx-denoiser-common';
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
 * without the chunks in {@link SHARP_ONLY_CHUNKS}, every chunk whole up to IEND, and at most `maxPixels` pixels
 * (default FAST_PNG_MAX_PIXELS). Only such files are decoded here (here, or row by row in png-row-reader.ts); sharp
 * decodes them to the same samples (tested).
 */
export function plainPngHeader(bytes: Uint8Array, maxPixels = FAST_PNG_MAX_PIXELS): PlainPngHeader | undefined {
  if (bytes.length < 33 || bytes[0] !== 0x89 || bytes[1] !== 0x50 || bytes[2] !== 0x4e || bytes[3] !== 0x47) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // IHDR: width, height, bit depth, colour type, compression, filter, interlace (bytes 16 to 28).
  if (view.getUint32(12) !== 0x49484452) return undefined;
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const depth = bytes[24]!;
  const channels = ({ 0: 1, 4: 2, 2: 3, 6: 4 } as Record<number, 1 | 2 | 3 | 4>)[bytes[25]!];
  if (!channels || (depth !== 8 && depth !== 16) || bytes[28] !== 0 || width * height > maxPixels || width === 0 || height === 0) return undefined;
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

/**
 * Decodes a PNG that {@link plainPngHeader} accepted; throws on damaged image data (callers then let sharp say why).
 * fflate inflates the IDAT chunks into an array of exactly the size the header implies (a longer stream is refused
 * below, as is one whose Adler-32 does not match), and the rows' filters are undone here. fast-png took 35 us for a
 * 28x28 grey PNG in a warm loop and 130 to 150 us in the CLI's profile (its streaming inflater grows buffers per
 * file); node:zlib's inflateSync 25 to 30 in the CLI (its stream object); this about 10.
 */
export function decodePlainPng(bytes: Uint8Array, header: PlainPngHeader): FilePixels {
  const { width, height, depth, channels } = header;
  const pixelBytes = (channels * depth) / 8;
  const rowBytes = width * pixelBytes;
  const expected = height * (rowBytes + 1);
  const stream = imageData(bytes);
  if (stream.length < 6) throw new Error(`PNG image data of ${stream.length} bytes is no zlib stream`);
  const raw = unzlibSync(stream, { out: new Uint8Array(expected) });
  if (raw.length !== expected) throw new Error(`PNG image data holds ${raw.length} bytes where its header implies ${expected}`);
  const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  if (adler32(raw) !== view.getUint32(stream.length - 4)) throw new Error('PNG image data fails its Adler-32 check');
  const rows = unfilterRows(raw, height, rowBytes, pixelBytes);
  if (depth === 8) return { data: rows, width, height, channels } as FilePixels;
  // 16-bit samples are big-endian in the file.
  const data = new Uint16Array(rows.length / 2);
  for (let i = 0; i < data.length; i++) data[i] = (rows[2 * i]! << 8) | rows[2 * i + 1]!;
  return { data, width, height, channels } as FilePixels;
}

/** The IDAT chunks' data, joined (one chunk's is returned as a view, without a copy). */
function imageData(bytes: Uint8Array): Uint8Array {
  const parts = idatChunks(bytes);
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/** The data of each IDAT chunk of a PNG whose chunks run whole (see plainPngHeader), in order, as views. */
export function idatChunks(bytes: Uint8Array): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const parts: Uint8Array[] = [];
  for (let at = 8; at + 12 <= bytes.length; at += 12 + view.getUint32(at)) {
    // 0x49444154 is "IDAT".
    if (view.getUint32(at + 4) === 0x49444154) parts.push(bytes.subarray(at + 8, at + 8 + view.getUint32(at)));
  }
  return parts;
}

/**
 * Bytes per piece of a node:zlib stream's work on large PNGs: its output chunks, the row reader's writes, the row
 * writer's IDAT chunks. Each piece is a trip to the thread pool, which goes on to the next only from this thread's
 * event loop, held by a model run for tens of milliseconds: zlib's default 16 KB left the pool's thread idle most of
 * the time, and the 1,921 8 KB IDAT chunks of a 4096x4096 PNG written one by one took 210 to 300 ms to inflate.
 */
export const ZLIB_PIECE_BYTES = 1 << 20;

/**
 * Undoes PNG's row filters (PNG spec 9.2: 0 none, 1 sub, 2 up, 3 average, 4 Paeth) in `raw` (each row: its filter
 * byte, then `rowBytes` bytes), with `pixelBytes` the distance to the byte of the same sample one pixel left
 * (at least 1). Returns the rows without their filter bytes.
 */
export function unfilterRows(raw: Uint8Array, height: number, rowBytes: number, pixelBytes: number): Uint8Array {
  const out = new Uint8Array(height * rowBytes);
  for (let y = 0; y < height; y++) {
    const at = y * rowBytes;
    unfilterRow(raw, y * (rowBytes + 1), out, at, y > 0 ? out : undefined, at - rowBytes, rowBytes, pixelBytes, y);
  }
  return out;
}

/**
 * Undoes one row's filter: the filter byte at `raw[from]`, then `rowBytes` filtered bytes, written unfiltered to
 * `out` from `at`. `above` holds the unfiltered row above from `aboveAt` (undefined for the first row, whose row
 * above counts as 0); `pixelBytes` as for {@link unfilterRows}; `y` names the row in the error for a bad filter type.
 */
export function unfilterRow(raw: Uint8Array, from: number, out: Uint8Array, at: number, above: Uint8Array | undefined, aboveAt: number, rowBytes: number, pixelBytes: number, y: number): void {
  const filter = raw[from]!;
  const src = from + 1;
  const left = Math.min(rowBytes, Math.max(1, pixelBytes));
  // The first pixel's bytes have nothing on their left (0): each filter's loop starts past them, without a test per byte.
  switch (filter) {
    case 0:
      out.set(raw.subarray(src, src + rowBytes), at);
      break;
    case 1:
      out.set(raw.subarray(src, src + left), at);
      for (let x = left; x < rowBytes; x++) out[at + x] = raw[src + x]! + out[at + x - left]!;
      break;
    case 2:
      if (!above) out.set(raw.subarray(src, src + rowBytes), at);
      else for (let x = 0; x < rowBytes; x++) out[at + x] = raw[src + x]! + above[aboveAt + x]!;
      break;
    case 3:
      if (!above) {
        out.set(raw.subarray(src, src + left), at);
        for (let x = left; x < rowBytes; x++) out[at + x] = raw[src + x]! + (out[at + x - left]! >> 1);
        break;
      }
      for (let x = 0; x < left; x++) out[at + x] = raw[src + x]! + (above[aboveAt + x]! >> 1);
      for (let x = left; x < rowBytes; x++) out[at + x] = raw[src + x]! + ((out[at + x - left]! + above[aboveAt + x]!) >> 1);
      break;
    case 4:
      // With no row above, Paeth predicts from the left alone (as Sub); with no pixel on the left, from above alone.
      if (!above) {
        out.set(raw.subarray(src, src + left), at);
        for (let x = left; x < rowBytes; x++) out[at + x] = raw[src + x]! + out[at + x - left]!;
        break;
      }
      for (let x = 0; x < left; x++) out[at + x] = raw[src + x]! + above[aboveAt + x]!;
      for (let x = left; x < rowBytes; x++) {
        const a = out[at + x - left]!;
        const b = above[aboveAt + x]!;
        const c = above[aboveAt + x - left]!;
        let pa = b - c;
        let pb = a - c;
        let pc = pa + pb;
        pa = pa < 0 ? -pa : pa;
        pb = pb < 0 ? -pb : pb;
        pc = pc < 0 ? -pc : pc;
        out[at + x] = raw[src + x]! + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
      }
      break;
    default:
      throw new Error(`PNG row ${y} has filter type ${filter}; types 0 to 4 exist`);
  }
}

/** Whether pixels can be written by {@link encodePlainPng}: at most FAST_PNG_MAX_PIXELS. */
export function fitsFastPng(image: FilePixels): boolean {
  return image.width * image.height <= FAST_PNG_MAX_PIXELS;
}

/** PNG colour types by channel count: grey, grey + alpha, RGB, RGBA. */
const COLOUR_TYPES = [0, 4, 2, 6] as const;

/** A PNG's IHDR data: size, bit depth, colour type (compression, filter method and interlace 0). */
export function headerData(width: number, height: number, channels: number, depth: 8 | 16): Uint8Array {
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header[8] = depth;
  header[9] = COLOUR_TYPES[channels - 1]!;
  return header;
}

/** One PNG chunk: length, type, data, CRC-32 of type and data. */
export function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** A PNG's bytes besides its image data when that is stored: signature, IHDR, IDAT and IEND chunks, zlib's header and checksum, one stored block's header. */
const STORED_PNG_OVERHEAD = 8 + 25 + 12 + 12 + 6 + 5;

/**
 * Image data (filtered rows) up to this many bytes is stored, not compressed: the PNG then fits one 4 KiB
 * file-system block, which is what a compressed one takes on disk too. Compressing 2 KB cost 100 us per file in
 * node:zlib at any level (its set-up, not the matching: Huffman-only took 65), and even a stored stream through
 * node:zlib cost 50 (its stream object), against a few us framed here (see storedZlib); a 28x28 RGB output would
 * have shrunk from 2.4 to 2.0 KB.
 */
export const STORED_MAX_BYTES = 4096 - STORED_PNG_OVERHEAD;

/**
 * zlib level 4 (as the sharp path) with a window no larger than the data and a hash table to match, for image data
 * over {@link STORED_MAX_BYTES}. zlib's defaults (a 32 KB window, memory level 8) allocate about 256 KB per call,
 * whatever the data: a 28x28 PNG's compression took 112 us per file in the CLI's profile, against 64 to 76 us with
 * these (a folder of 28x28 PNGs, one profile each, on a noisy machine). The output stays within 2% of the defaults'
 * size (equal above 32 KB).
 */
export function deflateOptions(bytes: number): { level: number; windowBits: number; memLevel: number } {
  // zlib needs the window to hold the data plus its 262-byte lookahead to find every match it would find anyway.
  const windowBits = Math.min(15, Math.max(9, Math.ceil(Math.log2(bytes + 262))));
  return { level: 4, windowBits, memLevel: windowBits - 7 };
}

/** Most bytes in one stored deflate block (its length field has 16 bits). */
const STORED_BLOCK_BYTES = 65_535;

/**
 * `data` as a zlib stream (RFC 1950) of stored deflate blocks (RFC 1951, 3.2.4): the header 78 01 (deflate, 32 KB
 * window, no dictionary), blocks of a flag byte (1 on the last), LEN and its complement NLEN (little-endian) and
 * the bytes, then the Adler-32 of the data (big-endian).
 */
export function storedZlib(data: Uint8Array): Uint8Array {
  const blocks = Math.max(1, Math.ceil(data.length / STORED_BLOCK_BYTES));
  const out = new Uint8Array(2 + data.length + 5 * blocks + 4);
  const view = new DataView(out.buffer);
  out[0] = 0x78;
  out[1] = 0x01;
  let at = 2;
  for (let block = 0; block < blocks; block++) {
    const from = block * STORED_BLOCK_BYTES;
    const length = Math.min(STORED_BLOCK_BYTES, data.length - from);
    out[at] = block === blocks - 1 ? 1 : 0;
    view.setUint16(at + 1, length, true);
    view.setUint16(at + 3, length ^ 0xffff, true);
    out.set(data.subarray(from, from + length), at + 5);
    at += 5 + length;
  }
  view.setUint32(at, adler32(data));
  return out;
}

/** Adler-32 (RFC 1950): sums modulo 65521, reduced every 5552 bytes, the most that cannot overflow 32 bits. */
export function adler32(data: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (let from = 0; from < data.length; from += 5552) {
    const to = Math.min(data.length, from + 5552);
    for (let i = from; i < to; i++) {
      a += data[i]!;
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/**
 * Encodes pixels as a PNG (8 or 16 bits as the array, grey to RGBA as the channels): no row filter, zlib level 4 as
 * the sharp path (stored up to one file-system block, see {@link STORED_MAX_BYTES}). The compression is node:zlib's (native); a JS deflate took 70 to 150 us of a 28x28 file's time,
 * zlib about 10.
 */
export function encodePlainPng(image: FilePixels): Uint8Array {
  const { width, height, channels, data } = image;
  const sixteen = data instanceof Uint16Array;
  const rowBytes = width * channels * (sixteen ? 2 : 1);
  // Each row: filter byte 0 (none), then its bytes.
  const raw = new Uint8Array(height * (rowBytes + 1));
  for (let y = 0; y < height; y++) rowAsStored(image, y, raw, y * (rowBytes + 1) + 1);
  const parts = [PNG_SIGNATURE, chunk('IHDR', headerData(width, height, channels, sixteen ? 16 : 8)), chunk('IDAT', raw.length <= STORED_MAX_BYTES ? storedZlib(raw) : deflateSync(raw, { ...deflateOptions(raw.length), chunkSize: Math.max(64, raw.length + 64) })), chunk('IEND', new Uint8Array(0))];
  return Buffer.concat(parts);
}

/** Writes row `y` of `image` into `into` at `at` as a PNG stores it: samples in order, 16-bit ones big-endian. */
export function rowAsStored(image: PixelImage<Uint8Array | Uint16Array>, y: number, into: Uint8Array, at: number): void {
  const samples = image.width * image.channels;
  const from = y * samples;
  const { data } = image;
  if (!(data instanceof Uint16Array)) {
    into.set(data.subarray(from, from + samples), at);
    return;
  }
  for (let i = 0; i < samples; i++) {
    into[at + 2 * i] = data[from + i]! >> 8;
    into[at + 2 * i + 1] = data[from + i]! & 255;
  }
}

export const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

/** CRC-32 (ISO 3309, as PNG and zlib use), going on from `value` (the CRC of the bytes before): node:zlib's where Node has it (20.15 and later), else a table. */
export const crc32: (data: Uint8Array, value?: number) => number = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32 ?? tableCrc32;

let crcTable: Uint32Array | undefined;

/** @internal CRC-32 from a table, going on from `value`: the fallback, exported for its test. */
export function tableCrc32(data: Uint8Array, value = 0): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = (value ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]!) & 255]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
