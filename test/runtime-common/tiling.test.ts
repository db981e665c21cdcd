// Tiling: aligned overlapping tiles, blending weights that sum to 1, and the stated default receptive field (the field itself is worked out in test/tools/layers/receptive-field.test.ts).
import { describe, expect, it } from 'vitest';
import { blendWeights, DEFAULT_RECEPTIVE_FIELD, planAxis, receptiveFieldOf } from '../../runtime-common/tiling.js';

describe('tiling: bad calls', () => {
  it('rejects tiles smaller than the overlap plus the alignment, and empty axes', () => {
    expect(() => planAxis(100, { tile: 20, overlap: 20, align: 4 })).toThrow('Expected an integer >= 24 for tile but received 20');
    expect(() => planAxis(0, { tile: 64, overlap: 8, align: 4 })).toThrow('Expected an integer >= 1 for length but received 0');
    expect(() => planAxis(10, { tile: 64, overlap: -1, align: 4 })).toThrow('Expected an integer >= 0 for overlap but received -1');
    expect(() => blendWeights([{ start: 0, end: 10 }, { start: 10, end: 20 }], 2)).toThrow('Expected overlapping tiles for tiles 0 and 1 but received 0');
  });
});

describe('tiling', () => {
  it('covers every length with as few aligned, overlapping tiles as the tile size allows (brute force over lengths)', () => {
    for (const [tile, overlap, align] of [[64, 16, 4], [96, 32, 8], [48, 0, 1], [512, 24, 4], [30, 24, 4]] as const) {
      for (let length = 1; length < 1200; length += 7) {
        const spans = planAxis(length, { tile, overlap, align });
        const count = Math.max(1, Math.ceil((length - overlap) / tile));
        expect(spans.length).toBeLessThanOrEqual(count);
        expect(spans[0]!.start).toBe(0);
        expect(spans[spans.length - 1]!.end).toBe(length);
        const extent = spans[0]!.end - spans[0]!.start;
        if (spans.length === 1) expect(length).toBeLessThanOrEqual(tile + overlap);
        else expect(extent).toBeLessThanOrEqual(tile + overlap + 2 * align - 2);
        spans.forEach((s, i) => {
          expect(s.start % align).toBe(0);
          if (i < spans.length - 1) expect(s.end - s.start).toBe(extent);
          else if (spans.length > 1) expect(s.end - s.start - extent).toBeLessThan(align);
          if (i > 0) {
            expect(s.start).toBeGreaterThan(spans[i - 1]!.start);
            expect(spans[i - 1]!.end - s.start).toBeGreaterThanOrEqual(overlap);
          }
        });
      }
    }
  });

  it('cuts 1024 into two tiles of 528 and 4096 into eight of 536 for 512 px tiles with 24 px overlap', () => {
    expect(planAxis(1024, { tile: 512, overlap: 24, align: 4 })).toEqual([{ start: 0, end: 528 }, { start: 496, end: 1024 }]);
    const spans = planAxis(4096, { tile: 512, overlap: 24, align: 4 });
    expect(spans).toHaveLength(8);
    expect(spans.every((s) => s.end - s.start <= 540)).toBe(true);
  });

  it('blends with weights that sum to 1 and ignore the margin at inner edges', () => {
    const spans = planAxis(300, { tile: 96, overlap: 32, align: 4 });
    const margin = 11;
    const weights = blendWeights(spans, margin);
    const sum = new Float64Array(300);
    spans.forEach((s, t) => weights[t]!.forEach((w, i) => (sum[s.start + i]! += w)));
    for (const v of sum) expect(v).toBeCloseTo(1, 6);
    spans.forEach((s, t) => {
      const w = weights[t]!;
      for (let i = 0; i < margin; i++) {
        if (s.start > 0) expect(w[i]).toBe(0);
        if (s.end < 300) expect(w[w.length - 1 - i]).toBe(0);
      }
      // Outer image edges keep full weight.
      if (s.start === 0) expect(w[0]).toBe(1);
      if (s.end === 300) expect(w[w.length - 1]).toBe(1);
    });
  });

  it('derives the radius from [low, high]; the default for models that do not state one is [-32, 32]', () => {
    expect(receptiveFieldOf(-7, 7)).toEqual({ low: -7, high: 7, radius: 7 });
    expect(receptiveFieldOf(-2, 5).radius).toBe(5);
    expect(DEFAULT_RECEPTIVE_FIELD).toEqual({ low: -32, high: 32, radius: 32 });
    expect(Object.isFrozen(DEFAULT_RECEPTIVE_FIELD)).toBe(true);
  });
});
