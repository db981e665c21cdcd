// The shared denoising algorithm with a model written in JS: tiles against whole images, channel plans, batches, value ranges.
import { describe, expect, it } from 'vitest';
import { checkTileSettings, defaultOverlap, denoiseBatch, denoiseImage, type InferFunction, PARALLEL_FROM, type ParallelInfer, planTiles } from '../../runtime-common/denoise-core.js';
import type { ModelInfo } from '../../runtime-common/model-info.js';

function model(overrides: Partial<ModelInfo> = {}): ModelInfo {
  return { source: 'js', inputName: 'image', outputName: 'denoised', channels: 1, valueRange: [0, 1], sizeMultiple: 1, receptiveField: undefined, name: undefined, metadata: {}, warnings: [], ...overrides };
}

/** A 5x5 box blur with zero padding, per plane, as brute-force loops: a network with receptive-field radius 2. */
const boxBlur5: InferFunction = async (input, [n, c, h, w]) => {
  const out = new Float32Array(input.length);
  for (let p = 0; p < n * c; p++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let sum = 0;
        for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) {
          const yy = y + dy;
          const xx = x + dx;
          if (yy >= 0 && yy < h && xx >= 0 && xx < w) sum += input[p * h * w + yy * w + xx]!;
        }
        out[p * h * w + y * w + x] = sum / 25;
      }
    }
  }
  return out;
};

function pattern(length: number, seed: number): Float32Array {
  return new Float32Array(length).map((_, i) => ((i * 7919 + seed * 104729) % 1000) / 1000);
}

/**
 * Runs side by side, as a pool of sessions would: each run settles after a delay that makes later runs finish first
 * (so only the core's ordering keeps results right); records the most runs in flight, and fails the runs `fail` picks.
 */
function sideBySide(lanes: number, fail: (run: number) => boolean = () => false): ParallelInfer & { runs: number[][]; most: number } {
  let flying = 0;
  const side = {
    lanes,
    runs: [] as number[][],
    most: 0,
    infer: (async (input, dims) => {
      const run = side.runs.push([...dims]);
      side.most = Math.max(side.most, ++flying);
      try {
        await new Promise((resolve) => setTimeout(resolve, [6, 3, 0][run % 3]));
        if (fail(run)) throw new Error(`run ${run} failed`);
        return await boxBlur5(input, dims);
      } finally {
        flying--;
      }
    }) as InferFunction,
  };
  return side;
}

describe('denoise core: bad calls', () => {
  it('rejects tile settings that leave nothing to blend', () => {
    expect(() => checkTileSettings({ tile: 40, overlap: 32 })).toThrow('Expected an integer >= 65 for tiles.tile but received 40');
    expect(() => checkTileSettings({ tile: -1 }, 'options')).toThrow('Expected an integer >= 0 for options.tile but received -1');
    expect(() => checkTileSettings({ tile: 12 })).toThrow('Expected an integer >= 16 for tiles.tile but received 12');
    expect(() => checkTileSettings({ overlap: 1.5 })).toThrow('Expected an integer >= 0 for tiles.overlap but received 1.5');
  });

  it('refuses images of another size when the model fixes its input size', async () => {
    const fixed = model({ source: 'fixed.onnx', fixedSize: [28, 28] });
    await expect(denoiseImage({ data: new Uint8Array(30 * 28), width: 30, height: 28, channels: 1 }, fixed, boxBlur5, { tile: 512 })).rejects.toThrow(
      'Expected a 28x28 image (fixed.onnx has a fixed input size) for image but received 30x28',
    );
    await expect(denoiseBatch([{ data: new Uint8Array(4), width: 2, height: 2, channels: 1 }, { data: new Uint8Array(4), width: 2, height: 2, channels: 1 }], fixed, boxBlur5, { tile: 512, maxBatchValues: 100 })).rejects.toThrow(/Expected a 28x28 image/);
  });

  it('passes model errors through', async () => {
    const broken: InferFunction = async () => { throw new Error('model failed'); };
    await expect(denoiseImage({ data: new Uint8Array(4), width: 2, height: 2, channels: 1 }, model(), broken, { tile: 0, overlap: 0 })).rejects.toThrow('model failed');
  });

  it('rejects with the reason of an aborted signal before any model run, and stops between tiles', async () => {
    const image = { data: pattern(100 * 100, 3), width: 100, height: 100, channels: 1 };
    const runs: number[] = [];
    const counting: InferFunction = async (input, dims) => {
      runs.push(1);
      return boxBlur5(input, dims);
    };
    const before = new AbortController();
    before.abort(new Error('cancelled by the user'));
    await expect(denoiseImage(image, model(), counting, { tile: 40, overlap: 16 }, { signal: before.signal })).rejects.toThrow('cancelled by the user');
    expect(runs).toHaveLength(0);
    const during = new AbortController();
    const progress: number[] = [];
    const tiles = { tile: 40, overlap: 16 };
    const plan = planTiles(100, 100, model(), tiles);
    await expect(
      denoiseImage(image, model(), counting, tiles, {
        signal: during.signal,
        onTile: (done) => {
          progress.push(done);
          if (done === 2) during.abort();
        },
      }),
    ).rejects.toMatchObject({ name: 'AbortError' });
    expect(plan.rows.length * plan.columns.length).toBeGreaterThan(2);
    expect(progress).toEqual([1, 2]);
    expect(runs).toHaveLength(2);
  });
  it('rejects with the reason a row waiter rejects with, and runs no tile of the rows it waited for', async () => {
    const image = { data: pattern(100 * 100, 3), width: 100, height: 100, channels: 1 };
    let runs = 0;
    const counting: InferFunction = async (input, dims) => {
      runs++;
      return boxBlur5(input, dims);
    };
    const tiles = { tile: 40, overlap: 16 };
    const plan = planTiles(100, 100, model(), tiles);
    let calls = 0;
    const waitForRows = async () => {
      if (++calls === 2) throw new Error('file.png: truncated or damaged image data');
    };
    await expect(denoiseImage(image, model(), counting, tiles, { waitForRows })).rejects.toThrow('file.png: truncated or damaged image data');
    expect(runs).toBe(plan.columns.length);
  });

  it('runs side by side: a failing run rejects the call with its error (later runs in flight settle unobserved), an abort stops between runs', async () => {
    const image = { data: pattern(100 * 100, 3), width: 100, height: 100, channels: 1 };
    const tiles = { tile: 24, overlap: 8 };
    const plan = planTiles(100, 100, model(), tiles);
    const failing = sideBySide(2, (run) => run === 3 || run === 4);
    // Runs 3 and 4 both fail, 4 first (its delay is shorter): the call reports 3's error, the first in order.
    await expect(denoiseImage(image, model(), boxBlur5, tiles, {}, undefined, failing)).rejects.toThrow('run 3 failed');
    expect(failing.runs.length).toBeLessThan(plan.rows.length * plan.columns.length);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const during = new AbortController();
    const side = sideBySide(3);
    const progress: number[] = [];
    const call = denoiseImage(image, model(), boxBlur5, tiles, { signal: during.signal, onTile: (done) => progress.push(done) === 2 && during.abort() }, undefined, side);
    await expect(call).rejects.toMatchObject({ name: 'AbortError' });
    expect(progress).toEqual([1, 2]);
    // No run starts after the abort: those started before it are the window's (2 per lane).
    expect(side.runs.length).toBeLessThanOrEqual(2 + 2 * 3);
    const batch = Array.from({ length: 200 }, (_, i) => ({ data: pattern(28 * 28, i), width: 28, height: 28, channels: 1 }));
    await expect(denoiseBatch(batch, model(), boxBlur5, { tile: 512, maxBatchValues: 2 ** 22 }, undefined, sideBySide(2, (run) => run === 2))).rejects.toThrow('run 2 failed');
  });
});

describe('denoise core: runs side by side', () => {
  it('a tiled image\'s tiles go to the lanes, several at a time, and the result, progress and rows are those of one run at a time', async () => {
    const width = 157;
    const height = 131;
    const tiles = { tile: 32, overlap: 12 };
    const plan = planTiles(width, height, model(), tiles);
    const total = plan.rows.length * plan.columns.length;
    for (const [channels, lanes] of [[1, 2], [3, 3], [4, 2]] as const) {
      const image = { data: Uint8Array.from(pattern(width * height * channels, channels), (v) => Math.round(v * 255)), width, height, channels };
      const single = await denoiseImage(image, model(), boxBlur5, tiles);
      let plain = 0;
      const counted: InferFunction = (input, dims) => {
        plain++;
        return boxBlur5(input, dims);
      };
      const side = sideBySide(lanes);
      const progress: number[] = [];
      const rows: number[] = [];
      const result = await denoiseImage(image, model(), counted, tiles, { onTile: (done, all) => progress.push(done * 1000 + all), onRows: (_, y0, count) => rows.push(y0, count) }, undefined, side);
      expect(result.data).toEqual(single.data);
      expect(plain).toBe(0);
      expect(side.runs).toHaveLength(total);
      expect(side.most).toBe(2 * lanes);
      expect(progress).toEqual(Array.from({ length: total }, (_, i) => (i + 1) * 1000 + total));
      // Bands in order, each row once.
      let next = 0;
      for (let i = 0; i < rows.length; i += 2) {
        expect(rows[i]).toBe(next);
        next += rows[i + 1]!;
      }
      expect(next).toBe(height);
    }
    // An image in one tile is one run: the plain function's, not the lanes'.
    const side = sideBySide(2);
    let plain = 0;
    await denoiseImage({ data: pattern(20 * 20, 1), width: 20, height: 20, channels: 1 }, model(), (input, dims) => (plain++, boxBlur5(input, dims)), tiles, {}, undefined, side);
    expect([plain, side.runs.length]).toEqual([1, 0]);
  });

  it('a batch goes to the lanes in one part per lane when each part holds PARALLEL_FROM values or more, in order; a smaller one in one run', async () => {
    const perImage = 28 * 28;
    const images = Array.from({ length: 300 }, (_, i) => ({ data: pattern(perImage, i), width: 28, height: 28, channels: 1 }));
    const settings = { tile: 512, maxBatchValues: 2 ** 22 };
    const single = await denoiseBatch(images, model(), boxBlur5, settings);
    // 300 images are 235,200 values: one part per lane. 60 images (47,040 values) make only two parts of PARALLEL_FROM.
    expect(Math.floor((60 * perImage) / PARALLEL_FROM)).toBe(2);
    for (const [count, lanes, parts] of [[300, 2, [150, 150]], [300, 4, [75, 75, 75, 75]], [60, 4, [30, 30]]] as const) {
      const side = sideBySide(lanes);
      const results = await denoiseBatch(images.slice(0, count), model(), boxBlur5, settings, undefined, side);
      expect(side.runs.map((dims) => dims[0])).toEqual(parts);
      results.forEach((result, i) => expect(result.data).toEqual(single[i]!.data));
    }
    // maxBatchValues still caps each run.
    const capped = sideBySide(2);
    await denoiseBatch(images, model(), boxBlur5, { tile: 512, maxBatchValues: 100 * perImage }, undefined, capped);
    expect(capped.runs.map((dims) => dims[0])).toEqual([100, 100, 100]);
    // 40 images (31,360 values) cannot make two parts of PARALLEL_FROM: one run, on the plain function.
    expect(40 * perImage).toBeLessThan(2 * PARALLEL_FROM);
    const side = sideBySide(2);
    const runs: number[] = [];
    await denoiseBatch(images.slice(0, 40), model(), (input, dims) => (runs.push(dims[0]), boxBlur5(input, dims)), settings, undefined, side);
    expect([runs, side.runs.length]).toEqual([[40], 0]);
  });
});

describe('denoise core', () => {
  it('sizes the overlap and margin from the stated receptive field, or from the stated default [-32, 32] without one', () => {
    const stated = model({ sizeMultiple: 4, receptiveField: { low: -7, high: 7, radius: 7 } });
    // 2 * 7 + 2 = 16, already a multiple of 4; without a field 2 * 32 + 2 = 66, aligned up to 68.
    expect(defaultOverlap(stated)).toBe(16);
    expect(defaultOverlap(model({ sizeMultiple: 4 }))).toBe(68);
    expect(planTiles(2000, 300, stated, { tile: 512 })).toMatchObject({ overlap: 16, margin: 7 });
    expect(planTiles(2000, 300, model({ sizeMultiple: 4 }), { tile: 512 })).toMatchObject({ overlap: 68, margin: 32 });
    // A given overlap wins; the margin stays the field's (blendWeights caps it to leave a ramp).
    expect(planTiles(2000, 300, model(), { tile: 512, overlap: 20 })).toMatchObject({ overlap: 20, margin: 32 });
  });

  it('tiles equal whole-image inference everywhere when the margin covers the receptive field', async () => {
    const width = 157;
    const height = 131;
    const image = { data: pattern(width * height, 1), width, height, channels: 1 };
    const info = model({ receptiveField: { low: -2, high: 2, radius: 2 } });
    const whole = await denoiseImage(image, info, boxBlur5, { tile: 0, overlap: 0 });
    const plan = planTiles(width, height, info, { tile: 48, overlap: 12 });
    expect(plan.rows.length).toBeGreaterThan(2);
    expect(plan.columns.length).toBeGreaterThan(2);
    const tiled = await denoiseImage(image, info, boxBlur5, { tile: 48, overlap: 12 });
    let max = 0;
    for (let i = 0; i < whole.data.length; i++) max = Math.max(max, Math.abs(whole.data[i]! - tiled.data[i]!));
    expect(max).toBeLessThan(1e-6);
  });

  it('without enough margin, blends smoothly (no seams beyond the blur of one tile edge)', async () => {
    const width = 100;
    const height = 30;
    const image = { data: new Float32Array(width * height).fill(0.5), width, height, channels: 1 };
    // Receptive field claimed 0: tile edges see zero padding, but ramps spread it; constant input stays within a band.
    const tiled = await denoiseImage(image, model(), boxBlur5, { tile: 40, overlap: 16 });
    const row = Array.from(tiled.data.subarray(15 * width, 16 * width));
    for (let x = 3; x < width - 3; x++) expect(Math.abs(row[x]! - 0.5)).toBeLessThan(0.1);
  });

  it('sends RGB through a 1-channel model as a batch of 3 and keeps alpha; maps the value range', async () => {
    const seen: number[][] = [];
    const negate: InferFunction = async (input, dims) => {
      seen.push([...dims]);
      return input.map((v) => 255 - v);
    };
    const data = new Uint8Array([10, 20, 30, 40, 50, 60, 70, 80]);
    const result = await denoiseImage({ data, width: 2, height: 1, channels: 4 }, model({ valueRange: [0, 255] }), negate, { tile: 0, overlap: 0 });
    expect(seen).toEqual([[3, 1, 1, 2]]);
    expect(Array.from(result.data)).toEqual([245, 235, 225, 40, 205, 195, 185, 80]);
    expect(result.data).toBeInstanceOf(Uint8Array);
  });

  it('feeds grey into a 3-channel model as three equal planes and averages the outputs', async () => {
    // Output planes: 0.1 * plane index added: mean adds 0.1; 16-bit 32768 -> 0.5000076 + 0.1 -> 39321.5 -> 39322.
    const perPlane: InferFunction = async (input, [, c, h, w]) => input.map((v, i) => v + 0.1 * (Math.floor(i / (h * w)) % c));
    const result = await denoiseImage({ data: new Uint16Array([32768]), width: 1, height: 1, channels: 1 }, model({ channels: 3 }), perPlane, { tile: 0, overlap: 0 });
    expect(Array.from(result.data)).toEqual([Math.round((32768 / 65535 + 0.1) * 65535)]);
  });

  it('takes a grey picture stored as RGB or RGBA as grey: all three colour channels get one result, alpha is kept, tiled or not', async () => {
    // Box blur plus 0.1 x the plane index: a colour run gives channels 0.1 apart; the grey run averages them.
    const blurPerPlane: InferFunction = async (input, dims) => (await boxBlur5(input, dims)).map((v, i) => v + 0.1 * (Math.floor(i / (dims[2] * dims[3])) % dims[1]));
    const width = 97;
    const height = 61;
    const grey = pattern(width * height, 3);
    const info = model({ channels: 3, receptiveField: { low: -2, high: 2, radius: 2 } });
    for (const tiles of [{ tile: 0, overlap: 0 }, { tile: 32, overlap: 8 }]) {
      const one = await denoiseImage({ data: grey, width, height, channels: 1 }, info, blurPerPlane, tiles);
      for (const channels of [3, 4]) {
        const data = new Float32Array(width * height * channels);
        for (let i = 0; i < width * height; i++) {
          data.fill(grey[i]!, i * channels, i * channels + 3);
          if (channels === 4) data[i * channels + 3] = (i % 7) / 7;
        }
        const result = await denoiseImage({ data, width, height, channels }, info, blurPerPlane, tiles);
        for (let i = 0; i < width * height; i++) {
          for (let c = 0; c < 3; c++) expect(result.data[i * channels + c], `pixel ${i} channel ${c}`).toBe(one.data[i]);
          if (channels === 4) expect(result.data[i * channels + 3]).toBe(Math.fround((i % 7) / 7));
        }
      }
    }
  });

  it('a picture with one coloured pixel goes through in colour; through a 1-channel model a grey RGB picture is one plane, not three', async () => {
    const seen: number[][] = [];
    const perPlane: InferFunction = async (input, dims) => {
      seen.push([...dims]);
      return input.map((v, i) => v + 0.1 * (Math.floor(i / (dims[2] * dims[3])) % dims[1]));
    };
    const data = new Float32Array([0.2, 0.2, 0.2, 0.5, 0.5, 0.5, 0.3, 0.3, 0.31]);
    const colour = await denoiseImage({ data, width: 3, height: 1, channels: 3 }, model({ channels: 3 }), perPlane, { tile: 0, overlap: 0 });
    expect(Array.from(colour.data.subarray(0, 3)).map((v) => Math.round(v * 100) / 100)).toEqual([0.2, 0.3, 0.4]);
    const grey = new Float32Array([0.2, 0.2, 0.2, 0.5, 0.5, 0.5]);
    const once = await denoiseImage({ data: grey, width: 2, height: 1, channels: 3 }, model(), perPlane, { tile: 0, overlap: 0 });
    expect(seen.at(-1)).toEqual([1, 1, 1, 2]);
    expect(Array.from(once.data)).toEqual(Array.from(grey));
  });

  it('takes a caller\'s check of the colour channels as given (a grey companion\'s route has scanned them): not scanned again', async () => {
    const perPlane: InferFunction = async (input, dims) => input.map((v, i) => v + 0.1 * (Math.floor(i / (dims[2] * dims[3])) % dims[1]));
    const grey = { data: new Float32Array([0.2, 0.2, 0.2, 0.5, 0.5, 0.5]), width: 2, height: 1, channels: 3 };
    const tiles = { tile: 0, overlap: 0 };
    const info = model({ channels: 3 });
    const scanned = await denoiseImage(grey, info, perPlane, tiles);
    expect(Array.from((await denoiseImage(grey, info, perPlane, tiles, { equalColourChannels: true })).data)).toEqual(Array.from(scanned.data));
    // Told "not equal", the grey picture takes the colour path: its channels come out 0.1 apart.
    const told = await denoiseImage(grey, info, perPlane, tiles, { equalColourChannels: false });
    expect(Array.from(told.data).map((v) => Math.round(v * 100) / 100)).toEqual([0.2, 0.3, 0.4, 0.5, 0.6, 0.7]);
    const batch = await denoiseBatch([grey, grey], info, perPlane, { tile: 512, overlap: 32, maxBatchValues: 1e6, equalColourChannels: [true, false] });
    expect(Array.from(batch[0]!.data)).toEqual(Array.from(scanned.data));
    expect(Array.from(batch[1]!.data)).toEqual(Array.from(told.data));
  });

  it('batches grey-stored-as-RGB pictures apart from colour ones of the same size, each on its own path', async () => {
    const runs: number[][] = [];
    const counting: InferFunction = async (input, dims) => {
      runs.push([...dims]);
      return input.map((v, i) => v + 0.1 * (Math.floor(i / (dims[2] * dims[3])) % dims[1]));
    };
    const greyOf = (seed: number) => {
      const g = pattern(8 * 8, seed);
      return { data: Float32Array.from({ length: 8 * 8 * 3 }, (_, i) => g[Math.floor(i / 3)]!), width: 8, height: 8, channels: 3 };
    };
    const colourOf = (seed: number) => ({ data: pattern(8 * 8 * 3, seed), width: 8, height: 8, channels: 3 });
    const all = [greyOf(1), colourOf(2), greyOf(3), colourOf(4)];
    const info = model({ channels: 3 });
    const batched = await denoiseBatch(all, info, counting, { tile: 512, overlap: 32, maxBatchValues: 1e6 });
    expect(runs).toEqual([[2, 3, 8, 8], [2, 3, 8, 8]]);
    for (let i = 0; i < all.length; i++) expect(batched[i]!.data).toEqual((await denoiseImage(all[i]!, info, counting, { tile: 512, overlap: 32 })).data);
    for (const k of [0, 2]) for (let p = 0; p < 64; p++) expect(new Set(batched[k]!.data.subarray(p * 3, p * 3 + 3)).size).toBe(1);
  });

  it('reports every tile as it finishes: done counts up to the total, untiled images report 1 of 1', async () => {
    const image = { data: pattern(157 * 131, 2), width: 157, height: 131, channels: 1 };
    const tiles = { tile: 48, overlap: 12 };
    const plan = planTiles(157, 131, model(), tiles);
    const total = plan.rows.length * plan.columns.length;
    const calls: [number, number][] = [];
    const hooked = await denoiseImage(image, model(), boxBlur5, tiles, { onTile: (done, all) => calls.push([done, all]) });
    expect(calls).toEqual(Array.from({ length: total }, (_, i) => [i + 1, total]));
    expect(hooked.data).toEqual((await denoiseImage(image, model(), boxBlur5, tiles)).data);
    const whole: [number, number][] = [];
    await denoiseImage(image, model(), boxBlur5, { tile: 0, overlap: 0 }, { onTile: (done, all) => whole.push([done, all]) });
    expect(whole).toEqual([[1, 1]]);
  });

  it('hands over every row once, in order, final when handed over: tiled and untiled, grey stored as RGBA (filled channels) too', async () => {
    const width = 157;
    const height = 131;
    const grey = pattern(width * height, 4);
    const rgba = new Float32Array(width * height * 4);
    for (let i = 0; i < width * height; i++) {
      rgba.fill(grey[i]!, i * 4, i * 4 + 3);
      rgba[i * 4 + 3] = (i % 5) / 5;
    }
    for (const image of [{ data: grey, width, height, channels: 1 }, { data: rgba, width, height, channels: 4 }]) {
      for (const tiles of [{ tile: 48, overlap: 12 }, { tile: 0, overlap: 0 }]) {
        const handed: { y0: number; rows: number; copy: Float32Array }[] = [];
        let resultSeen: unknown;
        const result = await denoiseImage(image, model({ receptiveField: { low: -2, high: 2, radius: 2 } }), boxBlur5, tiles, {
          onRows: (partial, y0, rows) => {
            resultSeen ??= partial;
            expect(partial).toBe(resultSeen);
            const rowValues = width * image.channels;
            handed.push({ y0, rows, copy: (partial.data as Float32Array).slice(y0 * rowValues, (y0 + rows) * rowValues) });
          },
        });
        expect(result).toBe(resultSeen);
        const plan = planTiles(width, height, model(), tiles);
        expect(handed.length).toBe(plan.rows.length);
        let next = 0;
        for (const { y0, rows, copy } of handed) {
          expect(y0).toBe(next);
          expect(rows).toBeGreaterThan(0);
          // What was handed over is what the result holds at the end.
          expect(copy).toEqual((result.data as Float32Array).slice(y0 * width * image.channels, (y0 + rows) * width * image.channels));
          next += rows;
        }
        expect(next).toBe(height);
      }
    }
  });

  it('waits for the rows it reads of an image still being filled in: each band for its own, the colour scan a step at a time, an estimate for all. The result is the whole image\'s', async () => {
    const width = 157;
    const height = 131;
    const tiles = { tile: 48, overlap: 12 };
    const blind = model({ receptiveField: { low: -2, high: 2, radius: 2 } });
    const mapped = model({ receptiveField: { low: -2, high: 2, radius: 2 }, noiseMapName: 'noise' });
    const bandEnds = planTiles(width, height, blind, tiles).rows.map((r) => r.end);
    const grey = pattern(width * height, 5);
    const rgb = (equal: boolean) => pattern(width * height * 3, 5).map((v, i) => (equal ? grey[Math.floor(i / 3)]! : v));
    const cases: { what: string; image: { data: Float32Array; width: number; height: number; channels: number }; info: ModelInfo; tiles: { tile: number; overlap: number }; hooks?: object; asked: number[] }[] = [
      { what: 'grey, tiled', image: { data: pattern(width * height, 4), width, height, channels: 1 }, info: blind, tiles, asked: bandEnds },
      { what: 'grey, untiled', image: { data: pattern(width * height, 4), width, height, channels: 1 }, info: blind, tiles: { tile: 0, overlap: 0 }, asked: [height] },
      // The scan takes 105 rows at a time (16,384 pixels): a colour picture is known from its first step.
      { what: 'RGB in colour: known from the first rows', image: { data: rgb(false), width, height, channels: 3 }, info: blind, tiles, asked: [105, ...bandEnds] },
      { what: 'grey stored as RGB: scanned to the last row', image: { data: rgb(true), width, height, channels: 3 }, info: blind, tiles, asked: [105, height, ...bandEnds] },
      { what: 'RGB, scanned by the caller', image: { data: rgb(true), width, height, channels: 3 }, info: blind, tiles, hooks: { equalColourChannels: true }, asked: bandEnds },
      { what: 'grey + alpha: alpha copied band by band', image: { data: pattern(width * height * 2, 6), width, height, channels: 2 }, info: blind, tiles, asked: bandEnds },
      { what: 'RGBA in colour', image: { data: pattern(width * height * 4, 7), width, height, channels: 4 }, info: blind, tiles, asked: [105, ...bandEnds] },
      { what: 'noise map, estimated', image: { data: pattern(width * height, 4), width, height, channels: 1 }, info: mapped, tiles, asked: [height, ...bandEnds] },
      { what: 'noise map, given', image: { data: pattern(width * height, 4), width, height, channels: 1 }, info: mapped, tiles, hooks: { noiseLevel: 0.1 }, asked: bandEnds },
    ];
    for (const { what, image, info, tiles: settings, hooks, asked } of cases) {
      const whole = await denoiseImage(image, info, boxBlur5, settings, hooks);
      // Rows not yet asked for hold NaN, which would reach the result if they were read before their turn.
      const filling = { ...image, data: new Float32Array(image.data.length).fill(NaN) };
      const rowValues = width * image.channels;
      const calls: number[] = [];
      const waitForRows = async (end: number) => {
        calls.push(end);
        await new Promise((resolve) => setTimeout(resolve, 0));
        filling.data.set(image.data.subarray(0, end * rowValues));
      };
      const streamed = await denoiseImage(filling, info, boxBlur5, settings, { ...hooks, waitForRows });
      expect(calls, what).toEqual(asked);
      expect(streamed.data, what).toEqual(whole.data);
    }
  });

  it('stacks same-size images into one run and keeps the order; odd ones run alone', async () => {
    const runs: number[][] = [];
    const counting: InferFunction = async (input, dims) => {
      runs.push([...dims]);
      return boxBlur5(input, dims);
    };
    const images = [0, 1, 2].map((s) => ({ data: pattern(28 * 28, s), width: 28, height: 28, channels: 1 }));
    const odd = { data: pattern(20 * 30 * 3, 9), width: 30, height: 20, channels: 3 };
    const all = [images[0]!, odd, images[1]!, images[2]!];
    const batched = await denoiseBatch(all, model(), counting, { tile: 512, overlap: 32, maxBatchValues: 2 * 28 * 28 });
    expect(runs).toEqual([[2, 1, 28, 28], [1, 1, 28, 28], [3, 1, 20, 30]]);
    for (let i = 0; i < all.length; i++) {
      const single = await denoiseImage(all[i]!, model(), boxBlur5, { tile: 512, overlap: 32 });
      expect(batched[i]!.data).toEqual(single.data);
    }
  });
});
