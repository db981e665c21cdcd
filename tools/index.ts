// onnx-denoiser-tools as a library: layer specs, the ONNX emitter and export, inspection and the command line's entry.
// (The `tools` bin is the usual way in; these are the same functions it runs.)
export { countParams, inferShapes, loadSpec, type NetworkSpec, parseSpec, serializeSpec, sizeMultiple } from './layers/spec.js';
export { formatSummary } from './model/summary.js';
export { emitOnnx, type EmitOptions, type EmittedModel } from './onnx/emit.js';
export { exportOnnxFile, type ExportRequest, type ExportResult } from './onnx/export.js';
export { formatInspect, inspectOnnx, type InspectReport } from './onnx/inspect.js';
