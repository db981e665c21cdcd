// Keras-style model summary computed from the spec alone: layer, output shape for an input size, parameters.
import { LAYER_KINDS } from '../layers/layer-registry.js';
import { countParams, inferShapes, sizeMultiple, weightDefs, type NetworkSpec } from '../layers/spec.js';

/** One row of the summary table. */
export interface SummaryRow {
  layer: string;
  type: string;
  /** NHWC without batch; null entries are free sizes. */
  outputShape: [number | null, number | null, number];
  params: number;
  inputs: string[];
}

/** The rows of the summary for an input of `height` x `width` (null for free sizes). */
export function summaryRows(spec: NetworkSpec, height: number | null, width: number | null): SummaryRow[] {
  const shapes = inferShapes(spec, height, width);
  const params = new Map<string, number>();
  for (const w of weightDefs(spec)) params.set(w.layer, (params.get(w.layer) ?? 0) + w.shape.reduce((a, b) => a * b, 1));
  const rows: SummaryRow[] = [
    { layer: spec.input.name, type: 'InputLayer', outputShape: [height, width, spec.input.channels], params: 0, inputs: [] },
    ...(spec.input.noiseMap === undefined ? [] : [{ layer: spec.input.noiseMap, type: 'InputLayer', outputShape: [height, width, 1] as SummaryRow['outputShape'], params: 0, inputs: [] }]),
  ];
  for (const layer of spec.layers) {
    const s = shapes.get(layer.name)!;
    rows.push({ layer: layer.name, type: LAYER_KINDS[layer.kind].displayName, outputShape: [s.height, s.width, s.channels], params: params.get(layer.name) ?? 0, inputs: layer.inputs });
  }
  return rows;
}

const number = new Intl.NumberFormat('en-US');

/** Formats the summary as a box-drawn table like Keras's `model.summary()`, followed by the totals. */
export function formatSummary(spec: NetworkSpec, height: number | null, width: number | null, source?: string): string {
  const rows = summaryRows(spec, height, width);
  // A "Connected to" column only when the graph is not a plain chain.
  const chain = spec.layers.every((layer, i) => layer.inputs.length === 1 && layer.inputs[0] === (i === 0 ? spec.input.name : spec.layers[i - 1]!.name));
  const header = ['Layer (type)', 'Output Shape', 'Param #', ...(chain ? [] : ['Connected to'])];
  const cells = rows.map((r) => [
    `${r.layer} (${r.type})`,
    `(None, ${r.outputShape.map((d) => (d === null ? 'None' : String(d))).join(', ')})`,
    number.format(r.params),
    ...(chain ? [] : [r.inputs.join(', ') || '-']),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...cells.map((row) => row[c]!.length)));
  const line = (l: string, m: string, r: string) => `${l}${widths.map((w) => '─'.repeat(w + 2)).join(m)}${r}`;
  const row = (values: string[]) => `│${values.map((v, c) => (c === 2 ? ` ${v.padStart(widths[c]!)} ` : ` ${v.padEnd(widths[c]!)} `)).join('│')}│`;
  const multiple = sizeMultiple(spec);
  const size = height === null || width === null ? 'any size' : `${height}x${width}`;
  const lines = [
    `Model: "${spec.name}"${source ? ` (${source}, spec v${spec.version})` : ''}`,
    `Input: ${size}, ${spec.input.channels} channel${spec.input.channels === 1 ? '' : 's'}${multiple ? `; height and width must be multiples of ${multiple}` : ''}`,
    ...(spec.input.noiseMap === undefined ? [] : [`Noise map: "${spec.input.noiseMap}", 1 channel of the image's size (the noise's standard deviation per pixel)`]),
    line('┌', '┬', '┐'),
    row(header),
    line('├', '┼', '┤'),
    ...cells.map(row),
    line('└', '┴', '┘'),
    ` Total params: ${number.format(countParams(spec))}`,
  ];
  return `${lines.join('\n')}\n`;
}
