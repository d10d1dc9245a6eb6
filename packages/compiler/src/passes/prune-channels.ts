// Structured channel pruning: removes whole Conv output channels ranked by the L1 or L2 norm of
// their filters, and rewrites every reader so the model really gets smaller and faster: the next
// Conv's input channels, depthwise Convs (weights, bias, group), BatchNormalization parameters,
// per-channel constants of Add / Mul, and Gemm / MatMul rows after Flatten. Channels joined by
// Add (residuals) or Concat prune together (prune/channel-dependencies.ts). Groups that reach a
// graph output or an op the analysis cannot follow stay whole and are listed in the report.
// Main graph only; the model is sorted first. Does not mutate its input.
import { DataType } from '../ir/data-type.js';
import { nodeLabel } from '../ir/graph.js';
import { inferShapes } from '../ir/shape-inference.js';
import type { Model, Node, Tensor } from '../ir/types.js';
import { analyzeChannels } from '../prune/channel-dependencies.js';
import type { ChannelLayout } from '../prune/channel-dependencies.js';
import { floatTensor, floatValues, nameAllocator, takenNames, valueTypes } from './graph-rewrite.js';
import type { PassResult } from './pass.js';
import { topologicalSort } from './topological-sort.js';

export interface ChannelPruneOptions {
  /** Share of channels to remove from every prunable group, 0..1 (default 0). */
  ratio?: number;
  /** Per-Conv ratios (producer node name -> 0..1); a group takes the largest of its members'. */
  layers?: Readonly<Record<string, number>>;
  /** Channel importance: 'l1' (default) or 'l2' norm of each output filter. */
  criterion?: 'l1' | 'l2';
  /** Kept channel counts are rounded down to a multiple of this (default 1; 8 suits SIMD kernels). */
  roundTo?: number;
}

export interface ChannelPruneResult extends PassResult {
  report: {
    groups: { convs: string[]; channels: number; kept: number }[];
    frozen: { convs: string[]; channels: number; reason: string }[];
  };
}

/** Copy of `values` (shape dims) keeping only `keep` indices along `axis`. */
export function sliceAxis(values: Float32Array, dims: readonly number[], axis: number, keep: readonly number[]): { values: Float32Array; dims: number[] } {
  const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const n = dims[axis];
  const out = new Float32Array(outer * keep.length * inner);
  for (let o = 0; o < outer; o++) {
    keep.forEach((k, j) => out.set(values.subarray((o * n + k) * inner, (o * n + k + 1) * inner), (o * keep.length + j) * inner));
  }
  const newDims = [...dims];
  newDims[axis] = keep.length;
  return { values: out, dims: newDims };
}

function channelScores(w: Tensor, criterion: 'l1' | 'l2'): Float64Array {
  const v = floatValues(w);
  const c = w.dims[0];
  const per = v.length / c;
  const scores = new Float64Array(c);
  for (let o = 0; o < c; o++) {
    let s = 0;
    for (let i = o * per; i < (o + 1) * per; i++) s += criterion === 'l1' ? Math.abs(v[i]) : v[i] * v[i];
    scores[o] = criterion === 'l1' ? s : Math.sqrt(s);
  }
  // Normalised per conv so members of a merged group weigh equally.
  const mean = scores.reduce((a, b) => a + b, 0) / c || 1;
  return scores.map((s) => s / mean);
}

export function pruneChannels(input: Model, options: ChannelPruneOptions = {}): ChannelPruneResult {
  const model = topologicalSort(input).model;
  const graph = model.graph;
  const inputNames = new Set(graph.inputs.map((v) => v.name));
  const inits = new Map(graph.initializers.map((t) => [t.name, t]));
  const constant = (name: string): Tensor | undefined => {
    const t = name && !inputNames.has(name) ? inits.get(name) : undefined;
    return t && (t.dataType === DataType.FLOAT || t.dims.reduce((a, b) => a * b, 1) === 1) ? t : undefined;
  };
  const analysis = analyzeChannels(graph, valueTypes(model), constant);
  const criterion = options.criterion ?? 'l1';
  const roundTo = Math.max(1, options.roundTo ?? 1);
  const keepOf = new Map<number, number[]>();
  const report: ChannelPruneResult['report'] = { groups: [], frozen: [] };
  for (const [root, g] of analysis.groups) {
    const convs = g.producers.map((p) => nodeLabel(graph, p));
    const frozen = analysis.frozen.get(root);
    if (frozen) {
      report.frozen.push({ convs, channels: g.channels, reason: frozen });
      continue;
    }
    const ratio = Math.max(...g.producers.map((p) => options.layers?.[p.name] ?? options.ratio ?? 0));
    let kept = Math.max(1, Math.round(g.channels * (1 - ratio)));
    if (roundTo > 1 && kept > roundTo) kept = Math.floor(kept / roundTo) * roundTo;
    if (kept >= g.channels) continue;
    const scores = new Float64Array(g.channels);
    for (const p of g.producers) channelScores(constant(p.inputs[1]) as Tensor, criterion).forEach((s, i) => (scores[i] += s));
    const order = Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a] || a - b);
    keepOf.set(root, order.slice(0, kept).sort((a, b) => a - b));
    report.groups.push({ convs, channels: g.channels, kept });
  }
  if (keepOf.size === 0) return { model: input, modified: false, report };
  const keptIndices = (layout: ChannelLayout): number[] => {
    const out: number[] = [];
    let offset = 0;
    for (const s of layout.segments) {
      const keep = keepOf.get(analysis.root(s.group)) ?? Array.from({ length: s.count }, (_, i) => i);
      for (const k of keep) for (let j = 0; j < layout.inner; j++) out.push((offset + k) * layout.inner + j);
      offset += s.count;
    }
    return out;
  };
  const fresh = nameAllocator(takenNames(graph));
  const added: Tensor[] = [];
  const replaced = new Map<Node, Node>();
  const current = (n: Node): Node => replaced.get(n) ?? n;
  /** Replaces input `index` of `node` by a sliced copy of its initializer. */
  const sliceInput = (node: Node, index: number, axis: number, keep: readonly number[]): void => {
    const n = current(node);
    const t = constant(n.inputs[index]) ?? added.find((a) => a.name === n.inputs[index]);
    if (!t) return;
    const sliced = sliceAxis(floatValues(t), t.dims, axis, keep);
    const name = fresh(`${t.name}_pruned`);
    added.push(floatTensor(name, sliced.values, sliced.dims));
    replaced.set(node, { ...n, inputs: n.inputs.map((x, i) => (i === index ? name : x)) });
  };
  const layoutOf = (name: string): ChannelLayout => analysis.layouts.get(name) as ChannelLayout;
  for (const edit of analysis.edits) {
    const node = edit.node;
    switch (edit.kind) {
      case 'producer': {
        const keep = keepOf.get(analysis.root(edit.group));
        if (!keep) break;
        sliceInput(node, 1, 0, keep);
        if (node.inputs[2]) sliceInput(node, 2, 0, keep);
        break;
      }
      case 'depthwise': {
        const keep = keptIndices(layoutOf(edit.input));
        if (keep.length === layoutOf(edit.input).segments.reduce((s, g) => s + g.count, 0)) break;
        sliceInput(node, 1, 0, keep);
        if (node.inputs[2]) sliceInput(node, 2, 0, keep);
        const n = current(node);
        replaced.set(node, { ...n, attributes: { ...n.attributes, group: { type: 'int', value: keep.length } } });
        break;
      }
      case 'batchnorm': {
        const keep = keptIndices(layoutOf(edit.input));
        for (let i = 1; i <= 4; i++) sliceInput(node, i, 0, keep);
        break;
      }
      case 'constant': {
        const keep = keptIndices(layoutOf(edit.input));
        const t = constant(node.inputs[edit.inputIndex]) as Tensor;
        const axis = t.dims.findIndex((d) => d > 1);
        sliceInput(node, edit.inputIndex, axis, keep);
        break;
      }
      case 'conv-input': {
        const keep = keptIndices(layoutOf(edit.input));
        sliceInput(node, 1, 1, keep);
        break;
      }
      case 'dense-input': {
        const keep = keptIndices(layoutOf(edit.input));
        sliceInput(node, 1, edit.transB ? 1 : 0, keep);
        break;
      }
    }
  }
  const nodes = graph.nodes.map(current);
  const used = new Set(nodes.flatMap((n) => n.inputs));
  const initializers = [...graph.initializers, ...added].filter((t) => used.has(t.name) || inputNames.has(t.name));
  const pruned: Model = { ...model, graph: { ...graph, nodes, initializers, valueInfo: [] } };
  return { model: inferShapes(pruned).model, modified: true, report };
}

