// Pictures: grids place each image's pixels where expected; charts decode as PNGs; ticks are round.
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { imageGrid, lineChart, niceTicks } from '../../../tools/report/pictures.js';

const flat = (value: number, size = 4 * 5) => new Float32Array(size).fill(value);

describe('pictures: bad calls', () => {
  it('rejects images of the wrong size, naming row and column', async () => {
    await expect(imageGrid([{ label: 'a', images: [flat(0), flat(0, 7)] }], { height: 4, width: 5, channels: 1 })).rejects.toThrow(
      'Expected 20 values (4x5x1) for rows[0].images[1] but received 7',
    );
  });

  it('rejects bad channels, scale, empty rows and empty series', async () => {
    await expect(imageGrid([{ label: 'a', images: [flat(0)] }], { height: 4, width: 5, channels: 2 })).rejects.toThrow('Expected 1 or 3 for channels but received 2');
    await expect(imageGrid([{ label: 'a', images: [flat(0)] }], { height: 4, width: 5, channels: 1, scale: 0 })).rejects.toThrow('Expected an integer >= 1 and <= 32 for scale but received 0');
    await expect(imageGrid([], { height: 4, width: 5, channels: 1 })).rejects.toThrow('Expected at least one row for rows but received 0');
    await expect(lineChart([{ name: 'loss', points: [[1, NaN]] }], { title: 't', xLabel: 'x', yLabel: 'y' })).rejects.toThrow(/Expected at least one finite point for series/);
  });
});

describe('imageGrid', () => {
  it('puts each image, upscaled, in its cell with values clamped to [0, 1]', async () => {
    const rows = [
      { label: 'dark', images: [flat(0), flat(0.5)] },
      { label: 'light', images: [flat(1), flat(2)] },
    ];
    const png = await imageGrid(rows, { height: 4, width: 5, channels: 1, scale: 2 });
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    // Layout: label column 110 px, then cells of 10x8 px with 4 px gaps.
    expect(info.width).toBe(110 + 2 * (10 + 4) + 4);
    expect(info.height).toBe(2 * (8 + 4) + 4);
    const at = (x: number, y: number) => data[(y * info.width + x) * info.channels]!;
    expect(at(110 + 4 + 5, 4 + 4)).toBe(0);
    expect(at(110 + 4 + 14 + 5, 4 + 4)).toBe(128);
    expect(at(110 + 4 + 14 + 5, 4 + 12 + 4)).toBe(255);
  });
});

describe('lineChart', () => {
  it('renders a PNG of the requested size', async () => {
    const png = await lineChart([{ name: 'train', points: [[1, 0.02], [2, 0.01]] }], { title: 'loss', xLabel: 'epoch', yLabel: 'MSE', width: 300, height: 200 });
    const meta = await sharp(png).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 300, 200]);
  });

  it('chooses round ticks', () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.0083, 0.0207)).toEqual([0.01, 0.0125, 0.015, 0.0175, 0.02]);
    expect(niceTicks(1, 10, 9)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });
});
