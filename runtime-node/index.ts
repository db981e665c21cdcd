// onnx-denoiser-node: the Node library. A Denoiser on raw pixel buffers, and image files in and out through sharp.
export { Denoiser, defaultModelPath, type DenoiseImageOptions, type DenoiseOptions, type DenoiserOptions, type NodeDevice } from './denoiser.js';
export { encodeImage, type EncodeOptions, type FilePixels, IMAGE_EXTENSIONS, ImageFileError, type LoadedImage, readImage, type ReadOptions } from './image-file.js';
export { DEFAULT_MODEL_NAME, SHIPPED_MODELS, type ShippedModel } from 'onnx-denoiser-common';
export type { PixelArray, PixelImage, RowListener, RowWaiter } from 'onnx-denoiser-common';
export type { ModelInfo } from 'onnx-denoiser-common';
export { ModelFormatError } from 'onnx-denoiser-common';
export { ValidationError } from 'onnx-denoiser-common';
export { autoNoiseLevel, estimateNoiseLevel } from 'onnx-denoiser-common';
