// Read-only graph queries shared by passes: who produces / consumes a value, subgraphs, opsets.
import type { Attribute, Graph, Model, Node, Tensor } from './types.js';

/** The version of `domain` ('' = default ONNX domain) the model imports, or undefined. */
export function opsetVersion(model: Model, domain = ''): number | undefined {
  const wanted = domain === 'ai.onnx' ? '' : domain;
  return model.opsetImports.find((o) => (o.domain === 'ai.onnx' ? '' : o.domain) === wanted)?.version;
}

/** Subgraphs held by a node's attributes (If branches, Loop/Scan bodies). */
export function nodeSubgraphs(node: Node): Graph[] {
  const out: Graph[] = [];
  for (const a of Object.values(node.attributes) as Attribute[]) {
    if (a.type === 'graph') out.push(a.value);
    else if (a.type === 'graphs') out.push(...a.value);
  }
  return out;
}

/**
 * Names a graph reads from enclosing scopes: used by its nodes (or nested subgraphs) but not
 * defined by its inputs, initializers or nodes.
 */
export function outerScopeReferences(graph: Graph): Set<string> {
  const defined = new Set<string>([...graph.inputs.map((v) => v.name), ...graph.initializers.map((t) => t.name)]);
  for (const n of graph.nodes) for (const o of n.outputs) defined.add(o);
  const refs = new Set<string>();
  for (const n of graph.nodes) {
    for (const i of n.inputs) if (i !== '' && !defined.has(i)) refs.add(i);
    for (const g of nodeSubgraphs(n)) for (const r of outerScopeReferences(g)) if (!defined.has(r)) refs.add(r);
  }
  for (const o of graph.outputs) if (!defined.has(o.name)) refs.add(o.name);
  return refs;
}

/** Every value a node reads: its inputs plus outer-scope names its subgraphs capture. */
export function nodeReads(node: Node): string[] {
  const reads = node.inputs.filter((i) => i !== '');
  for (const g of nodeSubgraphs(node)) reads.push(...outerScopeReferences(g));
  return reads;
}

/** value name -> producing node. */
export function producerMap(graph: Graph): Map<string, Node> {
  const map = new Map<string, Node>();
  for (const n of graph.nodes) for (const o of n.outputs) if (o !== '') map.set(o, n);
  return map;
}

/** value name -> nodes reading it (directly or through a subgraph capture). */
export function consumerMap(graph: Graph): Map<string, Node[]> {
  const map = new Map<string, Node[]>();
  for (const n of graph.nodes) {
    for (const r of new Set(nodeReads(n))) {
      const list = map.get(r);
      if (list) list.push(n);
      else map.set(r, [n]);
    }
  }
  return map;
}

/** initializer name -> tensor. */
export function initializerMap(graph: Graph): Map<string, Tensor> {
  return new Map(graph.initializers.map((t) => [t.name, t]));
}

/** A readable label for a node in messages: its name, or `opType#index` when unnamed. */
export function nodeLabel(graph: Graph, node: Node): string {
  return node.name || `${node.opType}#${graph.nodes.indexOf(node)}`;
}
