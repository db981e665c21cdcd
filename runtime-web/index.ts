// The browser runtime's public API: the Denoiser, browser image conversions, synthetic-noise demos and the <denoise-image> element (registered on import where customElements exists).
import { defineDenoiseImage } from './denoise-image-element.js';

export { Denoiser, defaultModelUrl, type DenoiseOptions, type DenoiserOptions, type DenoiseProgress, type WebDevice } from './denoiser.js';
export { type BrowserImage, checkBrowserImage, loadImage, readPixels, toImageData } from './browser-image.js';
export { denoiseWithNoise, type NoisyRun } from './synthetic-noise.js';
export { DEFAULT_SEED, DENOISE_IMAGE_ATTRIBUTES, type DenoiseDoneDetail, type DenoiseErrorDetail, type DenoiseImageElement, defineDenoiseImage } from './denoise-image-element.js';
export { ORT_FILES_FOLDER, WEB_DEVICES } from './ort-web.js';
export { assetsUrl, setAssetsUrl } from './assets.js';
export { checkDeviceName, deviceNames } from 'onnx-denoiser-common';
export type { PixelArray, PixelImage } from 'onnx-denoiser-common';
export type { ModelInfo } from 'onnx-denoiser-common';
export { ModelFormatError } from 'onnx-denoiser-common';
export { psnr } from 'onnx-denoiser-common';
export { addGaussianNoise } from 'onnx-denoiser-common';
export { ValidationError } from 'onnx-denoiser-common';
export { autoNoiseLevel, estimateNoiseLevel } from 'onnx-denoiser-common';

if (typeof customElements !== 'undefined') defineDenoiseImage();
