// Summary: the Keras-style table from the spec, with weightless merge and clip layers at 0 parameters.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../runtime-common/validate.js';
import { formatSummary, summaryRows } from '../../../tools/model/summary.js';
import { countParams, loadSpec, parseSpec } from '../../../tools/layers/spec.js';

const spec = parseSpec({
  format: 'onnx-denoiser/spec', version: 1, name: 'skips', input: { name: 'image', channels: 1 },
  layers: [
    { name: 'e1', kind: 'conv2d', filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' },
    { name: 'e2', kind: 'conv2d', filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' },
    { name: 'd1', kind: 'conv2dTranspose', filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' },
    { name: 'skip', kind: 'add', inputs: ['d1', 'e1'] },
    { name: 'cat', kind: 'concat', inputs: ['skip', 'image'] },
    { name: 'noise', kind: 'conv2d', filters: 1, kernelSize: 3, padding: 'same' },
    { name: 'residual', kind: 'subtract', inputs: ['image', 'noise'] },
    { name: 'out', kind: 'clip' },
  ],
});

describe('summary: bad calls', () => {
  it('rejects a size the network cannot take, naming the layer', () => {
    // 7 -> 4 -> 8: the skip's inputs differ for an odd size.
    expect(() => summaryRows(spec, 7, 8)).toThrow(ValidationError);
    expect(() => summaryRows(spec, 7, 8)).toThrow('Expected input tensors of equal height and width for layers[3] ("skip").inputs for input 7x8 but received "d1 (8x8x4), e1 (7x8x4)"');
  });
});

describe('summary', () => {
  it('lists weightless layers with 0 parameters and sums the rest as weightDefs does', () => {
    const rows = summaryRows(spec, 28, 28);
    expect(rows.map((r) => [r.layer, r.type, r.outputShape.join('x'), r.params])).toEqual([
      ['image', 'InputLayer', '28x28x1', 0],
      ['e1', 'Conv2D', '28x28x4', 40],
      ['e2', 'Conv2D', '14x14x4', 148],
      ['d1', 'Conv2DTranspose', '28x28x4', 148],
      ['skip', 'Add', '28x28x4', 0],
      ['cat', 'Concatenate', '28x28x5', 0],
      ['noise', 'Conv2D', '28x28x1', 46],
      ['residual', 'Subtract', '28x28x1', 0],
      ['out', 'Clip', '28x28x1', 0],
    ]);
    expect(rows.reduce((sum, r) => sum + r.params, 0)).toBe(countParams(spec));
  });

  it('adds a "Connected to" column for a graph that is not a chain', () => {
    const text = formatSummary(spec, 28, 28, 'skips.json');
    expect(text).toContain('Connected to');
    expect(text).toMatch(/│ skip \(Add\)\s+│ \(None, 28, 28, 4\)\s+│\s+0 │ d1, e1\s+│/);
    expect(text).toMatch(/│ residual \(Subtract\)\s+│ \(None, 28, 28, 1\)\s+│\s+0 │ image, noise\s+│/);
    expect(text).toMatch(/│ out \(Clip\)\s+│ \(None, 28, 28, 1\)\s+│\s+0 │ residual\s+│/);
    expect(text).toContain('height and width must be multiples of 2');
    expect(text).toContain(' Total params: 382');
    expect(formatSummary(spec, null, null)).toContain('(None, None, None, 5)');
  });

  it('keeps the seed table a chain, without the column', async () => {
    const seed = await loadSpec('models/noise-reducer.json');
    expect(formatSummary(seed, 28, 28)).not.toContain('Connected to');
  });
});
