// One file's job: the pixel budget that bounds the images in flight when `denoise` takes many small files at once.
import { describe, expect, it } from 'vitest';
import { PixelBudget } from '../../runtime-node/denoise-file.js';

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
