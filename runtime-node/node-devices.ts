// The Node runtime's device table, apart from onnxruntime so that the command line can name devices without loading it.
import { defineDevices } from 'onnx-denoiser-common';

/** Node devices: name -> execution providers. `auto` tries CUDA, then WebGPU, then the CPU. */
export const NODE_DEVICES = defineDevices(
  {
    cpu: { executionProviders: ['cpu'], description: 'CPU (onnxruntime-node CPU execution provider)' },
    webgpu: { executionProviders: ['webgpu'], description: 'WebGPU (onnxruntime-node WebGPU execution provider through Dawn on Vulkan)' },
    cuda: { executionProviders: ['cuda'], description: 'CUDA (onnxruntime-node CUDA execution provider)' },
  },
  ['cuda', 'webgpu', 'cpu'],
);
