// onnx-denoiser-node/internal: what the tools (onnx-denoiser-tools) build on besides the library: sessions, GPU checks, file jobs, the CLI. Not a stable API.
export * from './atomic-file.js';
export * from './compare.js';
export * from './cpu-cores.js';
export * from './denoise-cli.js';
export * from './denoise-file.js';
export * from './denoiser.js';
export * from './gpu-nodes.js';
export * from './image-file.js';
export * from './ort-session.js';
export * from './package-root.js';
export * from './thread-settle.js';
