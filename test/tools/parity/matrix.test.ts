// The parity matrix inside npm test: every runnable path matches TF.js within its tolerance, and a wrong model is caught.
import { describe, expect, it } from 'vitest';
import { emitOnnx } from '../../../tools/onnx/emit.js';
import { PARITY_CASES, parityTable, runParityMatrix, TOLERANCES, type ParityModel } from '../../../tools/parity/matrix.js';
import { shippedParityModels } from '../../../tools/parity/run-parity.js';

describe('parity matrix: bad calls', () => {
  it('refuses emulated-GPU inputs that are not among the cases', async () => {
    await expect(runParityMatrix([], { cases: [[1, 28, 28]], emulatedCases: [[8, 28, 28]], browser: false })).rejects.toThrow(/emulatedCases must be a subset of cases/);
  });

  it('reports an ONNX file that does not compute what its weights do as failed, naming the worst input', async () => {
    // The tutorial network: small, and its output layer is named decoder_output.
    const model = (await shippedParityModels()).find((m) => m.name === 'noise-reducer');
    const weights = new Map(model!.weights);
    const bias = weights.get('decoder_output.bias')!;
    weights.set('decoder_output.bias', { shape: bias.shape, data: bias.data.map((v) => v + 0.05) });
    const wrong: ParityModel = { ...model!, name: 'wrong', onnx: emitOnnx(model!.spec, weights).bytes };
    const results = await runParityMatrix([wrong], { cases: [[1, 28, 28]], browser: false });
    const cpu = results.find((r) => r.path === 'onnxruntime-node CPU')!;
    expect(cpu.status).toBe('failed');
    expect(cpu.worst).toBe('1x28x28');
    expect(cpu.maxAbs).toBeGreaterThan(1e-3);
    expect(parityTable(results)).toContain('| wrong | onnxruntime-node CPU |');
  });
});

describe('parity matrix over the shipped models', () => {
  it('every runnable path is within its tolerance of TF.js; the others say why they cannot run', { timeout: 240_000 }, async () => {
    const models = await shippedParityModels();
    expect(models.map((m) => m.name)).toEqual(['photo-denoiser', 'photo-denoiser-grey', 'noise-reducer', 'residual-denoiser', 'residual-denoiser-blind']);
    // On SwiftShader (CI has no GPU) the WebGPU paths take the batch-1 inputs: batch 8 at 64x64 through the photo
    // model costs minutes there. `npm run parity` runs every input on every path.
    const results = await runParityMatrix(models, { emulatedCases: PARITY_CASES.filter(([n]) => n === 1) });
    const table = parityTable(results);
    for (const r of results) {
      if (r.status === 'unavailable') expect(r.reason, `${r.path}: a reason`).toMatch(/\w{8,}/);
      else expect(r.status, `${r.model} / ${r.path}: ${r.reason ?? `max ${r.maxAbs}`}\n${table}`).toBe('ok');
    }
    // The CPU paths and the browser's wasm can always run here.
    for (const path of ['TF.js cpu backend (stock kernels)', 'onnxruntime-node CPU', 'onnxruntime-node CPU, fp16 export', 'onnxruntime-web wasm (chromium)']) {
      expect(results.filter((r) => r.path === path).every((r) => r.status === 'ok'), path).toBe(true);
    }
    expect(results.filter((r) => r.path.startsWith('onnxruntime-node CUDA'))).toHaveLength(models.length);
    expect(TOLERANCES.cpu).toBe(1e-5);
    expect(PARITY_CASES).toHaveLength(6);
  });
});
