// The WebGPU device on SwiftShader (a CPU Vulkan driver): same results as the CPU provider within 1e-4; `auto` passes it over.
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { Denoiser } from '../../runtime-node/denoiser.js';
import { noiseReducerLikeModel, testMetadata } from '../../tools/onnx/test-models.js';
import { skipWithReason } from '../skip-with-reason.js';

const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';
// Dawn reads the Vulkan driver list when the first WebGPU session starts: set it before any session exists.
if (existsSync(SWIFTSHADER)) process.env.VK_ICD_FILENAMES = SWIFTSHADER;
const model = noiseReducerLikeModel(4, 1, testMetadata(1, { spec: readFileSync('models/noise-reducer.json', 'utf8'), size_multiple: '4' }));
const open: Denoiser[] = [];
afterAll(async () => {
  await Promise.all(open.map((d) => d.dispose()));
});

describe('webgpu (SwiftShader): bad calls', () => {
  beforeEach((ctx) => skipWithReason(ctx, !existsSync(SWIFTSHADER), `no SwiftShader Vulkan driver at ${SWIFTSHADER} (Debian: apt-get install chromium libvulkan1)`));
  it('still refuses an unknown device, listing the valid ones', async () => {
    await expect(Denoiser.create({ model, device: 'gpu' as never })).rejects.toThrow('Expected one of "auto", "cpu", "webgpu", "cuda" for options.device but received "gpu"');
  });
});

describe('webgpu (SwiftShader)', () => {
  beforeEach((ctx) => skipWithReason(ctx, !existsSync(SWIFTSHADER), `no SwiftShader Vulkan driver at ${SWIFTSHADER} (Debian: apt-get install chromium libvulkan1)`));
  it('matches the CPU provider within 1e-4, whole and tiled, grey and RGB', async () => {
    const cpu = await Denoiser.create({ model, device: 'cpu', tile: 80, overlap: 32 });
    const gpu = await Denoiser.create({ model, device: 'webgpu', tile: 80, overlap: 32 });
    open.push(cpu, gpu);
    expect(gpu.device).toBe('webgpu');
    const grey = { data: new Float32Array(61 * 47).map((_, i) => ((i * 7919) % 1013) / 1013), width: 61, height: 47, channels: 1 };
    const rgb = { data: new Float32Array(150 * 90 * 3).map((_, i) => ((i * 104729) % 997) / 997), width: 150, height: 90, channels: 3 };
    for (const image of [grey, rgb]) {
      const [a, b] = [await cpu.denoise(image), await gpu.denoise(image)];
      let max = 0;
      for (let i = 0; i < a.data.length; i++) max = Math.max(max, Math.abs(a.data[i]! - b.data[i]!));
      expect(max).toBeLessThan(1e-4);
    }
  });

  it('auto passes over WebGPU on a CPU-emulated Vulkan driver, saying why, and takes the CPU', async () => {
    const auto = await Denoiser.create({ model });
    open.push(auto);
    expect(auto.device).toBe('cpu');
    expect(auto.skipped).toHaveLength(2);
    expect(auto.skipped[0]).toMatch(/^cuda: the CUDA provider is not installed/);
    expect(auto.skipped[1]).toBe(`webgpu: the only Vulkan driver named (${SWIFTSHADER}) is a CPU emulation, far slower than the CPU provider; ask for --device webgpu to use it anyway`);
  });
});
