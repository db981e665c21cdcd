// Tiling for any image size in bounded memory: aligned overlapping tiles, linear blending ramps, and the receptive field that sizes the overlap.
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

/** Where an output pixel's inputs lie, in input pixels relative to it: `[low, high]`, and the network's total stride. */
export interface ReceptiveField {
  /** Most negative input offset an output pixel can depend on (<= 0). */
  low: number;
  /** Most positive input offset an output pixel can depend on (>= 0). */
  high: number;
  /** max(-low, high), rounded up: the margin a tile must drop at an inner edge to match whole-image inference. */
  radius: number;
  /** The largest downsampling inside the network (product of strides): tile starts must be multiples of it. */
  stride: number;
}

interface Interval {
  /** Input pixels per pixel of this tensor. */
  scale: number;
  low: number;
  high: number;
}

function pair(value: unknown, fallback: number): [number, number] {
  if (value === undefined) return [fallback, fallback];
  if (typeof value === 'number') return [value, value];
  if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'number')) return [value[0], value[1]];
  throw new Error(`not a number or [height, width] pair: ${JSON.stringify(value)}`);
}

/** Kinds that compute each output pixel from the same pixel of every input (the spec's merge and clip layers). */
const POINTWISE_KINDS = new Set(['add', 'subtract', 'concat', 'clip']);

/**
 * A conservative receptive field for a layer-spec network (the JSON of `models/*.json`): `conv2d` and
 * `conv2dTranspose` layers with `kernelSize`, `strides` and `padding` ("same" pads may sit on either side;
 * "valid" pads nothing), and the pointwise kinds `add`, `subtract`, `concat` and `clip`, whose inputs (all at one
 * scale) each reach their own span: a merge takes the widest span over its inputs, so over every path through a
 * skip-connected graph. Per axis the larger of height and width is used. Returns undefined when the spec cannot be
 * read this way (an unknown kind, inputs at different scales, an output not at the input's scale).
 */
export function receptiveField(spec: unknown): ReceptiveField | undefined {
  try {
    const s = spec as { input?: { name?: string }; layers?: unknown[]; output?: string };
    if (!s || !Array.isArray(s.layers) || s.layers.length === 0) return undefined;
    const inputName = s.input?.name ?? 'image';
    const tensors = new Map<string, Interval>([[inputName, { scale: 1, low: 0, high: 0 }]]);
    let previous = inputName;
    let stride = 1;
    for (const raw of s.layers) {
      const layer = raw as { name?: string; kind?: string; inputs?: string[]; kernelSize?: unknown; strides?: unknown; padding?: string };
      if (typeof layer.name !== 'string') return undefined;
      const inputs = (layer.inputs ?? [previous]).map((name) => tensors.get(name));
      if (inputs.length === 0 || inputs.some((i) => i === undefined)) return undefined;
      const ins = inputs as Interval[];
      // Scales are products and quotients of strides: equal up to float rounding.
      if (ins.some((i) => Math.abs(i.scale - ins[0]!.scale) > 1e-9 * ins[0]!.scale)) return undefined;
      let out: Interval = { scale: ins[0]!.scale, low: Math.min(...ins.map((i) => i.low)), high: Math.max(...ins.map((i) => i.high)) };
      if (layer.kind === 'conv2d' || layer.kind === 'conv2dTranspose') {
        if (ins.length !== 1) return undefined;
        const k = Math.max(...pair(layer.kernelSize, 1));
        const st = Math.max(...pair(layer.strides, 1));
        const same = layer.padding === 'same';
        // "same": the begin pad is between 0 and floor((k - 1) / 2) depending on the input size; "valid": 0.
        const padMax = same ? Math.floor((k - 1) / 2) : 0;
        const { scale, low, high } = out;
        if (layer.kind === 'conv2d') {
          // Output q reads inputs st*q - pad + [0, k-1].
          out = { scale: scale * st, low: low - scale * padMax, high: high + scale * (k - 1) };
        } else {
          // Output o = st*i + kk - pad reads inputs i in [(o + pad - k + 1) / st, (o + pad) / st].
          out = { scale: scale / st, low: low + (scale * (-(k - 1))) / st, high: high + (scale * padMax) / st };
        }
      } else if (!POINTWISE_KINDS.has(layer.kind ?? '')) {
        return undefined;
      }
      stride = Math.max(stride, out.scale);
      tensors.set(layer.name, out);
      previous = layer.name;
    }
    const final = tensors.get(s.output ?? previous);
    if (!final || final.scale !== 1) return undefined;
    const low = Math.floor(final.low);
    const high = Math.ceil(final.high);
    return { low, high, radius: Math.max(-low, high), stride: Math.round(stride) };
  } catch {
    return undefined;
  }
}
