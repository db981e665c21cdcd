// The shared session opening on a backend written in JS: device resolution with every reason, error mapping (model or device), queued runs, and the core Denoiser on it.
import { describe, expect, it } from 'vitest';
import { type DenoiserBackend, type NamedTensor, openSession, type OrtSessionLike, type ParallelRuns, SessionModelError } from '../../runtime-common/backend.js';
import { CoreDenoiser, loadModel, openModel, type OpenedModel } from '../../runtime-common/core-denoiser.js';
import { defineDevices, DeviceUnavailableError } from '../../runtime-common/devices.js';
import type { PixelImage } from '../../runtime-common/image-ops.js';
import { identityModel } from '../../tools/onnx/test-models.js';

const DEVICES = defineDevices(
  {
    gpu: { executionProviders: ['gpu-ep'], description: 'a GPU' },
    cpu: { executionProviders: ['cpu-ep'], description: 'the CPU' },
  },
  ['gpu', 'cpu'],
);

/** A session of the identity model whose runs resolve in the order `delays` says, logging when each starts and ends. */
function fakeSession(log: string[] = [], delays: number[] = []): OrtSessionLike & { released: number } {
  let runs = 0;
  return {
    released: 0,
    inputMetadata: [{ name: 'image', isTensor: true, type: 'float32', shape: ['N', 1, 'H', 'W'] }],
    outputMetadata: [{ name: 'denoised', isTensor: true, type: 'float32', shape: ['N', 1, 'H', 'W'] }],
    async run(feeds) {
      const k = runs++;
      log.push(`start ${k}`);
      await new Promise((resolve) => setTimeout(resolve, delays[k] ?? 0));
      log.push(`end ${k}`);
      const tensor = feeds.image as { data: Float32Array; dims: number[] };
      // A new array, as onnxruntime's outputs are: the caller may reuse the input once the run has settled.
      return { denoised: { data: tensor.data.slice(), dims: tensor.dims } };
    },
    async release() {
      this.released++;
    },
  };
}

/** A backend whose devices fail or open as `behaviour` says. */
function fakeBackend(behaviour: Record<string, 'missing' | 'starts' | Error>, extra: Partial<DenoiserBackend> = {}, session = fakeSession()): DenoiserBackend & { created: string[] } {
  const created: string[] = [];
  return {
    runtime: 'fake-ort',
    devices: DEVICES,
    created,
    probe: (device) => (behaviour[device] === 'missing' ? { missing: `no ${device} here` } : { adapter: device === 'gpu' ? 'Fake GPU' : undefined }),
    async createSession(_bytes, options) {
      created.push(options.executionProviders.join(','));
      const outcome = behaviour[options.executionProviders[0] === 'gpu-ep' ? 'gpu' : 'cpu'];
      if (outcome instanceof Error) throw outcome;
      return session;
    },
    tensor: (data, dims) => ({ data, dims }),
    ...extra,
  };
}

describe('backend sessions: bad calls', () => {
  it('refuses an unknown device, listing the valid ones', async () => {
    await expect(openSession(fakeBackend({}), identityModel(), 'tpu', undefined, '--device')).rejects.toThrow('Expected one of "auto", "gpu", "cpu" for --device but received "tpu"');
  });

  it('a named device that is missing or does not start is an error naming why, never a fallback', async () => {
    await expect(openSession(fakeBackend({ gpu: 'missing' }), identityModel(), 'gpu', undefined)).rejects.toThrow('Expected a device available on this machine for device but received "gpu": no gpu here');
    const log = new Error('\n[E:onnxruntime:Default, provider.cc:12] driver crashed\nstack');
    await expect(openSession(fakeBackend({ gpu: log }), identityModel(), 'gpu', undefined)).rejects.toThrow('Expected a device available on this machine for device but received "gpu": gpu failed to start: driver crashed');
    const said = fakeBackend({ gpu: new Error('boom') }, { startFailure: (device, message, probe) => `${device} on ${probe.adapter} said ${message}` });
    await expect(openSession(said, identityModel(), 'gpu', undefined)).rejects.toThrow('received "gpu": gpu on Fake GPU said boom');
  });

  it('auto collects every device\'s reason when none opens', async () => {
    const backend = fakeBackend({ gpu: 'missing', cpu: new Error('no memory') });
    const error = await openSession(backend, identityModel(), 'auto', undefined).catch((e: Error) => e);
    expect(error).toBeInstanceOf(DeviceUnavailableError);
    expect((error as Error).message).toBe('no device could be opened: gpu: no gpu here; cpu: cpu failed to start: no memory');
  });

  it('a model onnxruntime rejects stops auto at once: by its message, or where the backend says so', async () => {
    const rejected = fakeBackend({ gpu: new Error('Load model from bytes failed: No Op registered for Idontity\nmore') });
    const error = await openSession(rejected, identityModel(), 'auto', undefined).catch((e: Error) => e);
    expect(error).toBeInstanceOf(SessionModelError);
    expect((error as Error).message).toBe('Load model from bytes failed: No Op registered for Idontity');
    expect(rejected.created).toEqual(['gpu-ep']);
    const cpuAlwaysThere = fakeBackend({ cpu: new Error('something odd') }, { modelAtFault: (device) => device === 'cpu' });
    await expect(openSession(cpuAlwaysThere, identityModel(), 'cpu', undefined)).rejects.toThrow(SessionModelError);
  });

  it('openModel names the runtime for a rejected graph and releases a session whose model is no denoiser', async () => {
    const rejected = fakeBackend({ cpu: new Error('INVALID_GRAPH: bad') });
    await expect(openModel(rejected, { bytes: identityModel(), source: 'm.onnx' }, { device: 'cpu', deviceArgument: 'options.device', settings: undefined })).rejects.toThrow(
      'Expected an ONNX model fake-ort can load for m.onnx but received one it rejects: INVALID_GRAPH: bad',
    );
    const session = fakeSession();
    Object.assign(session, { outputMetadata: [] });
    await expect(openModel(fakeBackend({ cpu: 'starts' }, {}, session), { bytes: identityModel(), source: 'm.onnx' }, { device: 'cpu', deviceArgument: 'd', settings: undefined })).rejects.toThrow(/Expected an image denoiser/);
    expect(session.released).toBe(1);
  });

  it('an aborted signal stops openModel with its reason', async () => {
    const signal = AbortSignal.abort(new Error('stop'));
    await expect(openModel(fakeBackend({ cpu: 'starts' }), { bytes: identityModel(), source: 'm' }, { device: 'cpu', deviceArgument: 'd', settings: undefined, signal })).rejects.toThrow('stop');
  });
});

describe('backend sessions', () => {
  it('auto takes the first device that opens, with the reasons of those it skipped, its providers and its adapter', async () => {
    const backend = fakeBackend({ gpu: 'missing', cpu: 'starts' });
    const session = await openSession(backend, identityModel(), 'auto', undefined);
    expect([session.device, session.skipped, session.adapter, backend.created]).toEqual(['cpu', ['gpu: no gpu here'], undefined, ['cpu-ep']]);
    expect(session.inputs).toEqual([{ name: 'image', isTensor: true, type: 'float32', shape: ['N', 1, 'H', 'W'] }]);
    expect((await openSession(fakeBackend({ gpu: 'starts' }), identityModel(), 'auto', undefined)).adapter).toBe('Fake GPU');
  });

  it('queues the runs of one session; a backend queue serves all of its sessions', async () => {
    const log: string[] = [];
    const session = await openSession(fakeBackend({ cpu: 'starts' }, {}, fakeSession(log, [30, 0])), identityModel(), 'cpu', undefined);
    const input = new Float32Array(4);
    await Promise.all([session.run([{ name: 'image', data: input, dims: [1, 1, 2, 2] }], 'denoised'), session.run([{ name: 'image', data: input, dims: [1, 1, 2, 2] }], 'denoised')]);
    expect(log).toEqual(['start 0', 'end 0', 'start 1', 'end 1']);
    const tasks: string[] = [];
    const queued = fakeBackend({ cpu: 'starts' }, { queue: (task) => (tasks.push('queued'), task()) });
    await (await openSession(queued, identityModel(), 'cpu', undefined)).run([{ name: 'image', data: input, dims: [1, 1, 2, 2] }], 'denoised');
    expect(tasks).toEqual(['queued']);
  });

  it('writes into the given output array only on a device the backend says, for outputs of 65,536 values or more, once a shape has kept its size', async () => {
    const calls: string[] = [];
    // Doubles its input; inputs 3 rows high come out half as wide (a model that changes the shape).
    const session: OrtSessionLike & { released: number } = {
      released: 0,
      inputMetadata: [{ name: 'image', isTensor: true, type: 'float32', shape: ['N', 1, 'H', 'W'] }],
      outputMetadata: [{ name: 'denoised', isTensor: true, type: 'float32', shape: ['N', 1, 'H', 'W'] }],
      async run(feeds, fetches) {
        const { data, dims } = feeds.image as { data: Float32Array; dims: number[] };
        const doubled = data.map((v) => 2 * v);
        const given = (fetches as Record<string, { data: Float32Array; dims: number[] }> | undefined)?.denoised;
        calls.push(given ? `into given ${dims.join('x')}` : `own ${dims.join('x')}`);
        if (given) {
          given.data.set(doubled);
          return { denoised: given };
        }
        return { denoised: dims[2] === 3 ? { data: doubled.subarray(0, data.length / 2), dims: [dims[0]!, 1, 3, dims[3]! / 2] } : { data: doubled, dims } };
      },
      async release() {},
    };
    const backend = fakeBackend({ gpu: 'starts', cpu: 'starts' }, { preallocateOutput: (device) => device === 'cpu' }, session);
    const cpu = await openSession(backend, identityModel(), 'cpu', undefined);
    const run = async (dims: number[], output?: Float32Array) => {
      const input = new Float32Array(dims.reduce((a, b) => a * b)).map((_, i) => i % 100);
      const result = await cpu.run([{ name: 'image', data: input, dims }], 'denoised', output);
      // Every value checked against the input doubled, whichever array holds it.
      const doubled = Array.from(result.data as Float32Array).every((v, i) => v === 2 * (i % 100));
      return { same: result.data === output, doubled, dims: result.dims };
    };
    // 65,536 values: the smallest output the backend is given an array for.
    const square = [1, 1, 256, 256];
    const values = (dims: number[]) => new Float32Array(dims.reduce((a, b) => a * b));
    expect(await run(square, values(square))).toEqual({ same: false, doubled: true, dims: square });
    expect(await run(square, values(square))).toEqual({ same: true, doubled: true, dims: square });
    // No array, or one of another size: the runtime's own output.
    expect((await run(square)).same).toBe(false);
    expect((await run(square, new Float32Array(3))).same).toBe(false);
    // A smaller output never gets one: the runtime allocates it faster than onnxruntime-node checks a given one.
    const small = [1, 1, 255, 256];
    for (let i = 0; i < 2; i++) expect(await run(small, values(small))).toEqual({ same: false, doubled: true, dims: small });
    // The shape-changing inputs never get an array, however often they come.
    const wide = [1, 1, 3, 2 ** 15];
    for (let i = 0; i < 2; i++) expect(await run(wide, values(wide))).toEqual({ same: false, doubled: true, dims: [1, 1, 3, 2 ** 14] });
    expect(calls).toEqual(['own 1x1x256x256', 'into given 1x1x256x256', 'own 1x1x256x256', 'own 1x1x256x256', 'own 1x1x255x256', 'own 1x1x255x256', 'own 1x1x3x32768', 'own 1x1x3x32768']);
    // Another device of the same backend: never.
    calls.length = 0;
    const gpu = await openSession(backend, identityModel(), 'gpu', undefined);
    for (let i = 0; i < 2; i++) await gpu.run([{ name: 'image', data: values(square), dims: square }], 'denoised', values(square));
    expect(calls).toEqual(['own 1x1x256x256', 'own 1x1x256x256']);
  });

  it('loadModel takes bytes as they are, a bare name as a shipped model and anything else as a location', async () => {
    const reads: string[] = [];
    const reader = {
      shippedLocation: (name: string) => `shipped/${name}.onnx`,
      read: async (location: string, shipped: boolean) => (reads.push(`${location} ${shipped}`), { bytes: new Uint8Array(1), source: location }),
    };
    const bytes = new Uint8Array(2);
    expect((await loadModel(bytes, 'model', reader)).bytes).toBe(bytes);
    expect((await loadModel(new ArrayBuffer(3), 'model', reader)).source).toBe('model bytes');
    await loadModel(undefined, 'model', reader);
    await loadModel('noise-reducer', 'model', reader);
    await loadModel('models/x.onnx', 'model', reader);
    await loadModel(new URL('https://example.invalid/m.onnx'), 'model', reader);
    expect(reads).toEqual(['shipped/photo-denoiser.onnx true', 'shipped/noise-reducer.onnx true', 'models/x.onnx false', 'https://example.invalid/m.onnx false']);
  });

  it('the core Denoiser checks every output and refuses calls once disposed', async () => {
    class Plain extends CoreDenoiser {
      static async open(backend: DenoiserBackend): Promise<Plain> {
        const opened: OpenedModel = await openModel(backend, { bytes: identityModel(), source: 'm' }, { device: 'cpu', deviceArgument: 'd', settings: undefined });
        return new Plain(opened, { tile: 0 });
      }
    }
    const session = fakeSession();
    const d = await Plain.open(fakeBackend({ cpu: 'starts' }, {}, session));
    expect(Array.from(await d.runTensor(new Float32Array([1, 2]), [1, 1, 1, 2]))).toEqual([1, 2]);
    await d.dispose();
    await d.dispose();
    expect(session.released).toBe(1);
    await expect(d.runTensor(new Float32Array(2), [1, 1, 1, 2])).rejects.toThrow('Expected a Denoiser that is not disposed for this call but received one whose dispose() was called (model m): create a new one');
  });
  it('the core Denoiser reuses its tensors without mixing up concurrent calls, tiles and batches', async () => {
    class Pooled extends CoreDenoiser {
      static async open(backend: DenoiserBackend, tile: number): Promise<Pooled> {
        const opened: OpenedModel = await openModel(backend, { bytes: identityModel(), source: 'm' }, { device: 'cpu', deviceArgument: 'd', settings: undefined });
        return new Pooled(opened, { tile, overlap: tile ? 4 : undefined });
      }
      one(image: PixelImage) {
        return this.denoiseChecked(image);
      }
      many(images: PixelImage[]) {
        return this.denoiseCheckedBatch(images, 2 ** 20);
      }
    }
    // Inverts [0, 1] values, after a delay that differs per run so that calls overlap; writes into a given array (the
    // 256x256 images, whole or stacked, are large enough to be given one).
    let runs = 0;
    const session: OrtSessionLike & { released: number } = {
      released: 0,
      inputMetadata: [{ name: 'image', isTensor: true, type: 'float32', shape: ['N', 1, 'H', 'W'] }],
      outputMetadata: [{ name: 'denoised', isTensor: true, type: 'float32', shape: ['N', 1, 'H', 'W'] }],
      async run(feeds, fetches) {
        // The input is read only after the delay: an array handed back to the pool too early would have changed.
        await new Promise((resolve) => setTimeout(resolve, (runs++ * 7) % 5));
        const { data, dims } = feeds.image as { data: Float32Array; dims: number[] };
        const inverted = data.map((v) => 1 - v);
        const given = (fetches as Record<string, { data: Float32Array; dims: number[] }> | undefined)?.denoised;
        // onnxruntime would read an input that is also the output while overwriting it.
        if (given?.data.buffer === data.buffer) throw new Error('the output array is the input array');
        if (given) given.data.set(inverted);
        return { denoised: given ?? { data: inverted, dims } };
      },
      async release() {},
    };
    const backend = fakeBackend({ cpu: 'starts' }, { preallocateOutput: () => true }, session);
    const picture = (width: number, height: number, seed: number): PixelImage => ({ data: new Uint8Array(width * height).map((_, i) => (i * 31 + seed * 17) % 256), width, height, channels: 1 });
    const inverse = (image: PixelImage) => Array.from(image.data, (v) => 255 - v);
    for (const tile of [0, 16]) {
      const d = await Pooled.open(backend, tile);
      const images = Array.from({ length: 12 }, (_, k) => (k % 3 === 0 ? picture(256, 256 + (k % 2), k) : picture(12, 10 + (k % 2), k)));
      const [singles, batch] = await Promise.all([Promise.all(images.map((image) => d.one(image))), d.many(images)]);
      images.forEach((image, k) => {
        expect(Array.from(singles[k]!.data)).toEqual(inverse(image));
        expect(Array.from(batch[k]!.data)).toEqual(inverse(image));
      });
      await d.dispose();
    }
  });
  it('a backend\'s parallel runs: exposed with their lanes, the fallback is the session\'s queued run, released before the session; the core Denoiser sends tiles and large batches there', async () => {
    const log: string[] = [];
    const session = fakeSession(log);
    const release = session.release.bind(session);
    session.release = async () => {
      log.push('session released');
      await release();
    };
    let fallback: ParallelRuns['run'] | undefined;
    const sizes: number[][] = [];
    const starts: string[] = [];
    const backend = fakeBackend({ cpu: 'starts' }, {
      parallelRuns(_bytes, device, options, _settings, here) {
        fallback = here;
        log.push(`pool for ${device} with ${options.executionProviders.join(',')}`);
        return {
          lanes: 3,
          // Every other run goes to the fallback (as while lanes start); the rest answer after a delay that reverses their order.
          async run(feeds: readonly NamedTensor[], outputName: string) {
            sizes.push([...feeds[0]!.dims]);
            if (sizes.length % 2 === 0) return here(feeds, outputName);
            await new Promise((resolve) => setTimeout(resolve, 8 - (sizes.length % 8)));
            return { data: feeds[0]!.data.slice(), dims: feeds[0]!.dims };
          },
          start: () => void starts.push('start'),
          async release() {
            log.push('pool released');
          },
        };
      },
    }, session);
    const opened = await openSession(backend, identityModel(), 'cpu', undefined);
    expect(opened.parallel?.lanes).toBe(3);
    expect(log).toEqual(['pool for cpu with cpu-ep']);
    // The fallback is the session's own queue: runs through it and through run() never overlap.
    const feeds = (n: number) => [{ name: 'image', data: new Float32Array(n).fill(n), dims: [1, 1, 1, n] }];
    await Promise.all([fallback!(feeds(1), 'denoised'), opened.run(feeds(2), 'denoised'), fallback!(feeds(3), 'denoised')]);
    expect(log.slice(1)).toEqual(['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2']);
    await opened.release();
    expect(log.slice(-2)).toEqual(['pool released', 'session released']);
    // Without parallelRuns (or when it declines) a session has none.
    expect((await openSession(fakeBackend({ cpu: 'starts' }), identityModel(), 'cpu', undefined)).parallel).toBeUndefined();
    expect((await openSession(fakeBackend({ cpu: 'starts' }, { parallelRuns: () => undefined }), identityModel(), 'cpu', undefined)).parallel).toBeUndefined();

    class Lanes extends CoreDenoiser {
      static async open(b: DenoiserBackend, grey?: () => Promise<Lanes>): Promise<Lanes> {
        return new Lanes(await openModel(b, { bytes: identityModel(), source: 'm' }, { device: 'cpu', deviceArgument: 'd', settings: undefined }), { tile: 16, overlap: 4 }, undefined, grey);
      }
      one(image: PixelImage) {
        return this.denoiseChecked(image);
      }
      many(images: PixelImage[]) {
        return this.denoiseCheckedBatch(images, 2 ** 22);
      }
    }
    const d = await Lanes.open(backend);
    expect(d.lanes).toBe(3);
    // prepare starts the lanes for a size that will be tiled (16 px tiles, 4 px overlap), not for one tile or a bad size.
    starts.length = 0;
    d.prepare(20, 20);
    d.prepare(0, 100);
    d.prepare(Number.NaN, 100);
    expect(starts).toEqual([]);
    d.prepare(70, 50);
    expect(starts).toEqual(['start']);
    // With a grey companion: a grey header (1 or 2 channels) opens the companion and gets it ready; a colour one does
    // nothing (it may hold a grey picture, which the companion takes).
    let companionsOpened = 0;
    const companion = await Lanes.open(backend);
    const routed = await Lanes.open(backend, async () => (companionsOpened++, companion));
    starts.length = 0;
    routed.prepare(70, 50, 3);
    routed.prepare(70, 50);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect([companionsOpened, starts.length]).toEqual([0, 0]);
    routed.prepare(70, 50, 1);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect([companionsOpened, starts.length]).toEqual([1, 1]);
    await routed.dispose();
    await companion.dispose();
    sizes.length = 0;
    const picture = { data: new Uint8Array(70 * 50).map((_, i) => (i * 37) % 256), width: 70, height: 50, channels: 1 };
    expect(Array.from((await d.one(picture)).data)).toEqual(Array.from(picture.data));
    expect(sizes.length).toBeGreaterThan(4);
    // Images in one tile (12x10): 100 hold 12,000 values, too few for two parts of 16,384, so one run on the session;
    // 300 (36,000 values) make two such parts, fewer than the three lanes.
    const small = (k: number) => ({ data: new Uint8Array(120).fill(k), width: 12, height: 10, channels: 1 });
    sizes.length = 0;
    await d.many(Array.from({ length: 100 }, (_, k) => small(k)));
    expect(sizes).toEqual([]);
    const results = await d.many(Array.from({ length: 300 }, (_, k) => small(k % 256)));
    expect(sizes.map((dims) => dims[0])).toEqual([150, 150]);
    results.forEach((result, k) => expect(result.data[0]).toBe(k % 256));
    await d.dispose();
  });
});

