// PNGs made by hand for the decoder tests: seeded samples, rows filtered straight from the spec, chunks framed without CRCs.
import { deflateSync } from 'node:zlib';
import { Rng } from '../../runtime-common/rng.js';

/** Seeded samples of an image: 8-bit or 16-bit. */
export function samples(count: number, sixteen: boolean, seed: number): Uint8Array | Uint16Array {
  const rng = new Rng(seed);
  return sixteen ? Uint16Array.from({ length: count }, () => Math.floor(rng.nextFloat() * 65536)) : Uint8Array.from({ length: count }, () => Math.floor(rng.nextFloat() * 256));
}

/** A hand-made PNG: the signature, chunks with CRCs left 0 (neither the header check nor the decoder reads them), a blank image unless told otherwise. */
export function chunkedPng(ihdr: { width: number; height: number; depth: number; colourType: number; interlace?: number }, extra: [string, Uint8Array][] = [], blankImage = true): Uint8Array {
  const chunk = (type: string, body: Uint8Array) => {
    const out = new Uint8Array(12 + body.length);
    new DataView(out.buffer).setUint32(0, body.length);
    out.set(new TextEncoder().encode(type), 4);
    out.set(body, 8);
    return out;
  };
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, ihdr.width);
  view.setUint32(4, ihdr.height);
  header.set([ihdr.depth, ihdr.colourType, 0, 0, ihdr.interlace ?? 0], 8);
  const parts = [new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), ...extra.map(([t, b]) => chunk(t, b)), ...(blankImage ? [chunk('IDAT', deflateSync(new Uint8Array(ihdr.height * (ihdr.width + 1))))] : []), chunk('IEND', new Uint8Array(0))];
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.length;
  }
  return all;
}

/**
 * PNG's row filter `type` applied to `rows` (height rows of rowBytes), straight from the spec's definitions (9.2),
 * one byte at a time: the reference the decoder's unfiltering is checked against.
 */
export function filterRows(rows: Uint8Array, height: number, rowBytes: number, bpp: number, type: (y: number) => number): Uint8Array {
  const at = (x: number, y: number) => (x < 0 || y < 0 ? 0 : rows[y * rowBytes + x]!);
  const out = new Uint8Array(height * (rowBytes + 1));
  for (let y = 0; y < height; y++) {
    out[y * (rowBytes + 1)] = type(y);
    for (let x = 0; x < rowBytes; x++) {
      const [raw, a, b, c] = [at(x, y), at(x - bpp, y), at(x, y - 1), at(x - bpp, y - 1)];
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      const predicted = [0, a, b, Math.floor((a + b) / 2), paeth][type(y)]!;
      out[y * (rowBytes + 1) + 1 + x] = (raw - predicted + 256) % 256;
    }
  }
  return out;
}
