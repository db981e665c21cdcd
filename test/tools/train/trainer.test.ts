// The learning-rate schedules, against values worked out by hand.
import { describe, expect, it } from 'vitest';
import { scheduledLearningRate } from '../../../tools/train/trainer.js';

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
