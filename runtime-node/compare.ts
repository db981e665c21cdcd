// Side-by-side comparison pictures (noisy | denoised | reference) as PNG, each panel captioned.
import type { OverlayOptions } from 'sharp';
import { loadSharp } from './image-file.js';
import type { PixelImage } from 'onnx-denoiser-common';
import { to8Bit, type FilePixels } from './image-file.js';

/** One captioned panel. */
export interface Panel {
  label: string;
  image: FilePixels;
}

const GAP = 8;
const CAPTION = 26;
/** Panels larger than this on their long side are scaled down so the picture stays viewable. */
export const MAX_PANEL_SIDE = 2048;

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}

/** 8-bit RGB pixels of a panel (grey replicated, alpha dropped). */
function toRgb(image: FilePixels): PixelImage<Uint8Array> {
  const source = to8Bit(image);
  const { width, height, channels } = source;
  const colour = channels === 2 || channels === 4 ? channels - 1 : channels;
  const out = new Uint8Array(width * height * 3);
  for (let n = 0; n < width * height; n++) {
    for (let c = 0; c < 3; c++) out[n * 3 + c] = source.data[n * channels + (colour === 1 ? 0 : c)]!;
  }
  return { data: out, width, height, channels: 3 };
}

/**
 * Renders panels left to right on a white canvas with a caption above each, as PNG. All panels must have the
 * size of the first; panels over {@link MAX_PANEL_SIDE} pixels are scaled down (nearest neighbour keeps the noise visible).
 */
export async function comparisonPicture(panels: readonly Panel[]): Promise<Buffer> {
  const sharp = await loadSharp();
  const { width, height } = panels[0]!.image;
  const scale = Math.min(1, MAX_PANEL_SIDE / Math.max(width, height));
  const w = Math.max(1, Math.round(width * scale));
  const h = Math.max(1, Math.round(height * scale));
  const canvasWidth = panels.length * (w + GAP) + GAP;
  const canvasHeight = CAPTION + h + GAP;
  const inputs: OverlayOptions[] = [];
  for (let i = 0; i < panels.length; i++) {
    const rgb = toRgb(panels[i]!.image);
    const input = await sharp(rgb.data, { raw: { width: rgb.width, height: rgb.height, channels: 3 } })
      .resize(w, h, { kernel: 'nearest', fit: 'fill' })
      .png({ compressionLevel: 1 })
      .toBuffer();
    inputs.push({ input, left: GAP + i * (w + GAP), top: CAPTION });
  }
  const fontSize = Math.max(10, Math.min(15, Math.floor(w / 14)));
  const texts = panels.map(
    (p, i) => `<text x="${GAP + i * (w + GAP) + w / 2}" y="${CAPTION - 8}" text-anchor="middle" font-size="${fontSize}">${escapeXml(p.label)}</text>`,
  );
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${canvasWidth}" height="${canvasHeight}" font-family="DejaVu Sans, sans-serif" fill="#222">${texts.join('')}</svg>`;
  inputs.push({ input: Buffer.from(svg), left: 0, top: 0 });
  return sharp({ create: { width: canvasWidth, height: canvasHeight, channels: 3, background: '#ffffff' } })
    .composite(inputs)
    .png()
    .toBuffer();
}
