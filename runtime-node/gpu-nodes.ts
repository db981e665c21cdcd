// Whether this machine can have a GPU behind WebGPU or CUDA: its GPU device nodes, and SwiftShader as the CPU fallback for tools.
import { existsSync, readdirSync } from 'node:fs';

/** Debian chromium's SwiftShader Vulkan driver: WebGPU on the CPU, slowly, where no GPU exists. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** The GPU device nodes present on Linux (/dev/dri/renderD*, /dev/nvidiactl, /dev/nvidia0, /dev/dxg); empty elsewhere. */
export function gpuDeviceNodes(): string[] {
  if (process.platform !== 'linux') return [];
  let render: string[] = [];
  try {
    render = readdirSync('/dev/dri').filter((name) => name.startsWith('renderD')).map((name) => `/dev/dri/${name}`);
  } catch {
    // no /dev/dri
  }
  return [...render, ...['/dev/nvidiactl', '/dev/nvidia0', '/dev/dxg'].filter(existsSync)];
}

/**
 * For benches and the parity matrix: points Dawn at SwiftShader when no GPU device node exists and no Vulkan driver
 * is named, so WebGPU paths run on a CPU-only machine. Returns "SwiftShader" when WebGPU runs on it (set now, or
 * named already by an earlier call or the user), else undefined.
 */
export function useSwiftShaderWithoutGpu(): string | undefined {
  if (process.env.VK_ICD_FILENAMES === SWIFTSHADER_ICD) return 'SwiftShader';
  if (process.platform !== 'linux' || gpuDeviceNodes().length > 0 || process.env.VK_ICD_FILENAMES || !existsSync(SWIFTSHADER_ICD)) return undefined;
  process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  return 'SwiftShader';
}
