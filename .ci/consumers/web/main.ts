// A page using onnx-denoiser-web from the packed tarball, bundled with esbuild by .ci/run: the library on wasm on the
// bundled sample with seeded noise (PSNR before and after), and the <denoise-image> element (registered by the import).
import { Denoiser, denoiseWithNoise, loadImage, readPixels } from 'onnx-denoiser-web';

async function run(): Promise<unknown> {
  const clean = readPixels(await loadImage('sample.png'));
  const denoiser = await Denoiser.create({ model: 'residual-denoiser-blind', device: 'wasm' });
  const result = await denoiseWithNoise(denoiser, clean, 0.2, 7);
  const element = document.querySelector('denoise-image')!;
  await new Promise<void>((resolve, reject) => {
    if (element.getAttribute('state') === 'done') resolve();
    element.addEventListener('done', () => resolve(), { once: true });
    element.addEventListener('error', (event) => reject(new Error((event as CustomEvent<{ message: string }>).detail.message)), { once: true });
  });
  return {
    device: denoiser.device,
    size: [result.denoised.width, result.denoised.height],
    psnrNoisy: result.psnrNoisy,
    psnrDenoised: result.psnr,
    element: element.getAttribute('state'),
  };
}

(window as unknown as { consumerResult: Promise<unknown> }).consumerResult = run();
