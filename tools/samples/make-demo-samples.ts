// Makes the demo's bundled sample: an 8x8 grid of Fashion-MNIST test images (224x224 grey PNG) and a noisy copy (Gaussian, f = 0.4, seed 2026).
// Run: npx tsx tools/samples/make-demo-samples.ts   (writes models/samples/fashion-grid-clean.png and fashion-grid-noisy.png)
import { createRequire } from 'node:module';
import path from 'node:path';
import sharp from 'sharp';
import { addGaussianNoise } from 'onnx-denoiser-common';

const require = createRequire(import.meta.url);
const GRID = 8;
const SIDE = 28;
const FACTOR = 0.4;
const SEED = 2026;
const out = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'models', 'samples');

// Each class file holds the class's 1,000 test images first; skip malformed rows (class 0 has empty ones).
const classes = Array.from({ length: 10 }, (_, k) => (require(`fashion-mnist/src/clothes/${k}.json`) as { data: number[][] }).data.filter((row) => row.length === SIDE * SIDE));
const width = GRID * SIDE;
const data = new Uint8Array(width * width);
for (let cell = 0; cell < GRID * GRID; cell++) {
  // Round-robin over classes so every row of the grid shows different garments.
  const image = classes[cell % 10]![Math.floor(cell / 10)]!;
  const x0 = (cell % GRID) * SIDE;
  const y0 = Math.floor(cell / GRID) * SIDE;
  for (let y = 0; y < SIDE; y++) for (let x = 0; x < SIDE; x++) data[(y0 + y) * width + x0 + x] = image[y * SIDE + x]!;
}
const noisy = addGaussianNoise({ data, width, height: width, channels: 1 }, FACTOR, SEED);
const write = (pixels: Uint8Array, name: string) => sharp(pixels, { raw: { width, height: width, channels: 1 } }).toColourspace('b-w').png({ compressionLevel: 9 }).toFile(path.join(out, name));
await write(data, 'fashion-grid-clean.png');
await write(noisy.data, 'fashion-grid-noisy.png');
process.stdout.write(`wrote ${path.join(out, 'fashion-grid-clean.png')} and fashion-grid-noisy.png (${width}x${width}, noise ${FACTOR}, seed ${SEED})\n`);
