// The models the package ships, as data: a name each runtime accepts for `model`, mapped to its file in models/.
import { invalid } from './validate.js';

/** One shipped model. */
export interface ShippedModel {
  /** File name inside the package's `models/` folder (and the web build's `models/`). */
  file: string;
  /** One line for people. */
  description: string;
  /**
   * For a colour model: the shipped model that grey images (one or two channels, or colour channels equal
   * everywhere) go to instead, opened on the first one. Undefined: this model takes grey images itself.
   */
  grey?: string;
}

/** Name -> shipped model. The first is the default. */
export const SHIPPED_MODELS: Readonly<Record<string, Readonly<ShippedModel>>> = Object.freeze({
  'photo-denoiser': Object.freeze({ file: 'photo-denoiser.onnx', description: 'the default: a residual U-Net for colour photos (104,899 parameters) that hands grey ones to photo-denoiser-grey, trained on the Debian photo set (tools photos) with gaussian noise from 0 to 0.22 (sigma 0 to 56 on 0..255), told its level', grey: 'photo-denoiser-grey' }),
  'photo-denoiser-grey': Object.freeze({ file: 'photo-denoiser-grey.onnx', description: "photo-denoiser's grey half: a U-Net on the pixel-unshuffled photo (871,365 parameters; 64, 96 and 128 channels at half, quarter and eighth size), trained on grey patches of the Debian photo set with gaussian noise from 0 to 0.22, told its level" }),
  'noise-reducer': Object.freeze({ file: 'noise-reducer.onnx', description: "the Keras tutorial's autoencoder (3,217 parameters), Fashion-MNIST, gaussian noise 0.4" }),
  'residual-denoiser': Object.freeze({ file: 'residual-denoiser.onnx', description: 'a small residual U-Net (44,257 parameters), Fashion-MNIST, gaussian noise 0.4' }),
  'residual-denoiser-blind': Object.freeze({ file: 'residual-denoiser-blind.onnx', description: 'the residual U-Net trained on gaussian noise from 0.05 to 0.6 (blind): one model for light and heavy noise' }),
});

/** The default model's name: the photo denoiser, for photos of any size in colour or grey. */
export const DEFAULT_MODEL_NAME = 'photo-denoiser';

/**
 * The grey companion's name for a `model` option (see {@link ShippedModel.grey}): the default's when undefined, a
 * shipped model's when it names one that has a companion; undefined for anything else (paths, URLs, bytes).
 */
export function greyCompanionName(model: unknown): string | undefined {
  const name = model === undefined ? DEFAULT_MODEL_NAME : typeof model === 'string' && Object.hasOwn(SHIPPED_MODELS, model) ? model : undefined;
  return name === undefined ? undefined : SHIPPED_MODELS[name]!.grey;
}

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
