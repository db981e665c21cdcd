// The learning-rate schedules and the colour-shift measure, against values worked out by hand.
import { describe, expect, it } from 'vitest';
import { colourShift, scheduledLearningRate } from '../../../tools/train/trainer.js';

describe('scheduledLearningRate', () => {
  it('is the learning rate itself for the constant schedule (and by default)', () => {
    expect(scheduledLearningRate({ learningRate: 0.001 }, 0.7)).toBe(0.001);
    expect(scheduledLearningRate({ learningRate: 0.001, lrSchedule: 'constant' }, 0.3)).toBe(0.001);
  });

  it('follows a half cosine from the rate down to 2% of it', () => {
    const s = { learningRate: 0.01, lrSchedule: 'cosine' as const };
    expect(scheduledLearningRate(s, 0)).toBeCloseTo(0.01, 12);
    // Half way: 0.02 + 0.98 * 0.5 = 0.51 of the rate.
    expect(scheduledLearningRate(s, 0.5)).toBeCloseTo(0.0051, 12);
    // A quarter: 0.02 + 0.98 * (1 + cos(pi/4)) / 2 = 0.02 + 0.98 * 0.853553...
    expect(scheduledLearningRate(s, 0.25)).toBeCloseTo(0.01 * (0.02 + 0.98 * 0.8535533905932737), 12);
    expect(scheduledLearningRate(s, 1)).toBeCloseTo(0.0002, 12);
    expect(scheduledLearningRate(s, 1.5)).toBeCloseTo(0.0002, 12);
  });
});

describe('colourShift', () => {
  it('is the largest per-channel mean difference in 8-bit levels', () => {
    // Two RGB pixels: R differs by +0.01 and +0.03 (mean 0.02 = 5.1 levels), G by -0.04 and 0 (-5.1), B by 0.
    const ref = new Float32Array([0.5, 0.5, 0.5, 0.2, 0.2, 0.2]);
    const out = new Float32Array([0.51, 0.46, 0.5, 0.23, 0.2, 0.2]);
    expect(colourShift(out, ref, 3)).toBeCloseTo(5.1, 4);
    expect(colourShift(ref, ref, 3)).toBe(0);
    // Opposite errors within one channel cancel: a shift is a change of the mean, not an error.
    expect(colourShift(new Float32Array([0.625, 0.375]), new Float32Array([0.5, 0.5]), 1)).toBe(0);
  });
});
