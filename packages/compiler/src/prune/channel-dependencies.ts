// Which Conv output channels can be removed together, and everything that must change with them.
// Walks the (sorted) main graph tracking, for each NCHW tensor, the channel groups its channel
// axis is made of. A group starts at a Conv's output; Add / Sub / Mul / Max / Min of two
// activations merge groups (their channels must prune together); Concat on axis 1 lines groups
// up; BatchNormalization, activations, pooling and depthwise Conv carry channels through; a dense
// Conv, or a Gemm / MatMul after Flatten, consumes them. Any other reader, a graph output, or a
// shape the analysis cannot follow freezes the groups it touches. Op support is the table below.
import { nodeLabel } from '../ir/graph.js';
import type { Graph, Node, Tensor } from '../ir/types.js';
import { intAttr, staticSize } from '../passes/graph-rewrite.js';
import type { TensorInfo } from '../ir/shape-inference.js';

export interface ChannelSegment {
  group: number;
  count: number;
}

/** The channel layout of a tensor: segments along axis 1, each channel spanning `inner` elements there (1 for NCHW). */
export interface ChannelLayout {
  segments: ChannelSegment[];
  inner: number;
}

export type ChannelEdit =
  | { kind: 'producer'; node: Node; group: number }
  | { kind: 'depthwise'; node: Node; input: string }
  | { kind: 'batchnorm'; node: Node; input: string }
  | { kind: 'constant'; node: Node; inputIndex: number; input: string }
  | { kind: 'conv-input'; node: Node; input: string }
  | { kind: 'dense-input'; node: Node; input: string; transB: boolean };

export interface ChannelAnalysis {
  layouts: Map<string, ChannelLayout>;
  edits: ChannelEdit[];
  /** group id -> root group id (union-find, compressed). */
  root(group: number): number;
  /** Root group -> why it cannot be pruned. */
  frozen: Map<number, string>;
  /** Root group -> its producer Convs and channel count. */
  groups: Map<number, { producers: Node[]; channels: number }>;
}

const CARRY = new Set([
  'Relu', 'Clip', 'LeakyRelu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Tanh', 'Elu', 'Selu', 'Softplus',
  'Identity', 'Dropout', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool', 'Neg', 'Abs',
]);
const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div', 'Max', 'Min']);

export function analyzeChannels(graph: Graph, types: Map<string, TensorInfo>, constant: (name: string) => Tensor | undefined): ChannelAnalysis {
  const parent: number[] = [];
  const frozenRaw = new Map<number, string>();
  const producers = new Map<number, Node>();
  const counts: number[] = [];
  const find = (g: number): number => {
    while (parent[g] !== g) {
      parent[g] = parent[parent[g]];
      g = parent[g];
    }
    return g;
  };
  const union = (a: number, b: number): void => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent[rb] = ra;
  };
  const layouts = new Map<string, ChannelLayout>();
  const edits: ChannelEdit[] = [];
  const freeze = (name: string, reason: string): void => {
    for (const s of layouts.get(name)?.segments ?? []) if (!frozenRaw.has(s.group)) frozenRaw.set(s.group, reason);
  };
  const sameStructure = (a: ChannelLayout, b: ChannelLayout): boolean =>
    a.inner === b.inner && a.segments.length === b.segments.length && a.segments.every((s, i) => s.count === b.segments[i].count);
  const shapeOf = (name: string): TensorInfo['shape'] => types.get(name)?.shape ?? null;

  for (const node of graph.nodes) {
    const label = nodeLabel(graph, node);
    const inputs = node.inputs.filter((i) => i !== '');
    const withLayout = inputs.filter((i) => layouts.has(i));
    const freezeAll = (reason: string): void => {
      for (const i of withLayout) freeze(i, reason);
    };
    const x = node.inputs[0];
    const xl = layouts.get(x);
    if (node.domain !== '' && node.domain !== 'ai.onnx') {
      freezeAll(`read by ${node.domain}::${node.opType} '${label}'`);
      continue;
    }
    if (node.opType === 'Conv') {
      const w = constant(node.inputs[1]);
      const group = intAttr(node, 'group', 1);
      const bias = node.inputs[2] ? constant(node.inputs[2]) : undefined;
      const staticParams = w !== undefined && (!node.inputs[2] || bias !== undefined);
      const cin = w ? w.dims[1] * group : 0;
      if (staticParams && w && group > 1 && group === cin && w.dims[0] === cin && xl) {
        edits.push({ kind: 'depthwise', node, input: x });
        layouts.set(node.outputs[0], xl);
        continue;
      }
      if (xl) {
        if (!staticParams || group !== 1) freeze(x, `read by ${group !== 1 ? 'grouped' : 'non-constant'} Conv '${label}'`);
        else edits.push({ kind: 'conv-input', node, input: x });
      }
      if (staticParams && w && group === 1) {
        const g = parent.length;
        parent.push(g);
        counts.push(w.dims[0]);
        producers.set(g, node);
        edits.push({ kind: 'producer', node, group: g });
        layouts.set(node.outputs[0], { segments: [{ group: g, count: w.dims[0] }], inner: 1 });
      }
      continue;
    }
    if (withLayout.length === 0) continue;
    if (node.opType === 'BatchNormalization' && xl && node.inputs.slice(1, 5).every((n) => constant(n)) && withLayout.length === 1) {
      edits.push({ kind: 'batchnorm', node, input: x });
      layouts.set(node.outputs[0], xl);
      continue;
    }
    if (CARRY.has(node.opType) && xl && xl.inner === 1 && withLayout.length === 1 && node.outputs.filter((o) => o !== '').length >= 1) {
      // Clip's min / max are scalars; anything else extra would be a per-channel tensor.
      if (node.inputs.slice(1).every((n) => n === '' || (constant(n) && staticSize(constant(n)?.dims) === 1))) {
        layouts.set(node.outputs[0], xl);
        continue;
      }
    }
    if (BINARY.has(node.opType) && node.inputs.length === 2) {
      const [a, b] = node.inputs;
      const la = layouts.get(a);
      const lb = layouts.get(b);
      if (la && lb && sameStructure(la, lb) && la.inner === 1) {
        la.segments.forEach((s, i) => union(s.group, lb.segments[i].group));
        layouts.set(node.outputs[0], la);
        continue;
      }
      const layout = la ?? lb;
      const otherIndex = la ? 1 : 0;
      const other = node.inputs[otherIndex];
      const c = constant(other);
      const outRank = shapeOf(node.outputs[0])?.length ?? 4;
      if (layout && layout.inner === 1 && !(la && lb) && c) {
        const total = layout.segments.reduce((s, g) => s + g.count, 0);
        const size = staticSize(c.dims) ?? 0;
        // Broadcast along channels: a scalar, or [C,1,1] / [1,C,1,1] aligned to axis 1.
        const channelDim = c.dims.length - (outRank - 1);
        if (size === 1) {
          layouts.set(node.outputs[0], layout);
          continue;
        }
        if (channelDim >= 0 && c.dims[channelDim] === total && size === total) {
          edits.push({ kind: 'constant', node, inputIndex: otherIndex, input: la ? a : b });
          layouts.set(node.outputs[0], layout);
          continue;
        }
      }
      freezeAll(`${node.opType} '${label}' mixes channel layouts`);
      continue;
    }
    if (node.opType === 'Concat' && intAttr(node, 'axis', 0) === 1 && inputs.every((i) => layouts.get(i)?.inner === 1)) {
      layouts.set(node.outputs[0], { segments: inputs.flatMap((i) => (layouts.get(i) as ChannelLayout).segments), inner: 1 });
      continue;
    }
    if ((node.opType === 'Flatten' && intAttr(node, 'axis', 1) === 1) && xl && xl.inner === 1) {
      const shape = shapeOf(x);
      const spatial = shape ? staticSize(shape.slice(2)) : undefined;
      if (spatial !== undefined) {
        layouts.set(node.outputs[0], { segments: xl.segments, inner: spatial });
        continue;
      }
    }
    if ((node.opType === 'Gemm' || node.opType === 'MatMul') && xl && withLayout.length === 1 && x === withLayout[0]) {
      const b = constant(node.inputs[1]);
      const rank = shapeOf(x)?.length;
      const transB = node.opType === 'Gemm' && intAttr(node, 'transB', 0) === 1;
      if (b && b.dims.length === 2 && rank === 2 && intAttr(node, 'transA', 0) === 0) {
        edits.push({ kind: 'dense-input', node, input: x, transB });
        continue;
      }
    }
    freezeAll(`read by ${node.opType} '${label}'`);
  }
  for (const o of graph.outputs) freeze(o.name, `graph output '${o.name}'`);
  const frozen = new Map<number, string>();
  for (const [g, reason] of frozenRaw) if (!frozen.has(find(g))) frozen.set(find(g), reason);
  const groups = new Map<number, { producers: Node[]; channels: number }>();
  for (let g = 0; g < parent.length; g++) {
    const r = find(g);
    const entry = groups.get(r) ?? { producers: [], channels: counts[g] };
    const p = producers.get(g);
    if (p) entry.producers.push(p);
    if (entry.channels !== counts[g] && !frozen.has(r)) frozen.set(r, 'merged groups differ in channel count');
    groups.set(r, entry);
  }
  return { layouts, edits, root: find, frozen, groups };
}
