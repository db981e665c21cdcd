// GPU device nodes and the SwiftShader fallback: what exists is listed, a named Vulkan driver is never overridden.
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { gpuDeviceNodes, SWIFTSHADER_ICD, useSwiftShaderWithoutGpu } from '../../runtime-node/gpu-nodes.js';

const saved = process.env.VK_ICD_FILENAMES;
afterEach(() => {
  if (saved === undefined) delete process.env.VK_ICD_FILENAMES;
  else process.env.VK_ICD_FILENAMES = saved;
});

describe('gpu nodes: bad calls', () => {
  it('never replaces a Vulkan driver the user named', () => {
    process.env.VK_ICD_FILENAMES = '/somewhere/my_icd.json';
    expect(useSwiftShaderWithoutGpu()).toBeUndefined();
    expect(process.env.VK_ICD_FILENAMES).toBe('/somewhere/my_icd.json');
  });
});

describe('gpu nodes', () => {
  it('lists only device nodes that exist, of the kinds that mean a GPU', () => {
    for (const node of gpuDeviceNodes()) {
      expect(existsSync(node), node).toBe(true);
      expect(node).toMatch(/^\/dev\/(dri\/renderD\d+|nvidiactl|nvidia0|dxg)$/);
    }
  });

  it('points Dawn at SwiftShader only where no GPU node exists and the driver is installed', () => {
    delete process.env.VK_ICD_FILENAMES;
    const used = useSwiftShaderWithoutGpu();
    if (gpuDeviceNodes().length === 0 && existsSync(SWIFTSHADER_ICD)) {
      expect(used).toBe('SwiftShader');
      expect(process.env.VK_ICD_FILENAMES).toBe(SWIFTSHADER_ICD);
    } else {
      expect(used).toBeUndefined();
      expect(process.env.VK_ICD_FILENAMES).toBeUndefined();
    }
  });

  it('says SwiftShader again once it is the named driver (a second call, or the user named it)', () => {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    expect(useSwiftShaderWithoutGpu()).toBe('SwiftShader');
    expect(process.env.VK_ICD_FILENAMES).toBe(SWIFTSHADER_ICD);
  });
});
