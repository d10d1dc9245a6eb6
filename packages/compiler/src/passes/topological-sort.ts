// Orders nodes so every value is produced before it is read. Stable: among ready nodes the one
// that came first in the input keeps going first, so an already sorted graph is returned unchanged.
// Does not mutate its input. Subgraphs (If/Loop/Scan bodies) are sorted too.
import { GraphCycleError } from '../errors.js';
import { nodeLabel, nodeReads, nodeSubgraphs } from '../ir/graph.js';
import type { Attribute, Graph, Model, Node } from '../ir/types.js';
import type { PassResult } from './pass.js';

/** Min-heap of node indices. */
class IndexHeap {
  private readonly items: number[] = [];
  get size(): number {
    return this.items.length;
  }
  push(v: number): void {
    const a = this.items;
    a.push(v);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p] <= a[i]) break;
      [a[p], a[i]] = [a[i], a[p]];
      i = p;
    }
  }
  pop(): number {
    const a = this.items;
    const top = a[0];
    const last = a.pop() as number;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l] < a[m]) m = l;
        if (r < a.length && a[r] < a[m]) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
}

function findCycle(graph: Graph, remaining: Set<number>, producerIndex: Map<string, number>): string[] {
  const state = new Map<number, 'active' | 'done'>();
  const stack: number[] = [];
  const visit = (i: number): number[] | undefined => {
    state.set(i, 'active');
    stack.push(i);
    for (const r of nodeReads(graph.nodes[i])) {
      const p = producerIndex.get(r);
      if (p === undefined || !remaining.has(p)) continue;
      if (state.get(p) === 'active') return [...stack.slice(stack.indexOf(p)), p];
      if (!state.has(p)) {
        const found = visit(p);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(i, 'done');
    return undefined;
  };
  for (const i of remaining) {
    if (state.has(i)) continue;
    const cycle = visit(i);
    // Edges point from reader to producer; reverse so the cycle reads in data-flow order.
    if (cycle) return cycle.reverse().map((j) => nodeLabel(graph, graph.nodes[j]));
  }
  return [...remaining].map((j) => nodeLabel(graph, graph.nodes[j]));
}

/** Sorts one graph; returns the same object when nothing moved. */
export function sortGraph(graph: Graph): Graph {
  let changed = false;
  const nodes: Node[] = graph.nodes.map((node) => {
    const subgraphs = nodeSubgraphs(node);
    if (subgraphs.length === 0) return node;
    const attributes: Record<string, Attribute> = {};
    let nodeChanged = false;
    for (const [key, a] of Object.entries(node.attributes)) {
      if (a.type === 'graph') {
        const sorted = sortGraph(a.value);
        nodeChanged ||= sorted !== a.value;
        attributes[key] = { ...a, value: sorted };
      } else if (a.type === 'graphs') {
        const sorted = a.value.map(sortGraph);
        nodeChanged ||= sorted.some((g, i) => g !== a.value[i]);
        attributes[key] = { ...a, value: sorted };
      } else attributes[key] = a;
    }
    changed ||= nodeChanged;
    return nodeChanged ? { ...node, attributes } : node;
  });

  const producerIndex = new Map<string, number>();
  nodes.forEach((n, i) => n.outputs.forEach((o) => o !== '' && producerIndex.set(o, i)));
  const dependents: number[][] = nodes.map(() => []);
  const pending = nodes.map((n, i) => {
    const deps = new Set<number>();
    for (const r of nodeReads(n)) {
      const p = producerIndex.get(r);
      if (p !== undefined && p !== i) deps.add(p);
      else if (p === i) deps.add(i);
    }
    for (const d of deps) if (d !== i) dependents[d].push(i);
    return deps.has(i) ? Number.POSITIVE_INFINITY : deps.size;
  });
  const ready = new IndexHeap();
  pending.forEach((count, i) => count === 0 && ready.push(i));
  const order: number[] = [];
  while (ready.size > 0) {
    const i = ready.pop();
    order.push(i);
    for (const d of dependents[i]) if (--pending[d] === 0) ready.push(d);
  }
  if (order.length !== nodes.length) {
    const placed = new Set(order);
    const remaining = new Set(nodes.map((_, i) => i).filter((i) => !placed.has(i)));
    throw new GraphCycleError(graph.name, findCycle({ ...graph, nodes }, remaining, producerIndex));
  }
  changed ||= order.some((v, i) => v !== i);
  return changed ? { ...graph, nodes: order.map((i) => nodes[i]) } : graph;
}

/** Topologically sorts the main graph and all subgraphs. Throws GraphCycleError naming the cycle. */
export function topologicalSort(model: Model): PassResult {
  const graph = sortGraph(model.graph);
  return graph === model.graph ? { model, modified: false } : { model: { ...model, graph }, modified: true };
}
