// Removes nodes whose outputs never reach a graph output, and initializers nothing live reads.
// Values read only by a subgraph (captured from the enclosing scope) count as read. Subgraph bodies
// are cleaned against their own outputs first. Initializers that double as graph inputs are kept
// (they are part of the model's interface). Does not mutate its input.
import { nodeReads } from '../ir/graph.js';
import type { Attribute, Graph, Model, Node } from '../ir/types.js';
import type { PassResult } from './pass.js';

function cleanSubgraphs(node: Node): Node {
  let changed = false;
  const attributes: Record<string, Attribute> = {};
  for (const [key, a] of Object.entries(node.attributes)) {
    if (a.type === 'graph') {
      const g = removeDeadCodeInGraph(a.value);
      changed ||= g !== a.value;
      attributes[key] = { ...a, value: g };
    } else if (a.type === 'graphs') {
      const gs = a.value.map(removeDeadCodeInGraph);
      changed ||= gs.some((g, i) => g !== a.value[i]);
      attributes[key] = { ...a, value: gs };
    } else attributes[key] = a;
  }
  return changed ? { ...node, attributes } : node;
}

/** Dead-code elimination on one graph; returns the same object when nothing was removed. */
export function removeDeadCodeInGraph(graph: Graph): Graph {
  const nodes = graph.nodes.map(cleanSubgraphs);
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => n.outputs.forEach((o) => o !== '' && producer.set(o, i)));
  const liveValues = new Set<string>();
  const liveNodes = new Set<number>();
  const work: string[] = graph.outputs.map((o) => o.name);
  while (work.length > 0) {
    const value = work.pop() as string;
    if (liveValues.has(value)) continue;
    liveValues.add(value);
    const p = producer.get(value);
    if (p === undefined || liveNodes.has(p)) continue;
    liveNodes.add(p);
    work.push(...nodeReads(nodes[p]));
  }
  const inputNames = new Set(graph.inputs.map((v) => v.name));
  const keptNodes = nodes.filter((_, i) => liveNodes.has(i));
  const initializers = graph.initializers.filter((t) => liveValues.has(t.name) || inputNames.has(t.name));
  const defined = new Set<string>(keptNodes.flatMap((n) => n.outputs));
  const valueInfo = graph.valueInfo.filter((v) => defined.has(v.name) || liveValues.has(v.name));
  const unchanged = keptNodes.length === graph.nodes.length && nodes.every((n, i) => n === graph.nodes[i])
    && initializers.length === graph.initializers.length && valueInfo.length === graph.valueInfo.length;
  return unchanged ? graph : { ...graph, nodes: keptNodes, initializers, valueInfo };
}

/** Removes dead nodes and unused initializers from the model (and its subgraphs). */
export function removeDeadCode(model: Model): PassResult {
  const graph = removeDeadCodeInGraph(model.graph);
  return graph === model.graph ? { model, modified: false } : { model: { ...model, graph }, modified: true };
}
