// A model at a glance, for `edgeloop inspect` and compile reports.
import { dataTypeName } from './data-type.js';
import { tensorElementCount } from './tensor.js';
import type { Dim, Model, Node, ValueInfo } from './types.js';

export interface ValueSummary {
  name: string;
  /** 'float32', ...; for non-tensor values the kind ('sequence', 'map', ...); 'unknown' when untyped. */
  dtype: string;
  /** null when the rank is unknown or the value is not a tensor. */
  shape: Dim[] | null;
}

export interface ModelSummary {
  irVersion: number;
  producer: { name: string; version: string };
  opsets: { domain: string; version: number }[];
  inputs: ValueSummary[];
  outputs: ValueSummary[];
  nodeCountByOpType: Record<string, number>;
  /** Nodes of the main graph (subgraph nodes are counted in nodeCountByOpType too, not here). */
  nodeCount: number;
  /** Elements of all initializers plus Constant-node tensors. */
  parameterCount: number;
  initializerBytes: number;
  fileSize: number | null;
}

function valueSummary(v: ValueInfo): ValueSummary {
  if (!v.type) return { name: v.name, dtype: 'unknown', shape: null };
  if (v.type.kind === 'tensor' || v.type.kind === 'sparse_tensor') {
    return { name: v.name, dtype: dataTypeName(v.type.elemType), shape: v.type.shape ? [...v.type.shape] : null };
  }
  return { name: v.name, dtype: v.type.kind, shape: null };
}

function visitNodes(nodes: Node[], visit: (n: Node) => void): void {
  for (const n of nodes) {
    visit(n);
    for (const a of Object.values(n.attributes)) {
      if (a.type === 'graph') visitNodes(a.value.nodes, visit);
      else if (a.type === 'graphs') for (const g of a.value) visitNodes(g.nodes, visit);
    }
  }
}

/**
 * Summarizes a model. Initializer graph inputs (old exporters list weights as inputs too) are
 * not reported as inputs.
 */
export function summarizeModel(model: Model, fileSize?: number): ModelSummary {
  const g = model.graph;
  const initializerNames = new Set(g.initializers.map((t) => t.name));
  const nodeCountByOpType: Record<string, number> = {};
  let parameterCount = g.initializers.reduce((sum, t) => sum + tensorElementCount(t), 0);
  const initializerBytes = g.initializers.reduce((sum, t) => sum + (t.strings ? t.strings.reduce((s, b) => s + b.byteLength, 0) : t.data.byteLength), 0);
  visitNodes(g.nodes, (n) => {
    const key = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}::${n.opType}` : n.opType;
    nodeCountByOpType[key] = (nodeCountByOpType[key] ?? 0) + 1;
    const value = n.attributes.value;
    if (n.opType === 'Constant' && value?.type === 'tensor') parameterCount += tensorElementCount(value.value);
  });
  return {
    irVersion: model.irVersion,
    producer: { name: model.producerName, version: model.producerVersion },
    opsets: model.opsetImports.map((o) => ({ domain: o.domain === '' ? 'ai.onnx' : o.domain, version: o.version })),
    inputs: g.inputs.filter((v) => !initializerNames.has(v.name)).map(valueSummary),
    outputs: g.outputs.map(valueSummary),
    nodeCountByOpType,
    nodeCount: g.nodes.length,
    parameterCount,
    initializerBytes,
    fileSize: fileSize ?? null,
  };
}
