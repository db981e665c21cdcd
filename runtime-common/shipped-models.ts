// The models the package ships, as data: a name each runtime accepts for `model`, mapped to its file in models/.
import { invalid } from './validate.js';

/** One shipped model. */
export interface ShippedModel {
  /** File name inside the package's `models/` folder (and the web build's `models/`). */
  file: string;
  /** One line for people. */
  description: string;
}

/** Name -> shipped model. The first is the default. */
export const SHIPPED_MODELS: Readonly<Record<string, Readonly<ShippedModel>>> = Object.freeze({
  'photo-denoiser': Object.freeze({ file: 'photo-denoiser.onnx', description: 'the default: a residual U-Net for photos in colour and grey (104,899 parameters), trained on the Debian photo set (tools photos) with blind gaussian noise from 0 to 0.22 (sigma 0 to 56 on 0..255)' }),
  'noise-reducer': Object.freeze({ file: 'noise-reducer.onnx', description: "the Keras tutorial's autoencoder (3,217 parameters), Fashion-MNIST, gaussian noise 0.4" }),
  'residual-denoiser': Object.freeze({ file: 'residual-denoiser.onnx', description: 'a small residual U-Net (44,257 parameters), Fashion-MNIST, gaussian noise 0.4' }),
  'residual-denoiser-blind': Object.freeze({ file: 'residual-denoiser-blind.onnx', description: 'the residual U-Net trained on gaussian noise from 0.05 to 0.6 (blind): one model for light and heavy noise' }),
});

/** The default model's name: the photo denoiser, for photos of any size in colour or grey. */
export const DEFAULT_MODEL_NAME = 'photo-denoiser';

/** Whether `model` is meant as a shipped model's name (no path separator, no file extension) rather than a path or URL. */
export function isModelName(model: string): boolean {
  return /^[a-z0-9][a-z0-9_-]*$/i.test(model);
}

/**
 * The shipped model called `name`.
 * @throws ValidationError naming `argument` and listing the shipped names for an unknown one.
 */
export function shippedModel(name: string, argument = 'model'): Readonly<ShippedModel> {
  const entry = Object.hasOwn(SHIPPED_MODELS, name) ? SHIPPED_MODELS[name] : undefined;
  if (entry) return entry;
  const names = Object.keys(SHIPPED_MODELS).map((n) => `"${n}"`).join(', ');
  throw invalid(`a shipped model name (${names}) or the path or URL of an .onnx file`, argument, name);
}
