// Float32 buffers kept between model runs: tile and batch tensors of the same shapes recur, and a fresh typed array costs an allocation, zeroing and garbage collection each time.

/** Most arrays kept per length. */
const PER_LENGTH = 4;

/**
 * A bounded pool of Float32Arrays by length. `take` hands out an array of the length asked for, whose contents are
 * whatever its last user left (callers overwrite every value); `give` returns an array its caller no longer uses
 * and keeps it while the pool holds fewer than `maxValues` values in all and fewer than 4 of that length. Only
 * arrays this pool made are kept: anything else given (an onnxruntime output that may view memory the runtime
 * owns) is ignored.
 */
export class FloatPool {
  readonly #free = new Map<number, Float32Array[]>();
  readonly #made = new WeakSet<Float32Array>();
  readonly #maxValues: number;
  #values = 0;

  /** `maxValues`: the most float values kept in all (default 2^24, 64 MB). */
  constructor(maxValues = 2 ** 24) {
    this.#maxValues = maxValues;
  }

  /** An array of `length` values: a kept one, or a new one. */
  take(length: number): Float32Array {
    const list = this.#free.get(length);
    const kept = list?.pop();
    if (kept !== undefined) {
      this.#values -= length;
      return kept;
    }
    const made = new Float32Array(length);
    this.#made.add(made);
    return made;
  }

  /** Keeps `array` (one this pool made) for a later {@link take}, if there is room; the caller must not use it afterwards. */
  give(array: Float32Array): void {
    const { length } = array;
    if (!this.#made.has(array) || this.#values + length > this.#maxValues) return;
    let list = this.#free.get(length);
    if (!list) this.#free.set(length, (list = []));
    if (list.length >= PER_LENGTH || list.includes(array)) return;
    list.push(array);
    this.#values += length;
  }

  /** Float values kept now. */
  get size(): number {
    return this.#values;
  }

  /** Drops every kept array. */
  clear(): void {
    this.#free.clear();
    this.#values = 0;
  }
}

/** A pool that keeps nothing: every take is a new array (the default where no pool is given). */
export const NO_POOL: Pick<FloatPool, 'take' | 'give'> = Object.freeze({ take: (length: number) => new Float32Array(length), give: () => {} });
