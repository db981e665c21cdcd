// Tiling for any image size in bounded memory: aligned overlapping tiles, linear blending ramps, and the receptive field type that sizes the overlap.
import { check, checkInteger } from './validate.js';

/** A tile's extent along one axis: `[start, end)`. */
export interface Span {
  start: number;
  end: number;
}

/** Options for {@link planAxis}. */
export interface AxisOptions {
  /** Target tile length: tiles are at most this plus the overlap (rounded up to `align`). */
  tile: number;
  /** Minimum overlap between neighbouring tiles. */
  overlap: number;
  /** Tile starts are multiples of this (the network's total stride) so every tile sees the same stride phase. */
  align: number;
}

const alignDown = (value: number, align: number) => Math.floor(value / align) * align;
const alignUp = (value: number, align: number) => Math.ceil(value / align) * align;

/**
 * Splits `[0, length)` into as few overlapping tiles as `tile` allows, spread evenly: n = ceil((length - overlap) /
 * tile) tiles of one common extent (about length / n plus the overlap, a multiple of `align`), every start a
 * multiple of `align`, neighbours overlapping by at least `overlap`, the last ending at `length` (it may be up to
 * `align - 1` longer). One tile when `length <= tile + overlap`.
 */
export function planAxis(length: number, { tile, overlap, align }: AxisOptions): Span[] {
  checkInteger(length, 'length', { min: 1 });
  checkInteger(align, 'align', { min: 1 });
  checkInteger(overlap, 'overlap', { min: 0 });
  checkInteger(tile, 'tile', { min: overlap + align });
  const count = Math.max(1, Math.ceil((length - overlap) / tile));
  if (count === 1) return [{ start: 0, end: length }];
  // Aligning starts down can widen a gap by align - 1: the extent leaves room for that on top of the overlap.
  const extent = Math.min(alignUp(Math.ceil((length + (count - 1) * (overlap + align - 1)) / count), align), alignDown(length, align));
  const last = alignDown(length - extent, align);
  const spans: Span[] = [];
  for (let i = 0; i < count; i++) {
    const start = i === count - 1 ? last : alignDown(Math.round((i * (length - extent)) / (count - 1)), align);
    // Aligning down can repeat a start; the later tile (the last one ends at `length`) replaces the earlier.
    while (spans.length && start <= spans[spans.length - 1]!.start) spans.pop();
    spans.push({ start, end: i === count - 1 ? length : start + extent });
  }
  return spans;
}

/**
 * Blending weights along one axis, one array per tile (indexed from the tile's start). Where two tiles overlap,
 * each ignores `margin` pixels at its inner edge (where its output sees the tile border instead of the image) and
 * the two cross-fade with complementary linear ramps over the rest; outer image edges keep full weight. The
 * weights of all tiles sum to 1 at every position.
 */
export function blendWeights(spans: readonly Span[], margin: number): Float32Array[] {
  checkInteger(margin, 'margin', { min: 0 });
  const weights = spans.map((s) => new Float32Array(s.end - s.start).fill(1));
  for (let t = 0; t + 1 < spans.length; t++) {
    const a = spans[t]!;
    const b = spans[t + 1]!;
    const overlap = a.end - b.start;
    check(overlap >= 1, 'overlapping tiles', `tiles ${t} and ${t + 1}`, overlap);
    const m = Math.min(margin, Math.floor((overlap - 1) / 2));
    const ramp = overlap - 2 * m;
    for (let x = b.start; x < a.end; x++) {
      // b rises from 0 to 1 across [b.start + m, a.end - m); a falls so that the two always sum to 1.
      const rise = Math.min(1, Math.max(0, (x - b.start - m + 0.5) / ramp));
      weights[t + 1]![x - b.start]! *= rise;
      weights[t]![x - a.start]! *= 1 - rise;
    }
  }
  // Renormalise (a no-op for the plans above, but it keeps any plan's weights a partition of unity).
  const length = spans[spans.length - 1]!.end;
  const sum = new Float64Array(length);
  spans.forEach((s, t) => weights[t]!.forEach((w, i) => (sum[s.start + i]! += w)));
  spans.forEach((s, t) => {
    const w = weights[t]!;
    for (let i = 0; i < w.length; i++) w[i] = sum[s.start + i]! > 0 ? w[i]! / sum[s.start + i]! : 0;
  });
  return weights;
}

/** Where an output pixel's inputs lie, in input pixels relative to it: `[low, high]` on either axis. */
export interface ReceptiveField {
  /** Most negative input offset an output pixel can depend on (<= 0). */
  low: number;
  /** Most positive input offset an output pixel can depend on (>= 0). */
  high: number;
  /** max(-low, high): the margin a tile must drop at an inner edge to match whole-image inference. */
  radius: number;
}

/** The receptive field `[low, high]` with its radius. */
export function receptiveFieldOf(low: number, high: number): ReceptiveField {
  return { low, high, radius: Math.max(-low, high) };
}

/**
 * What tiling assumes for a model that does not state its receptive field (a foreign model or an export before
 * format version 2): radius 32, half again the widest shipped network's 21 (tiles then overlap by 2 * 32 + 2 = 66 px, aligned up).
 */
export const DEFAULT_RECEPTIVE_FIELD: Readonly<ReceptiveField> = Object.freeze(receptiveFieldOf(-32, 32));
