// onnx-denoiser-common: the contract both runtimes share (the core Denoiser and the backend each runtime supplies, validation, devices as data, pixels <-> NCHW, tiling and blending, the model reader, the shipped-model table, the seeded random stream, noise and its estimation, metrics, the run queue). No Node-only or browser-only imports.
// The onnx-proto decoding of whole ONNX files (model summary, for the tools) is the separate entry `onnx-denoiser-common/onnx-model`.
export * from './backend.js';
export * from './buffer-pool.js';
export * from './core-denoiser.js';
export * from './denoise-core.js';
export * from './devices.js';
export * from './image-ops.js';
export * from './metrics.js';
export * from './model-info.js';
export * from './model-metadata.js';
export * from './noise.js';
export * from './noise-level.js';
export * from './rng.js';
export * from './serial.js';
export * from './shipped-models.js';
export * from './tiling.js';
export * from './validate.js';
