// Structural checks of an ONNX model: unique names, topological order, every initializer and node used, opset/IR pairing.
import type { onnx as Onnx } from 'onnx-proto';
import { int64ToNumber } from 'onnx-denoiser-common/onnx-model';
import { OPSET_IR_VERSIONS } from './onnx-graph.js';

/**
 * Lists what is structurally wrong with a model (empty when nothing is): missing model or graph names or producer,
 * an IR version that does not go with the default-domain opset (for the opsets the emitter writes), empty or repeated
 * node names, a tensor produced twice (graph input, initializer or node output), a node reading a tensor no earlier
 * node, input or initializer produced (not topologically ordered), an initializer no node reads, a node whose outputs
 * nobody reads, a graph output nobody produces.
 */
export function structureProblems(model: Onnx.IModelProto): string[] {
  const problems: string[] = [];
  const graph = model.graph;
  if (!graph) return ['the model has no graph'];
  if (!graph.name) problems.push('the graph has no name');
  if (!model.producerName) problems.push('the model has no producer_name');
  const opset = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  if (!opset) problems.push('the model imports no default-domain opset');
  else {
    const version = int64ToNumber(opset.version);
    const ir = int64ToNumber(model.irVersion);
    const expected = OPSET_IR_VERSIONS[version];
    if (expected !== undefined && ir !== expected) problems.push(`opset ${version} goes with IR version ${expected}, not ${ir}`);
  }

  const produced = new Set<string>();
  const produce = (name: string, by: string) => {
    if (!name) problems.push(`${by} has an empty name`);
    else if (produced.has(name)) problems.push(`tensor "${name}" is produced twice (again by ${by})`);
    produced.add(name);
  };
  for (const input of graph.input ?? []) produce(input.name ?? '', `graph input "${input.name}"`);
  for (const init of graph.initializer ?? []) produce(init.name ?? '', `initializer "${init.name}"`);

  const read = new Set<string>();
  const nodeNames = new Set<string>();
  for (const [index, node] of (graph.node ?? []).entries()) {
    const label = `node ${index} (${node.opType} "${node.name ?? ''}")`;
    if (!node.name) problems.push(`${label} has no name`);
    else if (nodeNames.has(node.name)) problems.push(`${label} repeats a node name`);
    nodeNames.add(node.name ?? '');
    for (const input of node.input ?? []) {
      if (input === '') continue;
      if (!produced.has(input)) problems.push(`${label} reads "${input}" before anything produces it`);
      read.add(input);
    }
    for (const output of node.output ?? []) produce(output, label);
  }
  const outputs = new Set((graph.output ?? []).map((o) => o.name ?? ''));
  for (const name of outputs) if (!produced.has(name)) problems.push(`graph output "${name}" is never produced`);
  for (const init of graph.initializer ?? []) if (!read.has(init.name ?? '')) problems.push(`initializer "${init.name}" is never read`);
  for (const node of graph.node ?? []) {
    if (!(node.output ?? []).some((o) => read.has(o) || outputs.has(o))) problems.push(`node "${node.name}" (${node.opType}) has outputs nobody reads`);
  }
  return problems;
}
