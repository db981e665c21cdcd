// The learning-rate schedules and the training losses, against values worked out by hand.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { describe, expect, it } from 'vitest';
import { PSNR_LOSS_FLOOR, scheduledLearningRate, trainingLoss } from '../../../tools/train/trainer.js';

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

describe('trainingLoss', () => {
  // Two 1x2x2x1 images: the first off by 0.1 at every pixel (MSE 0.01), the second by 0.3 at one pixel (MSE 0.0225).
  const clean = tf.tensor4d([0.5, 0.5, 0.5, 0.5, 0.2, 0.2, 0.2, 0.2], [2, 2, 2, 1]);
  const output = tf.tensor4d([0.6, 0.4, 0.6, 0.4, 0.5, 0.2, 0.2, 0.2], [2, 2, 2, 1]);

  it('is the mean squared error over the whole batch for mse (and by default)', () => {
    expect(trainingLoss({}, clean, output).dataSync()[0]).toBeCloseTo((0.01 + 0.0225) / 2, 7);
    expect(trainingLoss({ loss: 'mse' }, clean, output).dataSync()[0]).toBeCloseTo(0.01625, 7);
  });

  it('is the mean over images of 10 log10(MSE + floor) for psnr: minus the mean PSNR, capped near 45 dB', () => {
    const expected = (10 * Math.log10(0.01 + PSNR_LOSS_FLOOR) + 10 * Math.log10(0.0225 + PSNR_LOSS_FLOOR)) / 2;
    expect(expected).toBeCloseTo(-18.2, 1); // 20 dB and 16.5 dB
    expect(trainingLoss({ loss: 'psnr' }, clean, output).dataSync()[0]).toBeCloseTo(expected, 4);
    // A perfect batch costs the floor's -45 dB, not -infinity.
    expect(trainingLoss({ loss: 'psnr' }, clean, clean).dataSync()[0]).toBeCloseTo(-45, 4);
  });
});
