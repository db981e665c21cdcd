// Image sets: bad calls, then float batches (scaling, order, buffer reuse) and limits that share memory.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../runtime-common/validate.js';
import { checkImageSet, imageSize, limitImageSet, toFloatBatch, type ImageSet } from '../../../tools/data/image-set.js';

/** Four 2x3x1 images; image i holds the bytes i*6 .. i*6+5, scaled up so 255 appears. */
function tiny(): ImageSet {
  const pixels = new Uint8Array(24).map((_, j) => (j === 23 ? 255 : j * 10));
  return { pixels, labels: new Uint8Array([3, 1, 4, 1]), count: 4, height: 2, width: 3, channels: 1 };
}

describe('image sets reject', () => {
  it.each([
    ['an index past the end', () => toFloatBatch(tiny(), [0, 4]), /Expected an image index in 0\.\.3 for indices\[1\] but received 4/],
    ['a negative index', () => toFloatBatch(tiny(), [-1]), /for indices\[0\] but received -1/],
    ['a fractional index', () => toFloatBatch(tiny(), [1.5]), /for indices\[0\] but received 1\.5/],
    ['an out buffer too short', () => toFloatBatch(tiny(), [0, 1], new Float32Array(11)), /Expected at least 12 values \(2 images of 6\) for the length of out but received 11/],
    ['an out buffer of another type', () => toFloatBatch(tiny(), [0], new Float64Array(6) as unknown as Float32Array), /Expected a Float32Array for out but received Float64Array\(6\)/],
    ['a limit of 0', () => limitImageSet(tiny(), 0), /Expected an integer >= 1 for limit but received 0/],
    ['pixels of the wrong length', () => checkImageSet({ ...tiny(), count: 5 }), /Expected 30 bytes \(5x2x3x1\) for the length of image set\.pixels but received 24/],
    ['labels of the wrong length', () => checkImageSet({ ...tiny(), labels: new Uint8Array(3) }), /Expected 4 labels for the length of image set\.labels but received 3/],
    ['plain-array pixels', () => checkImageSet({ ...tiny(), pixels: [1, 2] }, 'train'), /Expected a Uint8Array for train\.pixels but received \[1,2\]/],
  ])('%s', (_, call, pattern) => {
    expect(call).toThrow(ValidationError);
    expect(call).toThrow(pattern);
  });
});

describe('image sets', () => {
  it('copy the chosen images, in order, scaled to [0, 1]', () => {
    const set = checkImageSet(tiny());
    expect(imageSize(set)).toBe(6);
    const batch = toFloatBatch(set, [3, 0]);
    expect(batch).toBeInstanceOf(Float32Array);
    expect(batch.length).toBe(12);
    expect(Array.from(batch.subarray(0, 6))).toEqual([180, 190, 200, 210, 220, 255].map((v) => Math.fround(v / 255)));
    expect(Array.from(batch.subarray(6))).toEqual([0, 10, 20, 30, 40, 50].map((v) => Math.fround(v / 255)));
    expect(batch.every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(batch[5]).toBe(1);
  });

  it('fill a reused buffer, returning it (or a view of its start when it is longer)', () => {
    const out = new Float32Array(12);
    expect(toFloatBatch(tiny(), new Uint32Array([1, 2]), out)).toBe(out);
    const long = new Float32Array(30).fill(-1);
    const view = toFloatBatch(tiny(), [2], long);
    expect(view.length).toBe(6);
    expect(view.buffer).toBe(long.buffer);
    expect(long[6]).toBe(-1);
    expect(toFloatBatch(tiny(), []).length).toBe(0);
  });

  it('limit to the first images without copying', () => {
    const set = tiny();
    const two = limitImageSet(set, 2);
    expect(two.count).toBe(2);
    expect(Array.from(two.labels)).toEqual([3, 1]);
    expect(two.pixels.buffer).toBe(set.pixels.buffer);
    expect(two.pixels.length).toBe(12);
    expect(limitImageSet(set, 100).count).toBe(4);
    checkImageSet(two);
  });
});
