// The Denoiser on its own thread (the compiled WorkerDenoiser, as `denoise` runs it for many small files): the same errors and the same pixels as the library in-process, batched.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../runtime-common/rng.js';
import { Denoiser } from '../../runtime-node/denoiser.js';
import type * as WorkerModule from '../../runtime-node/worker-denoiser.js';
import type * as ThreadModule from '../../runtime-node/early-thread.js';
import { noiseReducerLikeModel } from '../../tools/onnx/test-models.js';
import { tempDirs } from '../temp-dir.js';

// The thread runs compiled JavaScript (the global setup builds it), so the suite takes the built modules.
const built = (file: string) => import(pathToFileURL(path.resolve('runtime-node/dist', file)).href);
let WorkerDenoiser: typeof WorkerModule.WorkerDenoiser;
let thread: typeof ThreadModule;
const model = noiseReducerLikeModel();
const names = { device: '--device', model: '--model', sigma: '--sigma' };
const makeTempDir = tempDirs();

beforeAll(async () => {
  ({ WorkerDenoiser } = (await built('worker-denoiser.js')) as typeof WorkerModule);
  thread = (await built('early-thread.js')) as typeof ThreadModule;
});

/** The error a promise rejects with. */
async function rejection(promise: Promise<unknown>): Promise<Error & { argument?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { argument?: string };
  }
  throw new Error('expected a rejection');
}

/** Seeded images: grey, grey + alpha, RGB, RGBA, 8 and 16 bits, two sizes. */
function images(): { data: Uint8Array | Uint16Array; width: number; height: number; channels: 1 | 2 | 3 | 4 }[] {
  const rng = new Rng(9);
  const make = (width: number, height: number, channels: 1 | 2 | 3 | 4, sixteen = false) => {
    const n = width * height * channels;
    const data = sixteen ? Uint16Array.from({ length: n }, () => Math.floor(rng.nextFloat() * 65536)) : Uint8Array.from({ length: n }, () => Math.floor(rng.nextFloat() * 256));
    return { data, width, height, channels };
  };
  return [make(28, 28, 1), make(28, 28, 1), make(30, 20, 3), make(28, 28, 2), make(17, 9, 4), make(28, 28, 1, true), make(28, 28, 1)];
}

describe('WorkerDenoiser: bad calls', () => {
  it('a missing model or an unknown device rejects open with the library\'s own error, its argument kept', async () => {
    const missing = path.join(makeTempDir('worker-denoiser-'), 'none.onnx');
    const [there, here] = await Promise.all([rejection(WorkerDenoiser.open({ model: missing }, names)), rejection(Denoiser.create({ model: missing }))]);
    expect(there.name).toBe('ValidationError');
    expect(there.argument).toBe('--model');
    expect(there.message).toBe(here.message.replace('options.model', '--model'));
    const [device, deviceHere] = await Promise.all([rejection(WorkerDenoiser.open({ model, device: 'quantum' as never }, names)), rejection(Denoiser.create({ model, device: 'quantum' as never }))]);
    expect(device.argument).toBe('--device');
    expect(device.message).toMatch(/^Expected one of "auto", "cpu", .* for --device but received "quantum"/);
    expect(device.message).toBe(deviceHere.message.replace('options.device', '--device'));
  });

  it('a thread that fails or ends before its model opens rejects with ThreadFailure (the CLI then keeps the model on its own thread)', async () => {
    const { Worker } = await import('node:worker_threads');
    const throwing = new Worker('throw new Error("no thread here")', { eval: true });
    const failed = await rejection(WorkerDenoiser.open({ model }, names, throwing));
    expect([failed.name, failed.message]).toEqual(['ThreadFailure', 'the inference thread failed: no thread here']);
    const ending = new Worker('process.exit(3)', { eval: true });
    const ended = await rejection(WorkerDenoiser.open({ model }, names, ending));
    expect([ended.name, ended.message]).toEqual(['ThreadFailure', 'the inference thread exited (code 3) before its model opened']);
  });

  it('a bad image fails alone with the library\'s message; the others in its batch are denoised', async () => {
    const d = await WorkerDenoiser.open({ model, device: 'cpu' }, names);
    const good = images();
    const bad = { data: new Uint8Array(10), width: 28, height: 28, channels: 1 as const };
    const results = await Promise.allSettled([...good.slice(0, 3), bad, ...good.slice(3)].map((image) => d.denoise(image)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    const error = (results[3] as PromiseRejectedResult).reason as Error & { argument?: string };
    const here = await Denoiser.create({ model, device: 'cpu' });
    const expected = await rejection(here.denoise(bad));
    await here.dispose();
    expect(error.message).toMatch(/^Expected 784 samples .* for image.data.length but received 10$/);
    expect([error.name, error.message, error.argument]).toEqual([expected.name, expected.message, (expected as { argument?: string }).argument]);
    await d.dispose();
    await expect(d.denoise(good[0]!)).rejects.toThrow(/the inference thread exited/);
  });
});

describe('WorkerDenoiser', () => {
  const open: { dispose(): Promise<void> }[] = [];
  afterAll(() => Promise.all(open.map((d) => d.dispose())));

  it('gives the in-process Denoiser\'s pixels exactly, in order, for requests made together (one batch) and one by one', async () => {
    const there = await WorkerDenoiser.open({ model, device: 'cpu', threads: 1 }, names);
    const here = await Denoiser.create({ model, device: 'cpu', threads: 1 });
    open.push(there, here);
    expect(there.device).toBe('cpu');
    expect(there.skipped).toEqual([]);
    expect(there.model.source).toBe(here.model.source);
    expect(there.model.warnings).toEqual(here.model.warnings);
    const input = images();
    const expected = await Promise.all(input.map((image) => here.denoise(image)));
    const together = await Promise.all(input.map((image) => there.denoise(image)));
    const alone = [];
    for (const image of input) alone.push(await there.denoise(image));
    for (const results of [together, alone]) {
      results.forEach((result, i) => {
        expect(result.data).toBeInstanceOf(input[i]!.data.constructor);
        expect([result.width, result.height, result.channels]).toEqual([input[i]!.width, input[i]!.height, input[i]!.channels]);
        expect(Array.from(result.data)).toEqual(Array.from(expected[i]!.data));
      });
    }
  });

  it('serves 200 requests in flight at once (more than a batch holds) with every result in its place', async () => {
    const there = await WorkerDenoiser.open({ model, device: 'cpu' }, names);
    const here = await Denoiser.create({ model, device: 'cpu' });
    open.push(there, here);
    const rng = new Rng(3);
    const input = Array.from({ length: 200 }, () => ({ data: Uint8Array.from({ length: 784 }, () => Math.floor(rng.nextFloat() * 256)), width: 28, height: 28, channels: 1 as const }));
    const results = await Promise.all(input.map((image) => there.denoise(image)));
    const expected = await here.denoiseBatch(input);
    results.forEach((result, i) => expect(Array.from(result.data), `image ${i}`).toEqual(Array.from(expected[i]!.data)));
  });
});

describe('early-thread: which command lines may be many files', () => {
  it('threadExecArgv drops what a thread from a file refuses: --input-type, and -e / -p with their code', () => {
    expect(thread.threadExecArgv(['--input-type=module', '-e', 'import("x")', '--stack-size=2000'])).toEqual(['--stack-size=2000']);
    expect(thread.threadExecArgv(['--eval=1', '-p', '2', '--print', '3', '--max-old-space-size=512', '--eval', '4'])).toEqual(['--max-old-space-size=512']);
    expect(thread.threadExecArgv([])).toEqual([]);
  });

  it('plainInputs takes arguments that follow no option, and everything after --', () => {
    expect(thread.plainInputs(['a.png', 'b', '-o', 'out/', '--model', 'm.onnx', 'c.jpg'])).toEqual(['a.png', 'b', 'c.jpg']);
    expect(thread.plainInputs(['--sigma=auto', 'dir', '--force', 'missed', '--', '-odd.png', '--x'])).toEqual(['dir', '-odd.png', '--x']);
    expect(thread.plainInputs([])).toEqual([]);
  });

  it('mayBeManyFiles: a folder (written with a slash or found on disk), or WORKER_MIN_FILES names', () => {
    const dir = makeTempDir('early-thread-');
    expect(thread.mayBeManyFiles([dir])).toBe(true);
    expect(thread.mayBeManyFiles(['not-there/'])).toBe(true);
    expect(thread.mayBeManyFiles(['a.png', path.join(dir, 'missing.png')])).toBe(false);
    expect(thread.mayBeManyFiles(Array.from({ length: thread.WORKER_MIN_FILES }, (_, i) => `${i}.png`))).toBe(true);
    expect(thread.mayBeManyFiles(Array.from({ length: thread.WORKER_MIN_FILES - 1 }, (_, i) => `${i}.png`))).toBe(false);
  });

  it('takeInferenceThread hands over the thread startThreadEarly started, once; then a new one', async () => {
    expect(thread.inferenceThreadAvailable()).toBe(true);
    thread.startThreadEarly();
    const first = thread.takeInferenceThread();
    const second = thread.takeInferenceThread();
    expect(first).not.toBe(second);
    const d = await WorkerDenoiser.open({ model, device: 'cpu' }, names, first);
    expect((await d.denoise(images()[0]!)).width).toBe(28);
    await Promise.all([d.dispose(), second.terminate()]);
  });
});
