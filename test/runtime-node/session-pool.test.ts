// Sessions side by side on threads (the compiled SessionPool, as the Denoiser runs tiles and large batches on the CPU): the same outputs as one session, runs before the lanes are up and after they fail go to the fallback, released pools refuse runs, idle lanes do not keep a process alive.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { NamedTensor } from '../../runtime-common/backend.js';
import { Rng } from '../../runtime-common/rng.js';
import type * as DenoiserModule from '../../runtime-node/denoiser.js';
import type * as SessionModule from '../../runtime-node/ort-session.js';
import type * as PoolModule from '../../runtime-node/session-pool.js';
import { noiseMapOffsetModel, noiseReducerLikeModel } from '../../tools/onnx/test-models.js';

// The lanes run compiled JavaScript (the global setup builds it), so the suite takes the built modules.
const builtUrl = (file: string) => pathToFileURL(path.resolve('runtime-node/dist', file)).href;
let SessionPool: typeof PoolModule.SessionPool;
let Denoiser: typeof DenoiserModule.Denoiser;
let session: typeof SessionModule;
const model = noiseReducerLikeModel(3);
const options = { executionProviders: ['cpu'], graphOptimizationLevel: 'all', logSeverityLevel: 3 } as const;

beforeAll(async () => {
  ({ SessionPool } = (await import(builtUrl('session-pool.js'))) as typeof PoolModule);
  ({ Denoiser } = (await import(builtUrl('denoiser.js'))) as typeof DenoiserModule);
  session = (await import(builtUrl('ort-session.js'))) as typeof SessionModule;
});

/** Seeded [n, 1, h, w] feeds for the model's input. */
function feeds(n: number, h: number, w: number, seed: number): NamedTensor[] {
  const rng = new Rng(seed);
  return [{ name: 'image', data: Float32Array.from({ length: n * h * w }, () => rng.nextFloat()), dims: [n, 1, h, w] }];
}

/** The session opened on this thread, with a count of the runs it made. */
async function hereSession() {
  const opened = await session.openSession(model, { device: 'cpu', threads: 1 });
  const here = { runs: 0, run: (f: readonly NamedTensor[], name: string) => (here.runs++, opened.run(f, name)), release: () => opened.release() };
  return here;
}

/** Resolves once the pool's lanes take runs (a run made then goes to a lane). */
async function lanesUp(pool: PoolModule.SessionPool): Promise<void> {
  for (let i = 0; i < 200 && pool.counts.lanes === 0; i++) {
    await pool.run(feeds(1, 8, 8, i), 'denoised');
    if (pool.counts.lanes === 0) await new Promise((resolve) => setTimeout(resolve, 10));
  }
  expect(pool.counts.lanes).toBeGreaterThan(0);
}

describe('SessionPool: bad calls', () => {
  it('a released pool refuses runs; runs waiting for a lane reject when it is released', async () => {
    const here = await hereSession();
    const pool = new SessionPool(2, { bytes: model, options, settings: { threads: 1 } }, here.run);
    await lanesUp(pool);
    const waiting = Array.from({ length: 8 }, (_, i) => pool.run(feeds(4, 64, 64, i), 'denoised').then(() => 'done', (error: Error) => error.message));
    await pool.release();
    const settled = await Promise.all(waiting);
    expect(settled).toContain('the session pool was released');
    await expect(pool.run(feeds(1, 8, 8, 1), 'denoised')).rejects.toThrow('the session pool was released');
    await here.release();
  });

  it('a run onnxruntime refuses rejects with its message, as on this thread; the lanes go on', async () => {
    const here = await hereSession();
    const pool = new SessionPool(2, { bytes: model, options, settings: { threads: 1 } }, here.run);
    await lanesUp(pool);
    const wrong: NamedTensor[] = [{ name: 'image', data: new Float32Array(2 * 8 * 8), dims: [1, 2, 8, 8] }];
    const [there, local] = await Promise.all([pool.run(wrong, 'denoised').catch((e: Error) => e), here.run(wrong, 'denoised').catch((e: Error) => e)]);
    expect(there).toBeInstanceOf(Error);
    expect((there as Error).message).toBe((local as Error).message);
    expect(pool.failure).toBeUndefined();
    await expect(pool.run(feeds(1, 8, 8, 2), 'denoised')).resolves.toMatchObject({ dims: [1, 1, 8, 8] });
    await pool.release();
    await here.release();
  });

  it('lanes whose session does not open leave every run to the fallback, which answers them all', async () => {
    const here = await hereSession();
    const pool = new SessionPool(2, { bytes: new Uint8Array([1, 2, 3]), options, settings: { threads: 1 } }, here.run);
    const first = await pool.run(feeds(1, 16, 16, 1), 'denoised');
    for (let i = 0; i < 100 && pool.failure === undefined; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(pool.failure).toMatch(/^a lane's session did not open: /);
    const later = await Promise.all([1, 2, 3].map((i) => pool.run(feeds(2, 16, 16, i), 'denoised')));
    expect(first.dims).toEqual([1, 1, 16, 16]);
    expect(later.map((r) => r.dims)).toEqual([[2, 1, 16, 16], [2, 1, 16, 16], [2, 1, 16, 16]]);
    expect(pool.counts).toEqual({ lanes: 0, fallback: 4 });
    expect(here.runs).toBe(4);
    await pool.release();
    await here.release();
  });
});

describe('SessionPool', () => {
  it('the Node backend gives the CPU one lane per thread, at most MAX_LANES; none for one thread or another device', async () => {
    const { MAX_LANES } = (await import(builtUrl('session-pool.js'))) as typeof PoolModule;
    expect(MAX_LANES).toBe(4);
    const lanes = (device: string, threads: number) => {
      const pool = session.NODE_BACKEND.parallelRuns!(model, device, options as never, { threads }, async () => ({ data: new Float32Array(0), dims: [] }));
      void pool?.release();
      return pool?.lanes;
    };
    expect([lanes('cpu', 1), lanes('cpu', 2), lanes('cpu', 3), lanes('cpu', 4), lanes('cpu', 16)]).toEqual([undefined, 2, 3, 4, 4]);
    expect([lanes('webgpu', 4), lanes('cuda', 4)]).toEqual([undefined, undefined]);
  });


  it('runs before the lanes are up go to the fallback; then the lanes answer, with the outputs of a session on this thread', async () => {
    const here = await hereSession();
    const pool = new SessionPool(2, { bytes: model, options, settings: { threads: 1 } }, here.run);
    await pool.run(feeds(1, 8, 8, 0), 'denoised');
    expect(pool.counts).toEqual({ lanes: 0, fallback: 1 });
    await lanesUp(pool);
    const before = here.runs;
    const inputs = Array.from({ length: 6 }, (_, i) => feeds(2, 40 + 4 * i, 36, 10 + i));
    const there = await Promise.all(inputs.map((f) => pool.run(f, 'denoised')));
    expect(here.runs).toBe(before);
    for (let i = 0; i < inputs.length; i++) {
      const local = await here.run(inputs[i]!, 'denoised');
      expect(there[i]!.dims).toEqual(local.dims);
      expect(there[i]!.data).toEqual(local.data);
    }
    await pool.release();
    await here.release();
  });

  it('while the lanes start, the fallback takes queued runs one at a time: those still queued when a lane is up go to the lanes', async () => {
    const here = await hereSession();
    // A slow fallback: the lanes are up (about 0.1 s) long before its first run ends.
    const slow = async (f: readonly NamedTensor[], name: string) => {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      return here.run(f, name);
    };
    const pool = new SessionPool(2, { bytes: model, options, settings: { threads: 1 } }, slow);
    const inputs = Array.from({ length: 6 }, (_, i) => feeds(1, 16, 16, 40 + i));
    const outputs = await Promise.all(inputs.map((f) => pool.run(f, 'denoised')));
    expect(pool.counts).toEqual({ lanes: 5, fallback: 1 });
    for (let i = 0; i < inputs.length; i++) expect(outputs[i]!.data).toEqual((await here.run(inputs[i]!, 'denoised')).data);
    await pool.release();
    await here.release();
  });

  it('the Denoiser runs a large image\'s tiles and a large batch on one lane per thread: the pixels of one session at a time', async () => {
    const rng = new Rng(5);
    const image = { data: Uint8Array.from({ length: 1300 * 700 }, () => Math.floor(rng.nextFloat() * 256)), width: 1300, height: 700, channels: 1 as const };
    const batch = Array.from({ length: 200 }, (_, i) => ({ data: Uint8Array.from({ length: 28 * 28 * 3 }, (_, k) => (k * 31 + i * 7) % 256), width: 28, height: 28, channels: 3 as const }));
    const one = await Denoiser.create({ model, device: 'cpu', threads: 1 });
    const two = await Denoiser.create({ model, device: 'cpu', threads: 2 });
    expect([one.lanes, two.lanes]).toEqual([1, 2]);
    // Twice: the first call's early tiles may run before the lanes are up.
    for (let round = 0; round < 2; round++) {
      expect((await two.denoise(image)).data).toEqual((await one.denoise(image)).data);
      const [a, b] = [await two.denoiseBatch(batch), await one.denoiseBatch(batch)];
      a.forEach((result, i) => expect(result.data).toEqual(b[i]!.data));
    }
    await Promise.all([one.dispose(), two.dispose()]);
  });

  it('a model with a noise map: its map goes to the lanes with each tile (the level told, per image or by sigma)', async () => {
    const offset = noiseMapOffsetModel(3);
    const image = { data: Uint8Array.from({ length: 400 * 200 * 3 }, (_, i) => (i * 7) % 200), width: 400, height: 200, channels: 3 as const };
    const laned = await Denoiser.create({ model: offset, device: 'cpu', threads: 2, tile: 64 });
    const single = await Denoiser.create({ model: offset, device: 'cpu', threads: 1, tile: 64 });
    expect(laned.lanes).toBe(2);
    for (const sigma of [20, 'auto'] as const) {
      for (let round = 0; round < 2; round++) {
        const [a, b] = [await laned.denoise(image, { sigma }), await single.denoise(image, { sigma })];
        expect(a.data).toEqual(b.data);
      }
    }
    // Told sigma 20: every pixel moved up by 20 levels (clamped at 255).
    const told = await laned.denoise(image, { sigma: 20 });
    expect(Array.from(told.data.subarray(0, 6))).toEqual(Array.from(image.data.subarray(0, 6), (v) => Math.min(255, v + 20)));
    await Promise.all([laned.dispose(), single.dispose()]);
  });

  it('a process that ends, or exits after settleThreads, while its lanes open their sessions does not abort', () => {
    const photo = path.resolve('models/photo-denoiser.onnx');
    for (const delay of [-1, 0, 30, 60, 90, 120]) {
      // delay -1: the script just ends (the lanes keep it alive until their sessions are open, then let it go).
      const script = `const { SessionPool } = await import(${JSON.stringify(builtUrl('session-pool.js'))});
        const { settleThreads } = await import(${JSON.stringify(builtUrl('thread-settle.js'))});
        const { readFileSync } = await import('node:fs');
        const pool = new SessionPool(2, { bytes: readFileSync(${JSON.stringify(photo)}), options: ${JSON.stringify(options)}, settings: { threads: 1 } }, async () => ({ data: new Float32Array(0), dims: [] }));
        pool.start();
        if (${delay} >= 0) {
          await new Promise((resolve) => setTimeout(resolve, ${delay}));
          await settleThreads();
          process.exit(7);
        }`;
      const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, ORT_DISABLE_TELEMETRY: '1' } });
      expect(child.stderr, `delay ${delay}`).not.toMatch(/terminate called|Napi::Error/);
      expect(child.status, `delay ${delay}: ${child.stderr}`).toBe(delay < 0 ? 0 : 7);
    }
  });

  it('idle lanes do not keep a process alive: one that never disposes its Denoiser ends by itself', () => {
    const script = `const { Denoiser } = await import(${JSON.stringify(builtUrl('denoiser.js'))});
      const d = await Denoiser.create({ model: 'noise-reducer', device: 'cpu', threads: 2 });
      await d.denoise({ data: new Uint8Array(1200 * 900), width: 1200, height: 900, channels: 1 });
      process.stdout.write('lanes ' + d.lanes);`;
    const started = performance.now();
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, ORT_DISABLE_TELEMETRY: '1' } });
    expect(child.stderr).toBe('');
    expect(child.stdout).toBe('lanes 2');
    expect(child.status).toBe(0);
    expect(performance.now() - started).toBeLessThan(30_000);
  });
});
