// The denoising algorithm both runtimes share: pixels -> NCHW regions -> model -> blended tiles -> pixels, in bounded memory; the runtime only supplies `infer`.
import {
  allocatePixels,
  type ChannelPlan,
  copyChannels,
  fillFromFirstChannel,
  hasEqualColourChannels,
  outputPlaneCount,
  type PixelArray,
  type PixelImage,
  planChannels,
  planesToPixels,
  regionToPlanes,
} from './image-ops.js';
import { NO_POOL, type FloatPool } from './buffer-pool.js';
import type { ModelInfo } from './model-info.js';
import { autoNoiseLevel } from './noise-level.js';
import { blendWeights, DEFAULT_RECEPTIVE_FIELD, planAxis, type Span } from './tiling.js';
import { checkInteger, described, invalid } from './validate.js';

/**
 * Runs the model on one NCHW float32 tensor and resolves to the output tensor's data (same shape), a new array the
 * caller may keep or give to the pool. `levels`: for a model with a noise map, each batch entry's noise level (on
 * the value range's scale), which fills its map.
 */
export type InferFunction = (input: Float32Array, dims: readonly [number, number, number, number], levels?: Float32Array) => Promise<Float32Array>;

/**
 * Model runs that may go side by side (a pool of sessions): up to `lanes` at once through `infer`. The tiles of a
 * large image and the parts of a large batch go there; a run on its own goes through the plain InferFunction.
 */
export interface ParallelInfer {
  lanes: number;
  infer: InferFunction;
}

/**
 * A batch is cut into parts for {@link ParallelInfer} only when each part has at least this many values: smaller
 * runs gain little for what handing them over costs. Two one-thread lanes against one two-thread session, 28x28
 * images (onnxruntime-node, 2 cores, 2026-12-08): 1.03 times the images per second for 16 images (parts of 6,272
 * values), 1.18 for 32, 1.24 for 64, 1.39 for 128, 1.37 for 256.
 */
export const PARALLEL_FROM = 16_384;

/**
 * Called as rows of a result become final, top to bottom, each row once: `rows` rows from row `y0` of `result` (the
 * image the call resolves to, filled in as tiles finish), so that a caller can write a large image out while the
 * rest is denoised. An untiled image's rows come in one call, a tiled image's one band of tiles at a time.
 */
export type RowListener = (result: PixelImage, y0: number, rows: number) => void;

/**
 * For an input whose rows are still being filled in, top to bottom (a decoder writing into its pixel array): resolves
 * once rows 0 to `end` - 1 are final, or rejects (the call then rejects with that reason). The denoiser calls it
 * before it reads rows: with each band of tiles' last row; while it scans a 3- or 4-channel image's colour channels,
 * in steps of a few rows (a colour picture is known from its first rows); with the height before anything that
 * reads the whole image (an untiled run, the noise estimate).
 */
export type RowWaiter = (end: number) => Promise<void>;

/** Colour pixels scanned per wait by {@link equalColourChannelsAsFilled}: a colour picture is known from its first rows. */
const SCAN_PIXELS = 16_384;

/**
 * hasEqualColourChannels of an image still being filled in: its rows are scanned as they come in (waitForRows), so
 * that a colour picture is known as such from its first rows; a grey one stored as colour only at its last.
 */
export async function equalColourChannelsAsFilled(image: PixelImage, waitForRows: RowWaiter): Promise<boolean> {
  if (image.channels < 3) return false;
  const step = Math.max(1, Math.ceil(SCAN_PIXELS / image.width));
  for (let y0 = 0; y0 < image.height; y0 += step) {
    const rows = Math.min(step, image.height - y0);
    await waitForRows(y0 + rows);
    if (!hasEqualColourChannels(image, y0, rows)) return false;
  }
  return true;
}

/** Optional per-call hooks for {@link denoiseImage}: tile progress, cancellation, and the noise level. */
export interface DenoiseHooks {
  /**
   * For a model with a noise map: the noise's standard deviation as a fraction of the full scale (sigma 25 on 0..255
   * is 25/255); undefined: estimated from the image (autoNoiseLevel). Ignored by blind models.
   */
  noiseLevel?: number;
  /** Called after each model run with the tiles done so far and the tiles in all (1 for an untiled image). */
  onTile?: (done: number, total: number) => void;
  /** Rows of the result as they become final (see {@link RowListener}). */
  onRows?: RowListener;
  /** For an input still being filled in top to bottom (see {@link RowWaiter}): awaited before rows are read. */
  waitForRows?: RowWaiter;
  /** Checked before each model run: once aborted, the call rejects with the signal's reason. */
  signal?: AbortSignal;
  /** The image's hasEqualColourChannels when the caller has checked it already (a grey companion's route has): not scanned again. */
  equalColourChannels?: boolean;
}

/** How large images are cut up. */
export interface TileSettings {
  /** Tile side in pixels: tiles are at most this plus the overlap; 0 runs every image whole. */
  tile: number;
  /** Overlap between neighbouring tiles in pixels; undefined: twice the receptive-field radius plus 2 (DEFAULT_RECEPTIVE_FIELD's when the model does not state one). */
  overlap?: number;
}

/** Default tile side: 512 px (plus the overlap). Larger tiles run less overlap twice, but a fresh session pays for each new tile shape on its first runs: 768 px took 2.5 s against 2.1 s for a first 4 MP photo and about as long on later runs (measured with onnxruntime's memory pattern still on; not measured since). */
export const DEFAULT_TILES: Readonly<TileSettings> = Object.freeze({ tile: 512, overlap: undefined });

/** The tiling actually used for an image: tile spans per axis and the margin dropped at inner tile edges. */
export interface TilePlan {
  rows: Span[];
  columns: Span[];
  /** Overlap between neighbouring tiles. */
  overlap: number;
  /** Pixels ignored at each inner tile edge: the receptive-field radius (capped so some overlap is left to blend). */
  margin: number;
}

/** Checks tile settings at the public boundary (`name` prefixes the keys in messages). */
export function checkTileSettings(settings: Partial<TileSettings> | undefined, name = 'tiles'): TileSettings {
  const tile = checkInteger(settings?.tile ?? DEFAULT_TILES.tile, `${name}.tile`, { min: 0 });
  const overlap = settings?.overlap === undefined ? undefined : checkInteger(settings.overlap, `${name}.overlap`, { min: 0 });
  if (tile !== 0) checkInteger(tile, `${name}.tile`, { min: Math.max(16, 2 * (overlap ?? 0) + 1) });
  return { tile, overlap };
}

const alignUp = (value: number, align: number) => Math.ceil(value / align) * align;

/** The overlap a model gets by default: room for its receptive field (or DEFAULT_RECEPTIVE_FIELD) on both sides plus a 2 px ramp, aligned. */
export function defaultOverlap(model: Pick<ModelInfo, 'sizeMultiple' | 'receptiveField'>): number {
  return alignUp(2 * (model.receptiveField ?? DEFAULT_RECEPTIVE_FIELD).radius + 2, model.sizeMultiple);
}

/** Plans the tiles for a `width` x `height` image (one tile when it fits or tiling is off). */
export function planTiles(width: number, height: number, model: Pick<ModelInfo, 'sizeMultiple' | 'receptiveField' | 'fixedSize'>, settings: TileSettings): TilePlan {
  const align = model.sizeMultiple;
  if (settings.tile === 0 || model.fixedSize) return { rows: [{ start: 0, end: height }], columns: [{ start: 0, end: width }], overlap: 0, margin: 0 };
  const overlap = settings.overlap ?? defaultOverlap(model);
  const tile = Math.max(alignUp(settings.tile, align), overlap + align);
  const margin = (model.receptiveField ?? DEFAULT_RECEPTIVE_FIELD).radius;
  if (width <= tile + overlap && height <= tile + overlap) return { rows: [{ start: 0, end: height }], columns: [{ start: 0, end: width }], overlap, margin };
  const axis = { tile, overlap, align };
  return { rows: planAxis(height, axis), columns: planAxis(width, axis), overlap, margin };
}

/** Refuses images a fixed-size model cannot take. */
function checkSize(image: PixelImage, model: ModelInfo): void {
  const fixed = model.fixedSize;
  if (fixed && (image.height !== fixed[0] || image.width !== fixed[1])) {
    throw invalid(`a ${fixed[1]}x${fixed[0]} image (${model.source} has a fixed input size)`, 'image', described(`${image.width}x${image.height}`));
  }
}

function sameKind(a: PixelArray, b: PixelArray): boolean {
  return a.constructor === b.constructor;
}

function output<T extends PixelArray>(image: PixelImage<T>): PixelImage<T> {
  return { data: allocatePixels(image.data, image.data.length), width: image.width, height: image.height, channels: image.channels };
}

/** Output planes in place: averages a 'mean' plan's planes into plane 0 for each batch entry. */
function mergePlanes(values: Float32Array, plan: ChannelPlan, images: number, planeSize: number): Float32Array {
  if (plan.merge === 'copy') return values;
  const merged = new Float32Array(images * planeSize);
  const count = plan.planes.length;
  for (let n = 0; n < images; n++) {
    for (let i = 0; i < planeSize; i++) {
      let sum = 0;
      for (let p = 0; p < count; p++) sum += values[(n * count + p) * planeSize + i]!;
      merged[n * planeSize + i] = sum / count;
    }
  }
  return merged;
}

function destinationChannels(plan: ChannelPlan): number[] {
  return plan.merge === 'mean' ? [0] : plan.planes;
}

/** Where a tile's weights along one axis are 1: `[from, to)` (empty when none). */
function fullWeightRange(weights: Float32Array): [number, number] {
  let from = 0;
  while (from < weights.length && weights[from] !== 1) from++;
  let to = from;
  while (to < weights.length && weights[to] === 1) to++;
  return [from, to];
}

/**
 * Adds one tile's output (planes of tileHeight x wx.length) into the band with weights wy[y] * wx[x]. Where both
 * are 1 the tile alone covers the pixel, so its values are copied; zero weights are skipped.
 */
function accumulateTile(band: Float32Array, bandPlane: number, width: number, x0: number, values: Float32Array, planes: number, tileHeight: number, wy: Float32Array, wx: Float32Array): void {
  const tileWidth = wx.length;
  const [fullFrom, fullTo] = fullWeightRange(wx);
  for (let p = 0; p < planes; p++) {
    for (let y = 0; y < tileHeight; y++) {
      const weight = wy[y]!;
      if (weight === 0) continue;
      const src = (p * tileHeight + y) * tileWidth;
      const dst = p * bandPlane + y * width + x0;
      if (weight === 1 && fullTo > fullFrom) {
        for (let x = 0; x < fullFrom; x++) band[dst + x] += wx[x]! * values[src + x]!;
        band.set(values.subarray(src + fullFrom, src + fullTo), dst + fullFrom);
        for (let x = fullTo; x < tileWidth; x++) band[dst + x] += wx[x]! * values[src + x]!;
      } else {
        for (let x = 0; x < tileWidth; x++) band[dst + x] += weight * wx[x]! * values[src + x]!;
      }
    }
  }
}

/**
 * Denoises one image: colour channels through the model (see planChannels), alpha copied, the result the same
 * kind of array as the input. Images larger than a tile are cut into aligned overlapping tiles; each tile's
 * output is blended in with linear ramps past a margin of the receptive-field radius, so that the result equals
 * whole-image inference up to float rounding. Memory: one band of tile rows at a time besides input and output.
 * `hooks` reports each finished tile and cancels between model runs. `parallel`: where tiles may run side by side.
 */
export async function denoiseImage<T extends PixelArray>(image: PixelImage<T>, model: ModelInfo, infer: InferFunction, settings: TileSettings, hooks: DenoiseHooks = {}, pool: TensorBuffers = NO_POOL, parallel?: ParallelInfer): Promise<PixelImage<T>> {
  const { onTile, onRows, signal, waitForRows } = hooks;
  signal?.throwIfAborted();
  checkSize(image, model);
  const tiles = planTiles(image.width, image.height, model, settings);
  const { rows, columns } = tiles;
  const untiled = rows.length === 1 && columns.length === 1;
  // Checked once (or by the caller): the plan and the noise estimate both need it. An image still being filled in
  // is scanned as its rows come; an untiled run and the noise estimate wait for all of them, each band otherwise
  // for its own (alpha is then copied band by band).
  let grey = hooks.equalColourChannels;
  if (waitForRows && grey === undefined && image.channels >= 3) grey = await equalColourChannelsAsFilled(image, waitForRows);
  let whole = !waitForRows;
  if (waitForRows && (untiled || (model.noiseMapName !== undefined && hooks.noiseLevel === undefined))) {
    await waitForRows(image.height);
    whole = true;
  }
  signal?.throwIfAborted();
  grey ??= hasEqualColourChannels(image);
  const plan = planChannels(image.channels, model.channels, grey);
  const levels = model.noiseMapName === undefined ? undefined : noiseLevels(model, [image], [grey], plan.batch, hooks.noiseLevel);
  const result = output(image);
  if (whole) copyChannels(image, result, plan.untouched);
  const destinations = destinationChannels(plan);
  const planesOut = outputPlaneCount(plan);
  const width = image.width;

  if (untiled) {
    const input = pool.take(plan.planes.length * width * image.height);
    regionToPlanes(image, plan.planes, { x: 0, y: 0, width, height: image.height }, model.valueRange, input);
    let raw;
    try {
      raw = await infer(input, [plan.batch, model.channels, image.height, width], levels);
    } finally {
      pool.give(input);
    }
    const values = mergePlanes(raw, plan, 1, width * image.height);
    signal?.throwIfAborted();
    planesToPixels(values, destinations, 0, image.height, model.valueRange, result);
    pool.give(raw);
    fillFromFirstChannel(result, plan.fill);
    onTile?.(1, 1);
    onRows?.(result, 0, image.height);
    return result;
  }

  const rowWeights = blendWeights(rows, tiles.margin);
  const columnWeights = blendWeights(columns, tiles.margin);
  const bandRows = Math.max(...rows.map((r) => r.end - r.start));
  // Band accumulator: planesOut planes of bandRows x width, rows counted from the current band's first row.
  let band = new Float32Array(planesOut * bandRows * width);
  let spare = new Float32Array(band.length);
  const bandPlane = bandRows * width;
  const totalTiles = rows.length * columns.length;
  const route = routeOf(infer, parallel);
  // Tiles in raster order, several in flight (see inFlight); each is added into the band in that order.
  await inOrder(
    totalTiles,
    inFlight(route.lanes),
    async (i) => {
      const r = Math.floor(i / columns.length);
      const { start: y0, end: y1 } = rows[r]!;
      const { start: x0, end: x1 } = columns[i % columns.length]!;
      if (waitForRows && i % columns.length === 0) await waitForRows(y1);
      signal?.throwIfAborted();
      const input = pool.take(plan.planes.length * (y1 - y0) * (x1 - x0));
      regionToPlanes(image, plan.planes, { x: x0, y: y0, width: x1 - x0, height: y1 - y0 }, model.valueRange, input);
      return { output: runHolding(pool, input, route.infer(input, [plan.batch, model.channels, y1 - y0, x1 - x0], levels)) };
    },
    (i, raw) => {
      const r = Math.floor(i / columns.length);
      const c = i % columns.length;
      const { start: y0, end: y1 } = rows[r]!;
      const tileHeight = y1 - y0;
      const values = mergePlanes(raw, plan, 1, tileHeight * (columns[c]!.end - columns[c]!.start));
      signal?.throwIfAborted();
      accumulateTile(band, bandPlane, width, columns[c]!.start, values, planesOut, tileHeight, rowWeights[r]!, columnWeights[c]!);
      pool.give(raw);
      onTile?.(i + 1, totalTiles);
      if (c + 1 < columns.length) return;
      // Rows before the next band's start get no more contributions: write them out and carry the rest over.
      const next = r + 1 < rows.length ? rows[r + 1]!.start : y1;
      const done = next - y0;
      planesToPixels(band, destinations, y0, done, model.valueRange, result, bandPlane);
      fillFromFirstChannel(result, plan.fill, y0, done);
      if (!whole) copyChannels(image, result, plan.untouched, y0, done);
      onRows?.(result, y0, done);
      spare.fill(0);
      for (let p = 0; p < planesOut; p++) spare.set(band.subarray(p * bandPlane + done * width, p * bandPlane + tileHeight * width), p * bandPlane);
      [band, spare] = [spare, band];
    },
  );
  return result;
}

/** Where runs go: `parallel`'s lanes where there are two or more, else one at a time through `infer`. */
function routeOf(infer: InferFunction, parallel: ParallelInfer | undefined): ParallelInfer {
  return parallel && parallel.lanes > 1 ? parallel : { lanes: 1, infer };
}

/** `output`, with `input` given back to the pool once it settles: the input stays the run's until then (a queued run reads it later). */
function runHolding(pool: TensorBuffers, input: Float32Array, output: Promise<Float32Array>): Promise<Float32Array> {
  output.then(() => pool.give(input), () => pool.give(input));
  return output;
}

/** Runs in flight for `lanes` lanes: one at a time for one; otherwise two per lane, so a lane finds its next run waiting. */
function inFlight(lanes: number): number {
  return lanes > 1 ? 2 * lanes : 1;
}

/**
 * Runs `count` model runs with up to `window` of them in flight: `start(i)` prepares run i (it may wait, for rows)
 * and starts it; `finish(i, output)` takes the outputs in order, so that results do not depend on `window`. Rejects
 * with the first error in order; runs still in flight then settle unobserved.
 */
async function inOrder(count: number, window: number, start: (i: number) => Promise<{ output: Promise<Float32Array> }>, finish: (i: number, output: Float32Array) => void): Promise<void> {
  const flying: Promise<Float32Array>[] = [];
  let finished = 0;
  const finishOldest = async () => {
    const output = await flying[0]!;
    flying.shift();
    finish(finished++, output);
  };
  for (let i = 0; i < count; i++) {
    while (flying.length >= window) await finishOldest();
    const { output } = await start(i);
    // Awaited in turn; meanwhile a rejection must not count as unhandled (Node would end the process).
    output.catch(() => undefined);
    flying.push(output);
  }
  while (flying.length > 0) await finishOldest();
}

/** Where {@link denoiseImage} and {@link denoiseBatch} take their input tensors from and give model outputs back to: a {@link FloatPool}, or {@link NO_POOL}. */
export type TensorBuffers = Pick<FloatPool, 'take' | 'give'>;

/** Options for {@link denoiseBatch}. */
export interface BatchSettings extends TileSettings {
  /** Most values (N x C x H x W) in one model run when same-size images are stacked. */
  maxBatchValues: number;
  /** The noise level for every image (see {@link DenoiseHooks.noiseLevel}); undefined: estimated per image. */
  noiseLevel?: number;
  /** Each image's hasEqualColourChannels when the caller has checked them already (see {@link DenoiseHooks.equalColourChannels}). */
  equalColourChannels?: readonly boolean[];
}

/**
 * Each batch entry's noise level for a model with a noise map (undefined for a blind one): `given`, or each image's
 * estimate (`grey[i]`: whether image i's colour channels are equal, as checked for its plan), repeated for the
 * `entries` batch entries an image takes (its planes, when the model sees one channel).
 */
function noiseLevels(model: ModelInfo, images: readonly PixelImage[], grey: readonly boolean[], entries: number, given: number | undefined): Float32Array | undefined {
  if (model.noiseMapName === undefined) return undefined;
  const levels = new Float32Array(images.length * entries);
  images.forEach((image, i) => levels.fill(given ?? autoNoiseLevel(image, grey[i]), i * entries, (i + 1) * entries));
  return levels;
}

/**
 * Denoises several images: those that fit in one tile and share size, channels and pixel kind are stacked along
 * N into runs of at most `maxBatchValues` values (with `parallel`, a large group in one part per lane); others go
 * through {@link denoiseImage} one by one. Results keep the input order.
 */
export async function denoiseBatch<T extends PixelArray>(images: readonly PixelImage<T>[], model: ModelInfo, infer: InferFunction, settings: BatchSettings, pool: TensorBuffers = NO_POOL, parallel?: ParallelInfer): Promise<PixelImage<T>[]> {
  const results: PixelImage<T>[] = new Array(images.length);
  const groups = new Map<string, number[]>();
  // Whether each stacked image's colour channels are equal: checked once (or by the caller), for its group, plan and
  // noise estimate, and handed to denoiseImage for an image that runs alone; a tiled image is left to denoiseImage.
  const greyOf: (boolean | undefined)[] = images.map((_, i) => settings.equalColourChannels?.[i]);
  images.forEach((image, i) => {
    const plan = planTiles(image.width, image.height, model, settings);
    const fits = plan.rows.length === 1 && plan.columns.length === 1;
    const grey = fits && (greyOf[i] ??= hasEqualColourChannels(image));
    const key = fits ? `${image.width}x${image.height}x${image.channels}${grey ? 'g' : ''}:${image.data.constructor.name}` : `single:${i}`;
    const list = groups.get(key);
    if (list) list.push(i);
    else groups.set(key, [i]);
  });
  for (const indices of groups.values()) {
    const first = images[indices[0]!]!;
    if (indices.length === 1) {
      const equalColourChannels = greyOf[indices[0]!];
      results[indices[0]!] = await denoiseImage(first, model, infer, settings, { noiseLevel: settings.noiseLevel, ...(equalColourChannels === undefined ? {} : { equalColourChannels }) }, pool, parallel);
      continue;
    }
    checkSize(first, model);
    const plan = planChannels(first.channels, model.channels, greyOf[indices[0]!] === true);
    const { width, height } = first;
    const planeSize = width * height;
    const perImage = plan.planes.length * planeSize;
    const stacked = Math.max(1, Math.floor(settings.maxBatchValues / perImage));
    // A group large enough goes to the lanes in as many parts as there are lanes, each of PARALLEL_FROM values or more.
    const lanes = parallel && parallel.lanes > 1 ? Math.min(parallel.lanes, Math.floor((indices.length * perImage) / PARALLEL_FROM)) : 1;
    const chunk = lanes > 1 ? Math.min(stacked, Math.ceil(indices.length / lanes)) : stacked;
    const parts: number[][] = [];
    for (let from = 0; from < indices.length; from += chunk) parts.push(indices.slice(from, from + chunk));
    const route = routeOf(infer, lanes > 1 && parts.length > 1 ? parallel : undefined);
    const destinations = destinationChannels(plan);
    const planesOut = outputPlaneCount(plan);
    await inOrder(
      parts.length,
      inFlight(route.lanes),
      async (j) => {
        const part = parts[j]!;
        const input = pool.take(part.length * perImage);
        part.forEach((index, k) => {
          if (!sameKind(images[index]!.data, first.data)) throw new Error('mixed pixel kinds in one group');
          regionToPlanes(images[index]!, plan.planes, { x: 0, y: 0, width, height }, model.valueRange, input, k * perImage);
        });
        const levels = noiseLevels(model, part.map((index) => images[index]!), part.map((index) => greyOf[index] === true), plan.batch, settings.noiseLevel);
        return { output: runHolding(pool, input, route.infer(input, [part.length * plan.batch, model.channels, height, width], levels)) };
      },
      (j, raw) => {
        const part = parts[j]!;
        const values = mergePlanes(raw, plan, part.length, planeSize);
        part.forEach((index, k) => {
          const image = images[index]!;
          const result = output(image);
          copyChannels(image, result, plan.untouched);
          planesToPixels(values.subarray(k * planesOut * planeSize, (k + 1) * planesOut * planeSize), destinations, 0, height, model.valueRange, result);
          fillFromFirstChannel(result, plan.fill);
          results[index] = result;
        });
        pool.give(raw);
      },
    );
  }
  return results;
}
