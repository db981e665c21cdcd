// The registry of threads that may be inside onnxruntime: settleThreads waits for every registered settler, and an unregistered one is not asked.
import { describe, expect, it } from 'vitest';
import { settleThreads, whileRunning } from '../../runtime-node/thread-settle.js';

describe('settleThreads', () => {
  it('a settler that rejects rejects the wait (the CLI exits anyway, after it)', async () => {
    const forget = whileRunning(() => Promise.reject(new Error('thread gone')));
    await expect(settleThreads()).rejects.toThrow('thread gone');
    forget();
    await expect(settleThreads()).resolves.toBeUndefined();
  });

  it('waits for every registered settler, each asked once; unregistered ones are not asked', async () => {
    const asked: string[] = [];
    const done: string[] = [];
    const settler = (name: string, ms: number) => async () => {
      asked.push(name);
      await new Promise((resolve) => setTimeout(resolve, ms));
      done.push(name);
    };
    const forgetA = whileRunning(settler('a', 30));
    const forgetB = whileRunning(settler('b', 5));
    const forgetC = whileRunning(settler('c', 1));
    forgetC();
    await settleThreads();
    expect(asked.sort()).toEqual(['a', 'b']);
    expect(done).toEqual(['b', 'a']);
    forgetA();
    forgetB();
  });
});
