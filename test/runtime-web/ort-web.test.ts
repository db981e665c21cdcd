// The onnxruntime-web session layer run in Node (wasm): onnxruntime-web's process-wide settings stay the host's.
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { openSession } from '../../runtime-web/ort-web.js';
import { identityModel } from '../../tools/onnx/test-models.js';

// onnxruntime-web's own wasm files, where a host would point it (the bundle's ort/ folder does not exist in the sources).
const ortDist = pathToFileURL(path.dirname(createRequire(import.meta.url).resolve('onnxruntime-web'))).href + '/';

describe('ort-web session: bad calls', () => {
  it('refuses an unknown device, listing the valid ones', async () => {
    await expect(openSession(identityModel(), 'gpu', 'options.device')).rejects.toThrow('Expected one of "auto", "webgpu", "wasm" for options.device but received "gpu"');
  });
});

describe('ort-web session', () => {
  it('keeps the host\'s ort.env.wasm.wasmPaths and logLevel, and runs with them', async () => {
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.wasmPaths = ortDist;
    ort.env.logLevel = 'fatal';
    const session = await openSession(identityModel(), 'wasm');
    try {
      expect(ort.env.wasm.wasmPaths).toBe(ortDist);
      expect(ort.env.logLevel).toBe('fatal');
      const out = await session.run([{ name: 'image', data: new Float32Array([0.25, 0.5, 0.75, 1]), dims: [1, 1, 2, 2] }], 'denoised');
      expect(out.dims).toEqual([1, 1, 2, 2]);
      expect(Array.from(out.data as Float32Array)).toEqual([0.25, 0.5, 0.75, 1]);
    } finally {
      await session.release();
    }
  });
});
