// The Node runtime's public API: the Denoiser on raw pixels, image files through sharp, and one-file processing as the CLI does it.
export { Denoiser, defaultModelPath, type DenoiserOptions, type NodeDevice } from './denoiser.js';
export { denoiseFile, type FileJob, type FileReport, type FileSettings, scoreImage, type Scores } from './denoise-file.js';
export { DEFAULT_MAX_PIXELS, encodeImage, type FilePixels, IMAGE_EXTENSIONS, ImageFileError, type LoadedImage, OUTPUT_FORMATS, readImage } from './image-file.js';
export { comparisonPicture, type Panel } from './compare.js';
export { writeFileAtomic } from './atomic-file.js';
export { NODE_DEVICES } from './ort-session.js';
export type { PixelArray, PixelImage } from '../runtime-common/image-ops.js';
export type { ModelInfo } from '../runtime-common/model-info.js';
export { ModelFormatError } from '../runtime-common/model-info.js';
export { ValidationError } from '../runtime-common/validate.js';
