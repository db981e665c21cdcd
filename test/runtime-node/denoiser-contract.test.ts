// The runtimes' shared Denoiser contract (test/runtime-common/denoiser-contract.ts) on onnxruntime-node's CPU device.
import { deviceNames } from '../../runtime-common/devices.js';
import { Denoiser } from '../../runtime-node/denoiser.js';
import { NODE_DEVICES } from '../../runtime-node/ort-session.js';
import { type ContractRuntime, denoiserContract } from '../runtime-common/denoiser-contract.js';

const node: ContractRuntime = {
  runtime: 'onnxruntime-node',
  device: 'cpu',
  deviceNames: deviceNames(NODE_DEVICES),
  optionKeys: ['model', 'device', 'threads', 'tile', 'overlap', 'sigma', 'maxBatchValues'],
  create: (options) => Denoiser.create(options as Parameters<typeof Denoiser.create>[0]),
};

denoiserContract('onnxruntime-node, cpu', () => node);
