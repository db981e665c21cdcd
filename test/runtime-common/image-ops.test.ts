// Pixels <-> planar model values: checks at the boundary, channel plans, and conversions worked out by hand.
import { describe, expect, it } from 'vitest';
import { allocatePixels, checkPixelImage, colourToUnit, copyChannels, fillFromFirstChannel, hasEqualColourChannels, isGreyImage, planChannels, planesToPixels, regionToPlanes } from '../../runtime-common/image-ops.js';

describe('image ops: bad calls', () => {
  it('rejects images with a wrong array kind, size or channel count', () => {
    expect(() => checkPixelImage({ data: [1, 2], width: 2, height: 1, channels: 1 })).toThrow('Expected a Uint8Array, Uint8ClampedArray, Uint16Array or Float32Array for image.data but received [1,2]');
    expect(() => checkPixelImage({ data: new Uint8Array(5), width: 2, height: 2, channels: 1 })).toThrow('Expected 4 samples (2x2x1) for image.data.length but received 5');
    expect(() => checkPixelImage({ data: new Uint8Array(5), width: 1, height: 1, channels: 5 })).toThrow('Expected an integer >= 1 and <= 4 for image.channels but received 5');
    expect(() => checkPixelImage({ data: new Int16Array(4), width: 2, height: 2, channels: 1 }, 'images[3]')).toThrow(/for images\[3\]\.data but received Int16Array\(4\)/);
    expect(() => checkPixelImage(null)).toThrow('Expected an object for image but received null');
  });

  it('refuses NaN and infinite float samples, naming the sample and its pixel', () => {
    const data = new Float32Array(3 * 2 * 3).fill(0.5);
    data[13] = NaN;
    expect(() => checkPixelImage({ data, width: 3, height: 2, channels: 3 })).toThrow('Expected finite samples (float pixels in [0, 1]) for image.data[13] (x 1, y 1, channel 1) but received NaN');
    data[13] = 0.5;
    data[2] = Infinity;
    expect(() => checkPixelImage({ data, width: 3, height: 2, channels: 3 }, 'images[1]')).toThrow('for images[1].data[2] (x 0, y 0, channel 2) but received Infinity');
    data[2] = -Infinity;
    expect(() => checkPixelImage({ data, width: 3, height: 2, channels: 3 })).toThrow(/but received -Infinity/);
  });

  it('refuses channel layouts the model cannot take', () => {
    expect(() => planChannels(3, 2)).toThrow('Expected an image the 2-channel model can take (2 colour channels, or 2 channels in all) for image.channels but received 3');
    expect(() => planChannels(4, 4 + 1)).toThrow(/5-channel model/);
  });
});

describe('image ops', () => {
  it('allocates the base typed-array kind: a Node Buffer gives a Uint8Array (no deprecated Buffer() call)', () => {
    expect(allocatePixels(Buffer.alloc(4), 3).constructor).toBe(Uint8Array);
    expect(allocatePixels(new Uint8ClampedArray(4), 3).constructor).toBe(Uint8ClampedArray);
    expect(allocatePixels(new Uint16Array(4), 3).constructor).toBe(Uint16Array);
    expect(allocatePixels(new Float32Array(4), 3)).toEqual(new Float32Array(3));
  });

  it('plans channels: grey, RGB as a batch of 3 for a 1-channel model, grey into a 3-channel model, alpha untouched', () => {
    expect(planChannels(1, 1)).toEqual({ planes: [0], batch: 1, modelChannels: 1, merge: 'copy', untouched: [], fill: [] });
    expect(planChannels(2, 1)).toEqual({ planes: [0], batch: 1, modelChannels: 1, merge: 'copy', untouched: [1], fill: [] });
    expect(planChannels(3, 1)).toEqual({ planes: [0, 1, 2], batch: 3, modelChannels: 1, merge: 'copy', untouched: [], fill: [] });
    expect(planChannels(4, 1)).toEqual({ planes: [0, 1, 2], batch: 3, modelChannels: 1, merge: 'copy', untouched: [3], fill: [] });
    expect(planChannels(4, 3)).toEqual({ planes: [0, 1, 2], batch: 1, modelChannels: 3, merge: 'copy', untouched: [3], fill: [] });
    expect(planChannels(1, 3)).toEqual({ planes: [0, 0, 0], batch: 1, modelChannels: 3, merge: 'mean', untouched: [], fill: [] });
    expect(planChannels(4, 4)).toEqual({ planes: [0, 1, 2, 3], batch: 1, modelChannels: 4, merge: 'copy', untouched: [], fill: [] });
  });

  it('plans a grey picture stored as RGB(A) as grey, its result filled into the other two colour channels', () => {
    expect(planChannels(3, 3, true)).toEqual({ planes: [0, 0, 0], batch: 1, modelChannels: 3, merge: 'mean', untouched: [], fill: [1, 2] });
    expect(planChannels(4, 3, true)).toEqual({ planes: [0, 0, 0], batch: 1, modelChannels: 3, merge: 'mean', untouched: [3], fill: [1, 2] });
    expect(planChannels(3, 1, true)).toEqual({ planes: [0], batch: 1, modelChannels: 1, merge: 'copy', untouched: [], fill: [1, 2] });
    expect(planChannels(4, 1, true)).toEqual({ planes: [0], batch: 1, modelChannels: 1, merge: 'copy', untouched: [3], fill: [1, 2] });
    // A 4-channel model takes RGBA as it is; grey images are grey already.
    expect(planChannels(4, 4, true)).toEqual(planChannels(4, 4));
    expect(planChannels(1, 3, true)).toEqual(planChannels(1, 3));
    expect(planChannels(3, 3, true)).not.toEqual(planChannels(3, 3));
  });

  it('tells a grey picture stored as colour by its equal colour channels, whatever its alpha', () => {
    expect(hasEqualColourChannels({ data: new Uint8Array([5, 5, 5, 9, 9, 9]), width: 2, height: 1, channels: 3 })).toBe(true);
    expect(hasEqualColourChannels({ data: new Uint8Array([5, 5, 5, 9, 9, 8]), width: 2, height: 1, channels: 3 })).toBe(false);
    // isGreyImage: 1 and 2 channels always, 3 and 4 when the colour channels are equal (alpha aside).
    expect(isGreyImage({ data: new Uint8Array([1, 2]), width: 2, height: 1, channels: 1 })).toBe(true);
    expect(isGreyImage({ data: new Uint8Array([1, 2, 3, 4]), width: 2, height: 1, channels: 2 })).toBe(true);
    expect(isGreyImage({ data: new Uint8Array([5, 5, 5, 1, 9, 9, 9, 2]), width: 2, height: 1, channels: 4 })).toBe(true);
    expect(isGreyImage({ data: new Uint8Array([5, 5, 5, 1, 9, 9, 8, 2]), width: 2, height: 1, channels: 4 })).toBe(false);
    expect(hasEqualColourChannels({ data: new Uint8Array([5, 5, 5, 0, 9, 9, 9, 255]), width: 2, height: 1, channels: 4 })).toBe(true);
    expect(hasEqualColourChannels({ data: new Uint8Array([5, 6, 5, 0]), width: 1, height: 1, channels: 4 })).toBe(false);
    expect(hasEqualColourChannels({ data: new Float32Array([0.5, 0.5, 0.5]), width: 1, height: 1, channels: 3 })).toBe(true);
    expect(hasEqualColourChannels({ data: new Uint8Array([5, 5]), width: 2, height: 1, channels: 1 })).toBe(false);
    expect(hasEqualColourChannels({ data: new Uint8Array([5, 9]), width: 1, height: 1, channels: 2 })).toBe(false);
    // Rows from y0: the second of three rows (one pixel each) is in colour.
    const rows = { data: new Uint8Array([1, 1, 1, 2, 3, 2, 4, 4, 4]), width: 1, height: 3, channels: 3 };
    expect([hasEqualColourChannels(rows, 0, 1), hasEqualColourChannels(rows, 2, 1), hasEqualColourChannels(rows, 1, 1), hasEqualColourChannels(rows, 1), hasEqualColourChannels(rows)]).toEqual([true, true, false, false, false]);
  });

  it('fills the listed channels from channel 0, pixel by pixel', () => {
    const image = { data: new Uint8Array([1, 0, 0, 7, 2, 0, 0, 8]), width: 2, height: 1, channels: 4 };
    fillFromFirstChannel(image, [1, 2]);
    expect(Array.from(image.data)).toEqual([1, 1, 1, 7, 2, 2, 2, 8]);
    fillFromFirstChannel(image, []);
    expect(Array.from(image.data)).toEqual([1, 1, 1, 7, 2, 2, 2, 8]);
  });

  it('writes a region as planes (HWC -> CHW) in the model range', () => {
    // 3x2 RGB image, sample value = 10 * pixel index + channel.
    const data = new Uint8Array(18).map((_, i) => 10 * Math.floor(i / 3) + (i % 3));
    const out = new Float32Array(2 * 2 * 2 + 1);
    // Region x 1..2, y 0..1, planes B then R, range [0, 255] (no scaling), written from offset 1.
    regionToPlanes({ data, width: 3, height: 2, channels: 3 }, [2, 0], { x: 1, y: 0, width: 2, height: 2 }, [0, 255], out, 1);
    expect(Array.from(out)).toEqual([0, 12, 22, 42, 52, 10, 20, 40, 50]);
    // 16-bit into [-1, 1]: 0 -> -1, 65535 -> 1.
    const planes = new Float32Array(2);
    regionToPlanes({ data: new Uint16Array([0, 65535]), width: 2, height: 1, channels: 1 }, [0], { x: 0, y: 0, width: 2, height: 1 }, [-1, 1], planes);
    expect(Array.from(planes)).toEqual([-1, 1]);
  });

  it('writes planes back as pixels: mapped, clamped and rounded', () => {
    const image = { data: new Uint8Array(8), width: 2, height: 2, channels: 2 };
    // One plane of 1 row x 2 into channel 0 of row 1: 0.5 -> 127.5 -> 128, 1.2 -> clamped 255.
    planesToPixels(new Float32Array([0.5, 1.2]), [0], 1, 1, [0, 1], image);
    expect(Array.from(image.data)).toEqual([0, 0, 0, 0, 128, 0, 255, 0]);
    const floats = { data: new Float32Array(2), width: 2, height: 1, channels: 1 };
    planesToPixels(new Float32Array([-3, 128]), [0], 0, 1, [0, 255], floats);
    expect(Array.from(floats.data)).toEqual([0, 128 / 255].map((v) => Math.fround(v)));
  });

  it('copies untouched channels and scales colour for metrics', () => {
    const from = { data: new Uint16Array([1, 2, 3, 4]), width: 2, height: 1, channels: 2 };
    const to = { data: new Uint16Array(4), width: 2, height: 1, channels: 2 };
    copyChannels(from, to, [1]);
    expect(Array.from(to.data)).toEqual([0, 2, 0, 4]);
    // Rows 1 and 2 of three (two pixels a row) only.
    const tall = { data: Uint8Array.from({ length: 12 }, (_, i) => i + 1), width: 2, height: 3, channels: 2 };
    const some = { data: new Uint8Array(12), width: 2, height: 3, channels: 2 };
    copyChannels(tall, some, [1], 1, 2);
    expect(Array.from(some.data)).toEqual([0, 0, 0, 0, 0, 6, 0, 8, 0, 10, 0, 12]);
    const unit = colourToUnit({ data: new Uint8Array([255, 0, 51, 7]), width: 1, height: 1, channels: 4 });
    expect(unit.channels).toBe(3);
    expect(Array.from(unit.values)).toEqual([1, 0, 0.2].map((v) => Math.fround(v)));
  });
});
