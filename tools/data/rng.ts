// Seeded random numbers for shuffling and noise: pure-rand's xoroshiro128+ with floats, normals and a saveable state.
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import { check, checkInteger, checkObject, invalid } from 'onnx-denoiser-common';

/** The generator behind {@link Rng}; recorded in every {@link RngState}. */
export const RNG_ALGORITHM = 'xoroshiro128plus';

const TWO_POW_32 = 4294967296;
const INV_TWO_POW_32 = 1 / TWO_POW_32;

/**
 * A JSON-safe snapshot of an {@link Rng}: the generator's four 32-bit words and the cached second normal
 * of the last polar pair, so {@link Rng.fromState} continues the exact same stream.
 */
export interface RngState {
  /** Always {@link RNG_ALGORITHM}. */
  algorithm: typeof RNG_ALGORITHM;
  /** pure-rand's `getState()` of the xoroshiro128+ generator: four signed 32-bit integers. */
  words: number[];
  /** The cached normal deviate that the next {@link Rng.nextNormal} returns, or null. */
  spareNormal: number | null;
}

/** MurmurHash3's 32-bit finaliser: a bijection that spreads every input bit over the output. */
function fmix32(value: number): number {
  let z = value | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) | 0;
}

/**
 * Four well-mixed state words from a seed (a SplitMix-style stream). pure-rand's own seeding puts the seed
 * almost verbatim into the state, so its first outputs for seeds 1, 2, 3 are nearly identical; mixing first
 * makes neighbouring seeds (seed, seed + 1000, ...) independent from the first draw.
 */
function seedWords(seed: number): number[] {
  const low = seed >>> 0; // two's complement low word, also for negative seeds
  const high = Math.floor(seed / TWO_POW_32) | 0;
  let state = (low ^ fmix32(high)) | 0;
  const words: number[] = [];
  for (let i = 0; i < 4; i++) {
    state = (state + 0x9e3779b9) | 0;
    words.push(fmix32(state));
  }
  // xoroshiro's all-zero state is a fixed point; fmix32 makes it practically unreachable, but never emit it.
  if (!words.some((w) => w !== 0)) words[0] = 1;
  return words;
}

/**
 * A seeded random stream (pure-rand's xoroshiro128+, mutated in place for speed) with the draws training needs.
 *
 * `nextFloat()` uses one 32-bit draw (resolution 2^-32), so the normal tails stop near 6.7 sigma; that is
 * ample for noise and twice as fast as 53-bit floats. Use {@link Rng.getState} / {@link Rng.fromState} to
 * checkpoint the exact position of the stream.
 */
export class Rng {
  private generator: RandomGenerator;
  // A boolean plus a number (not number | null) keeps the hot field monomorphic in V8.
  private hasSpare = false;
  private spare = 0;

  /** Starts a stream from an integer seed (any safe integer; different seeds give unrelated streams). */
  constructor(seed: number) {
    checkInteger(seed, 'seed', { min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER });
    this.generator = xoroshiro128plusFromState(seedWords(seed));
  }

  /** Restores a stream saved with {@link Rng.getState}; validates the snapshot. */
  static fromState(state: unknown): Rng {
    const object = checkObject(state, 'rng state');
    check(object.algorithm === RNG_ALGORITHM, `"${RNG_ALGORITHM}"`, 'rng state.algorithm', object.algorithm);
    const words = object.words;
    check(
      Array.isArray(words) && words.length === 4 && words.every((w) => Number.isInteger(w) && (w as number) >= -(2 ** 31) && (w as number) < 2 ** 31),
      'an array of four 32-bit signed integers',
      'rng state.words',
      words,
    );
    check((words as number[]).some((w) => w !== 0), 'a non-zero generator state', 'rng state.words', words);
    const spare = object.spareNormal;
    check(spare === null || (typeof spare === 'number' && Number.isFinite(spare)), 'null or a finite number', 'rng state.spareNormal', spare);
    const rng = new Rng(0);
    rng.generator = xoroshiro128plusFromState(words as number[]);
    rng.hasSpare = spare !== null;
    rng.spare = spare ?? 0;
    return rng;
  }

  /** A JSON-safe snapshot of the current position; restoring it replays exactly the same draws. */
  getState(): RngState {
    return { algorithm: RNG_ALGORITHM, words: [...this.generator.getState()], spareNormal: this.hasSpare ? this.spare : null };
  }

  /** A uniform float in [0, 1), a multiple of 2^-32. */
  nextFloat(): number {
    return (this.generator.next() >>> 0) * INV_TWO_POW_32;
  }

  /** A standard normal deviate (Marsaglia's polar method; the pair's second value is cached for the next call). */
  nextNormal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = this.nextFloat() * 2 - 1;
      v = this.nextFloat() * 2 - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const scale = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * scale;
    this.hasSpare = true;
    return u * scale;
  }

  /** A uniform integer in [0, n), unbiased (pure-rand's rejection sampling); n is an integer in [1, 2^53). */
  nextInt(n: number): number {
    checkInteger(n, 'n', { min: 1, max: Number.MAX_SAFE_INTEGER });
    return uniformInt(this.generator, 0, n - 1);
  }

  /** Shuffles `array` in place (Fisher-Yates) and returns it. Works on plain and typed arrays. */
  shuffle<T extends { length: number; [index: number]: unknown }>(array: T): T {
    if (array === null || typeof array !== 'object' || typeof array.length !== 'number') throw invalid('an array', 'array', array);
    for (let i = array.length - 1; i > 0; i--) {
      const j = uniformInt(this.generator, 0, i);
      const held = array[i];
      array[i] = array[j];
      array[j] = held;
    }
    return array;
  }

  /** A random permutation of 0..n-1 as a Uint32Array. */
  permutation(n: number): Uint32Array {
    checkInteger(n, 'n', { min: 0, max: 2 ** 32 - 1 });
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    return this.shuffle(order);
  }
}
