// A consumer of onnx-denoiser-node outside the repository (.ci/run copies this folder to an empty one, installs the
// packed tarballs and compiles it with tsc, strict, module nodenext): denoise a file, check a typed error.
import { writeFile } from 'node:fs/promises';
import { Denoiser, DEFAULT_MODEL_NAME, encodeImage, type PixelImage, readImage, type RowListener, type RowWaiter, SHIPPED_MODELS, ValidationError } from 'onnx-denoiser-node';

const [input, output] = process.argv.slice(2);
if (!input || !output) throw new Error('usage: node dist/main.js IN OUT');

const denoiser = await Denoiser.create({ model: 'noise-reducer', device: 'cpu' });
const { image } = await readImage(input, { grey: true });
const clean = await denoiser.denoise(image);
await writeFile(output, await encodeImage(clean, output));

// Rows handed over as they are final, and an image read as it decodes (a large plain PNG; this one is read whole).
const loaded = await readImage(input, { rowsAsDecoded: true });
let rowsSeen = 0;
const onRows: RowListener = (_result, _y0, rows) => void (rowsSeen += rows);
const waitForRows: RowWaiter | undefined = loaded.decoding?.waitForRows;
await denoiser.denoise(loaded.image, { onRows, waitForRows });
await loaded.decoding?.done;
if (rowsSeen !== loaded.image.height) throw new Error(`onRows saw ${rowsSeen} of ${loaded.image.height} rows`);

// Raw pixels in, the same array kind out.
const tiny: PixelImage<Float32Array> = { data: new Float32Array(28 * 28).fill(0.5), width: 28, height: 28, channels: 1 };
const out: PixelImage<Float32Array> = await denoiser.denoise(tiny);

// Tiles side by side on two lanes (one-thread sessions on threads of their own): the installed package ships their
// script, and the pixels are those of one session.
const laned = await Denoiser.create({ model: 'noise-reducer', device: 'cpu', threads: 2, tile: 64 });
const single = await Denoiser.create({ model: 'noise-reducer', device: 'cpu', threads: 1, tile: 64 });
if (laned.lanes !== 2 || single.lanes !== 1) throw new Error(`lanes ${laned.lanes} and ${single.lanes}, expected 2 and 1`);
const [a, b] = [await laned.denoise(image), await single.denoise(image)];
for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) throw new Error(`two lanes and one session gave different pixels (sample ${i})`);
await Promise.all([laned.dispose(), single.dispose()]);

let message = '';
try {
  await Denoiser.create({ tile: -1 });
} catch (error) {
  if (!(error instanceof ValidationError)) throw error;
  message = error.message;
}
await denoiser.dispose();
console.log(JSON.stringify({ device: denoiser.device, lanes: laned.lanes, input: [image.width, image.height, image.channels], output: [clean.width, clean.height], tiny: out.data.length, models: Object.keys(SHIPPED_MODELS), defaultModel: DEFAULT_MODEL_NAME, message }));
