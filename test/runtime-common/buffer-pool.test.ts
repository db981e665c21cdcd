// FloatPool: arrays handed out again by length, only its own, within its bounds.
import { describe, expect, it } from 'vitest';
import { FloatPool, NO_POOL } from 'onnx-denoiser-common';

describe('FloatPool', () => {
  it('ignores arrays it did not make, and arrays given twice are kept once', () => {
    const pool = new FloatPool();
    pool.give(new Float32Array(8));
    expect(pool.size).toBe(0);
    const mine = pool.take(8);
    pool.give(mine);
    pool.give(mine);
    expect(pool.size).toBe(8);
    expect(pool.take(8)).toBe(mine);
    expect(pool.take(8)).not.toBe(mine);
  });

  it('hands a given array out again for the same length only, last given first', () => {
    const pool = new FloatPool();
    const [a, b, c] = [pool.take(6), pool.take(6), pool.take(10)];
    expect([a.length, b.length, c.length]).toEqual([6, 6, 10]);
    a.fill(1);
    pool.give(a);
    pool.give(b);
    pool.give(c);
    expect(pool.size).toBe(22);
    expect(pool.take(6)).toBe(b);
    const again = pool.take(6);
    // Contents are what the last user left: callers overwrite every value.
    expect(again).toBe(a);
    expect(Array.from(again)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(pool.take(10)).toBe(c);
    expect(pool.size).toBe(0);
  });

  it('keeps at most 4 arrays of one length and at most maxValues values in all', () => {
    const pool = new FloatPool(20);
    const threes = Array.from({ length: 5 }, () => pool.take(3));
    threes.forEach((a) => pool.give(a));
    expect(pool.size).toBe(12);
    const big = pool.take(9);
    pool.give(big);
    expect(pool.size).toBe(12);
    const fits = pool.take(8);
    pool.give(fits);
    expect(pool.size).toBe(20);
    pool.clear();
    expect(pool.size).toBe(0);
    expect(pool.take(8)).not.toBe(fits);
  });

  it('NO_POOL makes a new zeroed array every time and keeps nothing', () => {
    const a = NO_POOL.take(4);
    NO_POOL.give(a);
    const b = NO_POOL.take(4);
    expect(b).not.toBe(a);
    expect(Array.from(b)).toEqual([0, 0, 0, 0]);
  });
});
