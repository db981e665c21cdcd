// serialized(): calls run one after another in call order, and a failure rejects only its own caller.
import { describe, expect, it } from 'vitest';
import { serialized } from '../../runtime-common/serial.js';

describe('serialized: bad calls', () => {
  it('rejects the failing call alone and keeps serving the next ones', async () => {
    const run = serialized(async (x: number) => {
      if (x < 0) throw new Error(`negative ${x}`);
      return x * 2;
    });
    const [a, b, c] = await Promise.allSettled([run(1), run(-1), run(3)]);
    expect(a).toEqual({ status: 'fulfilled', value: 2 });
    expect(b).toMatchObject({ status: 'rejected', reason: new Error('negative -1') });
    expect(c).toEqual({ status: 'fulfilled', value: 6 });
  });
});

describe('serialized', () => {
  it('never overlaps two calls, and runs them in call order', async () => {
    let active = 0;
    let most = 0;
    const order: number[] = [];
    const run = serialized(async (id: number, ms: number) => {
      active++;
      most = Math.max(most, active);
      await new Promise((r) => setTimeout(r, ms));
      order.push(id);
      active--;
      return id;
    });
    const results = await Promise.all([run(1, 20), run(2, 1), run(3, 10), run(4, 0)]);
    expect(results).toEqual([1, 2, 3, 4]);
    expect(order).toEqual([1, 2, 3, 4]);
    expect(most).toBe(1);
  });
});

describe('serialized: calls made as the queue empties', () => {
  it('runs a call made from a settled call after those already queued, never two at once', async () => {
    let active = 0;
    let most = 0;
    const order: number[] = [];
    const run = serialized(async (id: number) => {
      active++;
      most = Math.max(most, active);
      await new Promise((r) => setTimeout(r, 2));
      order.push(id);
      active--;
      return id;
    });
    let chained: Promise<number> | undefined;
    const first = run(1).then((id) => {
      chained = run(id + 10);
      return id;
    });
    const second = run(2);
    await Promise.all([first, second]);
    await chained;
    // After the queue is idle again, a lone call still runs alone.
    await Promise.all([run(3), run(4)]);
    expect(order).toEqual([1, 2, 11, 3, 4]);
    expect(most).toBe(1);
  });

  it('rejects (never throws) when the function throws synchronously, and serves the next call', async () => {
    const run = serialized(((x: number) => {
      if (x < 0) throw new Error('sync failure');
      return Promise.resolve(x);
    }) as (x: number) => Promise<number>);
    let thrown: unknown;
    let result: Promise<number> | undefined;
    try {
      result = run(-1);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeUndefined();
    await expect(result).rejects.toThrow('sync failure');
    await expect(run(5)).resolves.toBe(5);
  });
});
