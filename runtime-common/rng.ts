// The one seeded random stream: xoroshiro128+ (pure-rand's words and integer draws, bit for bit) with floats, normals, shuffles and a saveable state.
import { check, checkInteger, checkObject, invalid } from './validate.js';

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
  /** The xoroshiro128+ state as four signed 32-bit integers, in the order pure-rand's `getState()` gives them. */
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
 * Four well-mixed state words from a seed (a SplitMix-style stream). Putting the seed almost verbatim into the
 * state (pure-rand's own seeding) makes the first outputs for seeds 1, 2, 3 nearly identical; mixing first
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
 * The seeded random stream of the whole project: training's shuffles, patches and noise, the evaluations' noise,
 * the demos' noise and the tests' inputs. Committed models were trained on this exact stream (it was pure-rand's
 * xoroshiro128+ until the generator moved here, word for word), so a seed gives the same draws as it always did.
 *
 * `nextFloat()` uses one 32-bit draw (resolution 2^-32), so the normal tails stop near 6.7 sigma; that is
 * ample for noise and twice as fast as 53-bit floats. Use {@link Rng.getState} / {@link Rng.fromState} to
 * checkpoint the exact position of the stream.
 */
export class Rng {
  // The state in pure-rand's field names and getState() order, so saved states stay valid.
  private s01 = 0;
  private s00 = 0;
  private s11 = 0;
  private s10 = 0;
  // A boolean plus a number (not number | null) keeps the hot field monomorphic in V8.
  private hasSpare = false;
  private spare = 0;

  /** Starts a stream from an integer seed (any safe integer; different seeds give unrelated streams). */
  constructor(seed: number) {
    checkInteger(seed, 'seed', { min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER });
    this.setWords(seedWords(seed));
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
    rng.setWords(words as number[]);
    rng.hasSpare = spare !== null;
    rng.spare = spare ?? 0;
    return rng;
  }

  private setWords(words: readonly number[]): void {
    [this.s01, this.s00, this.s11, this.s10] = words as [number, number, number, number];
  }

  /** A JSON-safe snapshot of the current position; restoring it replays exactly the same draws. */
  getState(): RngState {
    return { algorithm: RNG_ALGORITHM, words: [this.s01, this.s00, this.s11, this.s10], spareNormal: this.hasSpare ? this.spare : null };
  }

  /** The next raw output: a signed 32-bit integer (xoroshiro128+ on two 32-bit halves per 64-bit word). */
  private next(): number {
    const out = (this.s00 + this.s10) | 0;
    const a0 = this.s10 ^ this.s00;
    const a1 = this.s11 ^ this.s01;
    const s00 = this.s00;
    const s01 = this.s01;
    this.s00 = (s00 << 24) ^ (s01 >>> 8) ^ a0 ^ (a0 << 16);
    this.s01 = (s01 << 24) ^ (s00 >>> 8) ^ a1 ^ ((a1 << 16) | (a0 >>> 16));
    this.s10 = (a1 << 5) ^ (a0 >>> 27);
    this.s11 = (a0 << 5) ^ (a1 >>> 27);
    return out;
  }

  /** A uniform integer in [0, size) for 1 <= size <= 2^32, by rejection (unbiased; pure-rand's draw for draw). */
  private below(size: number): number {
    const limit = size > 2 ? ~~(TWO_POW_32 / size) * size : TWO_POW_32;
    let value = this.next() + 2147483648;
    while (value >= limit) value = this.next() + 2147483648;
    return value % size;
  }

  /** A uniform float in [0, 1), a multiple of 2^-32. */
  nextFloat(): number {
    return (this.next() >>> 0) * INV_TWO_POW_32;
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

  /** A uniform integer in [0, n), unbiased (rejection sampling); n is an integer in [1, 2^53). */
  nextInt(n: number): number {
    checkInteger(n, 'n', { min: 1, max: Number.MAX_SAFE_INTEGER });
    if (n <= TWO_POW_32) return this.below(n);
    // Above 2^32: a high and a low word, both redrawn until the pair is below n (pure-rand's order of draws).
    const high = Math.floor(n / TWO_POW_32);
    const low = n % TWO_POW_32;
    let h: number;
    let l: number;
    do {
      h = this.below(high + 1);
      l = this.below(TWO_POW_32);
    } while (h > high || (h === high && l >= low));
    return h * TWO_POW_32 + l;
  }

  /** Shuffles `array` in place (Fisher-Yates) and returns it. Works on plain and typed arrays. */
  shuffle<T extends { length: number; [index: number]: unknown }>(array: T): T {
    if (array === null || typeof array !== 'object' || typeof array.length !== 'number') throw invalid('an array', 'array', array);
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.below(i + 1);
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
