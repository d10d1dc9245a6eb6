// Removes Identity nodes and inference-mode Dropout (no mask output read, training_mode absent or
// false): readers of the output read the input instead. When the output is a graph output, the
// input's producer is renamed to write the graph output directly; a node copying a graph input or
// an initializer straight to a graph output is kept (the interface needs two names).
// Main graph only. Does not mutate its input.
import { initializerMap } from '../ir/graph.js';
import type { Model, Node } from '../ir/types.js';
import type { PassResult } from './pass.js';
import { replaceReads } from './graph-rewrite.js';

function isRemovable(node: Node, readers: Set<string>, initializers: Set<string>): boolean {
  if (node.domain !== '' && node.domain !== 'ai.onnx') return false;
  if (node.opType === 'Identity') return node.inputs.length === 1;
  if (node.opType !== 'Dropout') return false;
  if (node.outputs.length > 1 && node.outputs[1] !== '' && readers.has(node.outputs[1])) return false;
  const training = node.inputs[2];
  if (training !== undefined && training !== '') {
    // A training_mode input only keeps the node when it is not a known false constant.
    if (!initializers.has(training)) return false;
  }
  return true;
}

export function removeIdentity(model: Model): PassResult {
  const graph = model.graph;
  const inits = initializerMap(graph);
  const falseInits = new Set([...inits].filter(([, t]) => t.dims.reduce((a, b) => a * b, 1) === 1 && t.data.every((b) => b === 0)).map(([n]) => n));
  let nodes = [...graph.nodes];
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const interfaceValues = new Set([...graph.inputs.map((v) => v.name), ...inits.keys()]);
  let modified = false;
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i];
    const readers = new Set(nodes.flatMap((n) => n.inputs));
    if (!isRemovable(node, readers, falseInits)) continue;
    const input = node.inputs[0];
    const output = node.outputs[0];
    if (!outputs.has(output)) {
      nodes.splice(i, 1);
      nodes = replaceReads(nodes, output, input);
      modified = true;
      i--;
      continue;
    }
    if (interfaceValues.has(input) || outputs.has(input)) continue;
    // Rename the input value to the graph output's name everywhere.
    nodes.splice(i, 1);
    nodes = replaceReads(nodes, input, output).map((n) => (n.outputs.includes(input) ? { ...n, outputs: n.outputs.map((o) => (o === input ? output : o)) } : n));
    modified = true;
    i = -1;
  }
  if (!modified) return { model, modified: false };
  const defined = new Set(nodes.flatMap((n) => n.outputs));
  const valueInfo = graph.valueInfo.filter((v) => defined.has(v.name) || interfaceValues.has(v.name));
  return { model: { ...model, graph: { ...graph, nodes, valueInfo } }, modified: true };
}
