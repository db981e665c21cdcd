// Noise kinds as data (gaussian, salt-pepper, poisson), applied to [0,1] Float32Arrays from a seeded Rng.
import { type RangeOptions, check, checkNumber, gaussianNoise, invalid, Rng } from 'onnx-denoiser-common';

/**
 * One noise kind: writes a noisy copy of `input` into `output` (which may be `input` itself, for in-place).
 * `clip: false` skips the final clamp to [0, 1] (for tests of the raw distribution).
 */
export type NoiseFunction = (input: Float32Array, output: Float32Array, factor: number, rng: Rng, clip: boolean) => void;

/** The table entry of a noise kind: what it does, its default strength, the accepted factors, the function. */
export interface NoiseKindInfo {
  /** One line for CLI help. */
  readonly description: string;
  /** The factor used when none is given. */
  readonly defaultFactor: number;
  /** The accepted range of the factor f. */
  readonly factorRange: Readonly<RangeOptions>;
  /** Applies the noise. */
  readonly apply: NoiseFunction;
}

/**
 * Poisson means below this are sampled exactly (inversion by sequential search, one uniform and about
 * `mean` multiply-adds per pixel); from it on, by the normal approximation `round(mean + sqrt(mean) * z)`.
 * At mean 30 the Poisson skewness 1/sqrt(mean) is 0.18 and the approximation's CDF error is about 1%,
 * which divided by `peak` is far below the noise itself, while the exact search would cost O(mean) per pixel.
 */
export const POISSON_EXACT_BELOW = 30;

/** The gaussian kind is runtime-common's {@link gaussianNoise}: training, evaluation and the demos add the same noise. */
function gaussian(input: Float32Array, output: Float32Array, factor: number, rng: Rng, clip: boolean): void {
  gaussianNoise(input, output, factor, rng, { clip });
}

function saltPepper(input: Float32Array, output: Float32Array, factor: number, rng: Rng): void {
  const half = factor / 2;
  const n = input.length;
  for (let i = 0; i < n; i++) {
    // One uniform decides both: u < f hits the pixel, and given a hit u/f is uniform, so u < f/2 is a fair coin.
    // Arithmetic instead of `?:` because a random 2-way branch per pixel doubled the time (mispredictions).
    const u = rng.nextFloat();
    const hit = +(u < factor);
    const salt = +(u >= half);
    output[i] = (1 - hit) * input[i] + hit * salt;
  }
}

/** Exact Poisson(mean) by inversion (sequential search from 0); `expNeg` is exp(-mean), passed in so callers can cache it. */
function poissonSearch(mean: number, expNeg: number, rng: Rng): number {
  const u = rng.nextFloat();
  let k = 0;
  let p = expNeg;
  let cumulative = p;
  // u < 1 - 2^-32 while the summed CDF reaches 1 within ~1e-15, so this ends; the cap only guards rounding.
  while (u >= cumulative && k < 1000) {
    k++;
    p *= mean / k;
    cumulative += p;
  }
  return k;
}

/** One Poisson(mean) sample: exact below {@link POISSON_EXACT_BELOW}, normal approximation from it on. */
export function samplePoisson(mean: number, rng: Rng): number {
  if (!(mean > 0)) return 0;
  if (mean < POISSON_EXACT_BELOW) return poissonSearch(mean, Math.exp(-mean), rng);
  const k = Math.round(mean + Math.sqrt(mean) * rng.nextNormal());
  return k < 0 ? 0 : k;
}

// The float32 values of the 256 byte levels, as toFloatBatch produces them.
const BYTE_LEVELS = new Float32Array(256).map((_, v) => v / 255);
const LAST_U = 1 - 2 ** -32; // the largest nextFloat()

/** Per-level Poisson CDF tables for one peak: level v's CDF is `cdf[start[v]..start[v+1])`, built by the same recurrence as poissonSearch. */
interface PoissonTables {
  peak: number;
  start: Int32Array;
  cdf: Float64Array;
}

let cachedTables: PoissonTables | null = null;

function poissonTables(peak: number): PoissonTables {
  if (cachedTables?.peak === peak) return cachedTables;
  const start = new Int32Array(257);
  const values: number[] = [];
  for (let v = 0; v < 256; v++) {
    start[v] = values.length;
    const mean = BYTE_LEVELS[v] * peak;
    if (!(mean > 0 && mean < POISSON_EXACT_BELOW)) continue;
    let k = 0;
    let p = Math.exp(-mean);
    let cumulative = p;
    values.push(cumulative);
    // Up to the first entry above the largest possible u: the table search then stops exactly where poissonSearch does.
    while (cumulative <= LAST_U && k < 1000) {
      k++;
      p *= mean / k;
      cumulative += p;
      values.push(cumulative);
    }
  }
  start[256] = values.length;
  cachedTables = { peak, start, cdf: Float64Array.from(values) };
  return cachedTables;
}

function poisson(input: Float32Array, output: Float32Array, factor: number, rng: Rng, clip: boolean): void {
  const peak = 1 / (factor * factor);
  // Inputs are nearly always the 256 byte levels, so each level's CDF is tabulated once per peak: the search
  // is then a run of loads and compares instead of a chain of divisions plus a Math.exp (together 2x faster),
  // and gives exactly the k that poissonSearch gives. Other values take the direct path.
  const { start, cdf } = poissonTables(peak);
  const n = input.length;
  for (let i = 0; i < n; i++) {
    const x = input[i];
    const mean = x * peak;
    let k = 0;
    if (mean >= POISSON_EXACT_BELOW) k = samplePoisson(mean, rng);
    else if (mean > 0) {
      const level = Math.round(x * 255);
      if (level <= 255 && BYTE_LEVELS[level] === x) {
        const base = start[level];
        const last = start[level + 1] - 1;
        const u = rng.nextFloat();
        let j = base;
        while (j < last && u >= cdf[j]) j++;
        k = j - base;
      } else k = poissonSearch(mean, Math.exp(-mean), rng);
    }
    const value = k / peak;
    output[i] = clip && value > 1 ? 1 : value;
  }
}

/** The noise kinds, by name: the CLI lists them from here. Frozen. */
export const NOISE_KINDS = Object.freeze({
  gaussian: Object.freeze<NoiseKindInfo>({
    description: 'clip(x + f * N(0,1), 0, 1): the tutorial\'s noise (its article uses f = 0.4, TF\'s tutorial 0.2)',
    defaultFactor: 0.4,
    factorRange: Object.freeze({ min: 0 }),
    apply: gaussian,
  }),
  'salt-pepper': Object.freeze<NoiseKindInfo>({
    description: 'each pixel, with probability f, set to 0 or 1 with equal odds',
    defaultFactor: 0.2,
    factorRange: Object.freeze({ min: 0, max: 1 }),
    apply: saltPepper,
  }),
  poisson: Object.freeze<NoiseKindInfo>({
    description: 'shot noise Poisson(x * peak) / peak with peak = 1/f^2 (std about f at x = 1), clipped to [0, 1]',
    defaultFactor: 0.4,
    factorRange: Object.freeze({ above: 0 }),
    apply: poisson,
  }),
});

/** A noise kind's name. */
export type NoiseKind = keyof typeof NOISE_KINDS;

/** The noise kinds' names, in table order. */
export const NOISE_KIND_NAMES: readonly NoiseKind[] = Object.freeze(Object.keys(NOISE_KINDS) as NoiseKind[]);

function listNames(names: readonly string[]): string {
  const quoted = names.map((n) => `"${n}"`);
  return quoted.length > 1 ? `${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}` : quoted.join('');
}

/** Returns `value` as a noise kind, or throws the standard error listing the valid kinds. */
export function checkNoiseKind(value: unknown, name = 'noise kind'): NoiseKind {
  check(typeof value === 'string' && Object.hasOwn(NOISE_KINDS, value), `one of ${listNames(NOISE_KIND_NAMES)}`, name, value);
  return value as NoiseKind;
}

/** Returns `factor` if it is valid for `kind` (gaussian f >= 0, salt-pepper 0 <= f <= 1, poisson f > 0), else throws. */
export function checkNoiseFactor(kind: NoiseKind, factor: unknown, name = 'noise factor'): number {
  const info = NOISE_KINDS[checkNoiseKind(kind)];
  return checkNumber(factor, `${name} (${kind} noise)`, info.factorRange);
}

/** Options of {@link applyNoise}. */
export interface ApplyNoiseOptions {
  /** Clamp the result to [0, 1] (default true). Salt-pepper output is always within [0, 1]. */
  clip?: boolean;
}

/**
 * Writes a noisy copy of `input` (values in [0, 1]) into `output` and returns `output`. `output` may be
 * `input` for in-place noise; both must have the same length. Draws from `rng`, so the same seed gives the
 * same noise. The input values are not re-checked (that would cost as much as the noise).
 */
export function applyNoise(kind: NoiseKind, input: Float32Array, output: Float32Array, factor: number, rng: Rng, options: ApplyNoiseOptions = {}): Float32Array {
  const info = NOISE_KINDS[checkNoiseKind(kind)];
  checkNoiseFactor(kind, factor);
  check(input instanceof Float32Array, 'a Float32Array', 'noise input', input);
  check(output instanceof Float32Array, 'a Float32Array', 'noise output', output);
  check(output.length === input.length, `${input.length} (the input's length)`, 'the noise output length', output.length);
  if (!(rng instanceof Rng)) throw invalid('an Rng', 'rng', rng);
  info.apply(input, output, factor, rng, options.clip ?? true);
  return output;
}

/** A noise setting for training: one factor, or a range `[factor, maxFactor]` drawn per image (blind denoising). */
export interface NoiseSettingsLike {
  kind: NoiseKind;
  factor: number;
  /** When set, each image's factor is drawn from [factor, maxFactor] (uniformly, unless `power` says otherwise). */
  maxFactor?: number;
  /**
   * With a range: the factor is `factor + (maxFactor - factor) * u^power` for u uniform in [0, 1). Above 1, light
   * noise is drawn more often (2: half the images below a quarter of the range). Default 1 (uniform).
   */
  power?: number;
  /** Share of images (0 to 1) left clean, so a blind model also learns to leave a clean photo alone. Default 0. */
  cleanShare?: number;
  /** Round every noisy value to 8 bits (as a saved PNG is), so training inputs look like real files. Default false. */
  quantize?: boolean;
  /**
   * Interleaved colour images whose clean channels are all equal (grey) get one noise for all their channels, as a
   * grey photo given to a colour model as three equal channels has. Default false (independent noise per value).
   */
  greyShared?: boolean;
}

/**
 * For each image of `channels` interleaved channels in `clean` whose channels are equal at every pixel (a grey
 * image), copies the first channel of `noisy` to the others: one noise for all its channels. Other images untouched.
 */
export function shareGreyNoise(clean: Float32Array, noisy: Float32Array, imageSize: number, channels: number): void {
  if (channels < 2) return;
  for (let start = 0; start < clean.length; start += imageSize) {
    let grey = true;
    for (let i = start; i < start + imageSize && grey; i += channels) for (let c = 1; c < channels; c++) if (clean[i + c] !== clean[i]) grey = false;
    if (!grey) continue;
    for (let i = start; i < start + imageSize; i += channels) for (let c = 1; c < channels; c++) noisy[i + c] = noisy[i]!;
  }
}

/**
 * Parses `--noise-factor`: a number (`0.4`) or a range `LOW:HIGH` (`0.05:0.6`) for a factor drawn per image.
 * @throws the standard error naming `name` for text that is neither, a factor invalid for `kind`, or LOW > HIGH.
 */
export function parseNoiseFactor(kind: NoiseKind, value: unknown, name = 'noise factor'): { factor: number; maxFactor?: number } {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
  const parts = text.split(':');
  if (parts.length === 2) {
    const [low, high] = parts.map((p) => (p.trim() === '' ? NaN : Number(p)));
    const factor = checkNoiseFactor(kind, low, name);
    const maxFactor = checkNoiseFactor(kind, high, name);
    check(maxFactor >= factor, `a range LOW:HIGH with LOW <= HIGH`, name, value);
    return maxFactor === factor ? { factor } : { factor, maxFactor };
  }
  return { factor: checkNoiseFactor(kind, text === '' || parts.length > 2 ? value : Number(text), name) };
}

/**
 * Applies noise to `count` images of `imageSize` values each: with a range, each image gets its own factor drawn
 * from `rng` (in [factor, maxFactor], uniform unless `power` is set) before its noise; without, one call over all of them. With a
 * `cleanShare`, that share of the images (drawn per image) is copied without noise; with `quantize`, every output
 * value is rounded to 8 bits. `factors`, when given, receives each image's factor (0 for a clean one).
 */
export function applyNoiseToImages(settings: NoiseSettingsLike, input: Float32Array, output: Float32Array, imageSize: number, rng: Rng, factors?: Float32Array): Float32Array {
  const cleanShare = settings.cleanShare ?? 0;
  if (settings.maxFactor === undefined && cleanShare === 0) {
    applyNoise(settings.kind, input, output, settings.factor, rng);
    factors?.fill(settings.factor);
  } else {
    const count = input.length / imageSize;
    check(Number.isInteger(count), `a whole number of images of ${imageSize} values`, 'the noise input length', input.length);
    for (let i = 0; i < count; i++) {
      const from = input.subarray(i * imageSize, (i + 1) * imageSize);
      const to = output.subarray(i * imageSize, (i + 1) * imageSize);
      // The clean draw comes first and only when a share is set, so runs without one keep their exact noise.
      if (cleanShare > 0 && rng.nextFloat() < cleanShare) {
        to.set(from);
        if (factors) factors[i] = 0;
        continue;
      }
      const factor = settings.maxFactor === undefined ? settings.factor : settings.factor + (settings.maxFactor - settings.factor) * rng.nextFloat() ** (settings.power ?? 1);
      applyNoise(settings.kind, from, to, factor, rng);
      if (factors) factors[i] = factor;
    }
  }
  if (settings.quantize) for (let i = 0; i < output.length; i++) output[i] = Math.round(output[i]! * 255) / 255;
  return output;
}
