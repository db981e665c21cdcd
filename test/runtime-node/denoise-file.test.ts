// One file's job: the pixel budget that bounds the images in flight when `denoise` takes many small files at once.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PixelImage } from '../../runtime-common/image-ops.js';
import { denoiseFile, PixelBudget } from '../../runtime-node/denoise-file.js';
import { encodeImage } from '../../runtime-node/image-file.js';
import { tempDirs } from '../temp-dir.js';

const makeTempDir = tempDirs();

/** Whether a promise has settled after the microtasks queued now have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await new Promise((r) => setTimeout(r, 0));
  return done;
}

describe('PixelBudget: what waits', () => {
  it('a request that does not fit waits until enough is released, and those behind it wait too (first come, first served)', async () => {
    const budget = new PixelBudget(100);
    await budget.acquire(60);
    const big = budget.acquire(50);
    const small = budget.acquire(10);
    expect(await settled(big)).toBe(false);
    // 10 would fit (70 <= 100), but it came after 50.
    expect(await settled(small)).toBe(false);
    budget.release(60);
    expect(await settled(big)).toBe(true);
    expect(await settled(small)).toBe(true);
    expect(budget.held).toBe(60);
  });
});

describe('PixelBudget', () => {
  it('grants at once what fits, and one request larger than the limit when nothing is held', async () => {
    const budget = new PixelBudget(100);
    expect(await settled(budget.acquire(40))).toBe(true);
    expect(await settled(budget.acquire(60))).toBe(true);
    expect(budget.held).toBe(100);
    budget.release(40);
    budget.release(60);
    expect(budget.held).toBe(0);
    expect(await settled(budget.acquire(1000))).toBe(true);
    const next = budget.acquire(1);
    expect(await settled(next)).toBe(false);
    budget.release(1000);
    expect(await settled(next)).toBe(true);
    expect(budget.held).toBe(1);
  });
});

describe('denoiseFile', () => {
  it('tells the denoiser the image\'s size from its header, before the pixels are decoded (its lanes start then)', async () => {
    const dir = makeTempDir('denoise-file-');
    const input = path.join(dir, 'in.png');
    const image = { data: new Uint8Array(600 * 400).map((_, i) => i % 251), width: 600, height: 400, channels: 1 };
    writeFileSync(input, await encodeImage(image, input));
    const events: string[] = [];
    const denoiser = {
      prepare: (width: number, height: number) => void events.push(`prepare ${width}x${height}`),
      denoise: async <I extends PixelImage>(pixels: I) => {
        events.push(`denoise ${pixels.width}x${pixels.height}`);
        return pixels as never;
      },
    };
    const report = await denoiseFile(denoiser, { input, output: path.join(dir, 'out.png'), outputExists: false }, { force: false, maxPixels: 1e8, limitName: '--max-pixels' });
    expect(report.ok, report.error).toBe(true);
    expect(events).toEqual(['prepare 600x400', 'denoise 600x400']);
  });
});
