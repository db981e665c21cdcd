// The onnxruntime-node session layer: refusals known before Dawn starts, and onnxruntime's process-wide settings left to the host.
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { openSession } from '../../runtime-node/ort-session.js';
import { identityModel } from './test-models.js';

describe('ort session: bad calls', () => {
  it('refuses an unknown device, listing the valid ones', async () => {
    await expect(openSession(identityModel(), { device: 'tpu', argument: '--device' })).rejects.toThrow('Expected one of "auto", "cpu", "webgpu", "cuda" for --device but received "tpu"');
  });

  it('refuses a named webgpu device whose Vulkan driver file does not exist, before starting Dawn', async () => {
    const saved = process.env.VK_ICD_FILENAMES;
    process.env.VK_ICD_FILENAMES = '/nonexistent/a_icd.json:/nonexistent/b_icd.json';
    try {
      await expect(openSession(identityModel(), { device: 'webgpu' })).rejects.toThrow(
        'Expected a device available on this machine for device but received "webgpu": no Vulkan driver: the files VK_ICD_FILENAMES names (/nonexistent/a_icd.json, /nonexistent/b_icd.json) do not exist',
      );
    } finally {
      if (saved === undefined) delete process.env.VK_ICD_FILENAMES;
      else process.env.VK_ICD_FILENAMES = saved;
    }
  });
});

describe('ort session', () => {
  it('leaves ort.env.logLevel as the host set it (the first session of the process included)', async () => {
    ort.env.logLevel = 'fatal';
    const session = await openSession(identityModel(), { device: 'cpu' });
    try {
      expect(ort.env.logLevel).toBe('fatal');
      const out = await session.run('image', 'denoised', new Float32Array([0.25, 0.5, 0.75, 1]), [1, 1, 2, 2]);
      expect(out.dims).toEqual([1, 1, 2, 2]);
      expect(Array.from(out.data as Float32Array)).toEqual([0.25, 0.5, 0.75, 1]);
    } finally {
      await session.release();
    }
  });
});
