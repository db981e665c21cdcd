// The shipped-model table both runtimes read: names vs paths, unknown names listing the valid ones, every file present.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readModelMetadata } from '../../runtime-common/onnx-model.js';
import { DEFAULT_MODEL_NAME, greyCompanionName, isModelName, SHIPPED_MODELS, shippedModel } from '../../runtime-common/shipped-models.js';


describe('shipped models: bad calls', () => {
  it('an unknown name lists the shipped ones, naming the argument', () => {
    expect(() => shippedModel('unet', '--model')).toThrow('Expected a shipped model name ("photo-denoiser", "photo-denoiser-grey", "noise-reducer", "residual-denoiser", "residual-denoiser-blind") or the path or URL of an .onnx file for --model but received "unet"');
    expect(() => shippedModel('toString')).toThrow('for model but received "toString"');
  });
});

describe('shipped models', () => {
  it('tells names from paths and URLs', () => {
    for (const name of ['noise-reducer', 'residual-denoiser', 'x1', 'My_Model']) expect(isModelName(name), name).toBe(true);
    for (const path of ['model.onnx', './noise-reducer', 'models/noise-reducer.onnx', '/abs/m', 'http://h/m.onnx', '', '-x']) expect(isModelName(path), path).toBe(false);
  });

  it('has every file in models/, each an onnx-denoiser model trained for the noise its description names', () => {
    expect(Object.keys(SHIPPED_MODELS)[0]).toBe(DEFAULT_MODEL_NAME);
    for (const [name, { file, description }] of Object.entries(SHIPPED_MODELS)) {
      expect(existsSync(`models/${file}`), file).toBe(true);
      const { metadata } = readModelMetadata(readFileSync(`models/${file}`), file);
      expect(name.startsWith(metadata.name), name).toBe(true);
      const noise = metadata.noise!;
      expect(description, name).toContain(noise.maxFactor === undefined ? `gaussian noise ${noise.factor}` : `gaussian noise from ${noise.factor} to ${noise.maxFactor}`);
    }
  });

  it('a grey companion is a shipped model without one of its own, trained for the same noise', () => {
    for (const [name, { file, grey }] of Object.entries(SHIPPED_MODELS)) {
      if (grey === undefined) continue;
      const companion = shippedModel(grey);
      expect(companion.grey, name).toBeUndefined();
      const noise = (f: string) => readModelMetadata(readFileSync(`models/${f}`), f).metadata.noise;
      expect(noise(companion.file), name).toEqual(noise(file));
    }
  });

  it('greyCompanionName: the default and photo-denoiser by name have one; other names, paths, URLs and bytes none', () => {
    expect(greyCompanionName(undefined)).toBe('photo-denoiser-grey');
    expect(greyCompanionName('photo-denoiser')).toBe('photo-denoiser-grey');
    for (const model of ['photo-denoiser-grey', 'noise-reducer', 'models/photo-denoiser.onnx', 'http://h/photo-denoiser', 'toString', new Uint8Array(4), new ArrayBuffer(4)]) {
      expect(greyCompanionName(model), String(model)).toBeUndefined();
    }
  });
});
