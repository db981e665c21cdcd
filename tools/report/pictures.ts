// Pictures a person would rather look at than read: labelled image grids and line charts, as PNG via sharp.
import sharp from 'sharp';
import { check, checkInteger } from 'onnx-denoiser-common';

/** One labelled row of a grid: images of `height` x `width` x `channels`, values in [0, 1], HWC order. */
export interface GridRow {
  label: string;
  images: Float32Array[];
}

/** Options for {@link imageGrid}. */
export interface GridOptions {
  height: number;
  width: number;
  /** 1 (gray) or 3 (RGB). */
  channels: number;
  /** Integer upscale factor (nearest neighbour) so 28x28 images are visible. Default 3. */
  scale?: number;
  /** Optional caption under each column (e.g. a PSNR), one per column. */
  columnCaptions?: string[];
  title?: string;
}

const GAP = 4;
/** The label column's narrowest width; longer labels widen it (about 8 px a character at 14 px). */
const MIN_LABEL_WIDTH = 110;
const FONT = 'DejaVu Sans, sans-serif';

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}

/**
 * Renders rows of images as one PNG: a label column on the left, images upscaled with nearest neighbour.
 * Values are clamped to [0, 1]. Used for the tutorial's 3x10 grid (noisy, denoised, clean).
 */
export async function imageGrid(rows: GridRow[], options: GridOptions): Promise<Buffer> {
  const { height, width, channels } = options;
  const scale = checkInteger(options.scale ?? 3, 'scale', { min: 1, max: 32 });
  check(channels === 1 || channels === 3, '1 or 3', 'channels', channels);
  check(rows.length > 0, 'at least one row', 'rows', rows.length);
  const columns = Math.max(...rows.map((r) => r.images.length));
  const size = height * width * channels;
  rows.forEach((row, r) => row.images.forEach((img, c) => check(img.length === size, `${size} values (${height}x${width}x${channels})`, `rows[${r}].images[${c}]`, img.length)));

  const titleHeight = options.title ? 28 : 0;
  const captionHeight = options.columnCaptions ? 18 : 0;
  const cellW = width * scale;
  const cellH = height * scale;
  const LABEL_WIDTH = Math.max(MIN_LABEL_WIDTH, 16 + 8 * Math.max(...rows.map((r) => r.label.length)));
  const canvasW = LABEL_WIDTH + columns * (cellW + GAP) + GAP;
  const canvasH = titleHeight + rows.length * (cellH + GAP) + GAP + captionHeight;
  const pixels = Buffer.alloc(canvasW * canvasH * 3, 255);
  rows.forEach((row, r) => {
    row.images.forEach((img, c) => {
      const x0 = LABEL_WIDTH + GAP + c * (cellW + GAP);
      const y0 = titleHeight + GAP + r * (cellH + GAP);
      for (let y = 0; y < cellH; y++) {
        const sy = Math.floor(y / scale);
        for (let x = 0; x < cellW; x++) {
          const src = (sy * width + Math.floor(x / scale)) * channels;
          const dst = ((y0 + y) * canvasW + x0 + x) * 3;
          for (let k = 0; k < 3; k++) {
            const v = img[src + (channels === 1 ? 0 : k)]!;
            pixels[dst + k] = Math.round(Math.min(1, Math.max(0, v)) * 255);
          }
        }
      }
    });
  });

  const texts = rows.map(
    (row, r) => `<text x="${LABEL_WIDTH - 8}" y="${titleHeight + GAP + r * (cellH + GAP) + cellH / 2 + 5}" text-anchor="end" font-size="14">${escapeXml(row.label)}</text>`,
  );
  if (options.title) texts.push(`<text x="8" y="19" font-size="15" font-weight="bold">${escapeXml(options.title)}</text>`);
  options.columnCaptions?.forEach((caption, c) => {
    texts.push(`<text x="${LABEL_WIDTH + GAP + c * (cellW + GAP) + cellW / 2}" y="${canvasH - 5}" text-anchor="middle" font-size="11">${escapeXml(caption)}</text>`);
  });
  const overlay = `<svg xmlns="http://www.w3.org/2000/svg" width="${canvasW}" height="${canvasH}" font-family="${FONT}" fill="#222">${texts.join('')}</svg>`;
  return sharp(pixels, { raw: { width: canvasW, height: canvasH, channels: 3 } })
    .composite([{ input: Buffer.from(overlay), top: 0, left: 0 }])
    .png()
    .toBuffer();
}

/** One line of a chart. */
export interface Series {
  name: string;
  points: Array<[number, number]>;
  color?: string;
}

/** Options for {@link lineChart}. */
export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd'];

/** Chooses about `count` round tick values covering [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let t = Math.ceil(min / step) * step; t <= max + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

function formatTick(value: number): string {
  if (value === 0) return '0';
  const abs = Math.abs(value);
  return abs >= 1000 || abs < 0.001 ? value.toExponential(1) : String(Number(value.toPrecision(4)));
}

/** Renders a line chart (e.g. the loss curve: train and validation loss per epoch) as a PNG. */
export async function lineChart(series: Series[], options: ChartOptions): Promise<Buffer> {
  const width = options.width ?? 640;
  const height = options.height ?? 400;
  const points = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  check(points.length > 0, 'at least one finite point', 'series', series.map((s) => s.name));
  const left = 70;
  const right = 20;
  const top = 40;
  const bottom = 50;
  let [xMin, xMax] = [Math.min(...points.map((p) => p[0])), Math.max(...points.map((p) => p[0]))];
  let [yMin, yMax] = [Math.min(...points.map((p) => p[1])), Math.max(...points.map((p) => p[1]))];
  if (xMax === xMin) [xMin, xMax] = [xMin - 1, xMax + 1];
  if (yMax === yMin) [yMin, yMax] = [yMin - Math.abs(yMin || 1) * 0.1, yMax + Math.abs(yMax || 1) * 0.1];
  const pad = (yMax - yMin) * 0.05;
  yMin -= pad;
  yMax += pad;
  const sx = (x: number) => left + ((x - xMin) / (xMax - xMin)) * (width - left - right);
  const sy = (y: number) => top + (1 - (y - yMin) / (yMax - yMin)) * (height - top - bottom);

  const parts: string[] = [`<rect width="${width}" height="${height}" fill="white"/>`];
  for (const t of niceTicks(yMin, yMax)) {
    parts.push(`<line x1="${left}" x2="${width - right}" y1="${sy(t)}" y2="${sy(t)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${left - 6}" y="${sy(t) + 4}" text-anchor="end" font-size="11">${formatTick(t)}</text>`);
  }
  for (const t of niceTicks(xMin, xMax, Math.min(10, Math.max(1, Math.round(xMax - xMin))))) {
    parts.push(`<text x="${sx(t)}" y="${height - bottom + 16}" text-anchor="middle" font-size="11">${formatTick(t)}</text>`);
  }
  parts.push(`<rect x="${left}" y="${top}" width="${width - left - right}" height="${height - top - bottom}" fill="none" stroke="#888"/>`);
  series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const valid = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (valid.length === 0) return;
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${valid.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ')}"/>`);
    for (const [x, y] of valid) parts.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3" fill="${color}"/>`);
    parts.push(`<line x1="${width - right - 150}" x2="${width - right - 130}" y1="${top + 16 + i * 18}" y2="${top + 16 + i * 18}" stroke="${color}" stroke-width="3"/>`);
    parts.push(`<text x="${width - right - 124}" y="${top + 20 + i * 18}" font-size="12">${escapeXml(s.name)}</text>`);
  });
  parts.push(`<text x="${width / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(options.title)}</text>`);
  parts.push(`<text x="${(left + width - right) / 2}" y="${height - 12}" text-anchor="middle" font-size="12">${escapeXml(options.xLabel)}</text>`);
  parts.push(`<text x="16" y="${(top + height - bottom) / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 16 ${(top + height - bottom) / 2})">${escapeXml(options.yLabel)}</text>`);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="${FONT}" fill="#222">${parts.join('')}</svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}
