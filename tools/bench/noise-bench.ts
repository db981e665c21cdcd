// Noise-kind speed bench: how long each --noise kind takes to noise a Fashion-MNIST epoch (60,000 x 784 values), extrapolated from a sample.
// Run: npm run bench:noise [-- --images 10000 --factor 0.4 --repeats 3]
import { NOISE_KIND_NAMES, applyNoise } from '../data/noise.js';
import { check, Rng } from 'onnx-denoiser-common';

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  check(Number.isFinite(value) && value > 0, 'a positive number', `--${name}`, process.argv[at + 1]);
  return value;
}

const IMAGES = Math.round(option('images', 10_000));
const FACTOR = option('factor', 0.4);
const REPEATS = Math.round(option('repeats', 3));
const EPOCH_IMAGES = 60_000;
const PIXELS = 784;

// Byte-level pixels, half of them 0, like Fashion-MNIST: salt-pepper and poisson cost depends on the values.
const n = IMAGES * PIXELS;
const rng = new Rng(1);
const x = new Float32Array(n).map(() => (rng.nextFloat() < 0.5 ? 0 : Math.floor(rng.nextFloat() * 256) / 255));
const out = new Float32Array(n);

process.stdout.write(`noise speed, factor ${FACTOR}, ${IMAGES.toLocaleString('en-US')} images of ${PIXELS} values (best of ${REPEATS}), per ${EPOCH_IMAGES.toLocaleString('en-US')}-image epoch:\n\n`);
process.stdout.write('| noise | s per epoch | M values/s |\n|---|---:|---:|\n');
for (const kind of NOISE_KIND_NAMES) {
  // Warm up the JIT on a slice first: the first pass over a kind measures compilation, not noise.
  applyNoise(kind, x.subarray(0, 100_000), out.subarray(0, 100_000), FACTOR, rng);
  let best = Infinity;
  for (let r = 0; r < REPEATS; r++) {
    const started = performance.now();
    applyNoise(kind, x, out, FACTOR, rng);
    best = Math.min(best, (performance.now() - started) / 1000);
  }
  process.stdout.write(`| ${kind} | ${((best * EPOCH_IMAGES) / IMAGES).toFixed(2)} | ${(n / best / 1e6).toFixed(0)} |\n`);
}
