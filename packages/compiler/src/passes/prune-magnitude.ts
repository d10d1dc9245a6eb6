// Unstructured magnitude pruning: the smallest-magnitude weights of Conv / Gemm / MatMul
// initializers become exactly zero, either against one global threshold or per layer (with
// optional per-node sparsities). The model keeps its shape; the gain shows up in compressed size
// (zeros deflate well) and in sparse kernels where a runtime has them. The report gives each
// layer's sparsity and gzip sizes before and after. Does not mutate its input.
import { gzipSync } from 'node:zlib';
import { DataType } from '../ir/data-type.js';
import { nodeLabel } from '../ir/graph.js';
import { encodeModel } from '../ir/serde.js';
import type { Model, Tensor } from '../ir/types.js';
import { floatTensor, floatValues } from './graph-rewrite.js';
import type { PassResult } from './pass.js';

export interface MagnitudePruneOptions {
  /** Share of weights to zero, 0..1. */
  sparsity: number;
  /** 'global': one threshold over all pruned weights (default); 'per-layer': each layer alone. */
  scope?: 'global' | 'per-layer';
  /** Per-node sparsity overrides (node name -> 0..1), per-layer scope. */
  layers?: Readonly<Record<string, number>>;
  /** Ops whose weight input (index 1) is pruned (default Conv, Gemm, MatMul). */
  ops?: readonly string[];
  /** Weights with fewer elements are left alone (default 0). */
  minElements?: number;
  /** Compute gzip sizes for the report (default true). */
  measureSize?: boolean;
}

export interface CompressedSize {
  bytes: number;
  gzipBytes: number;
}

export interface MagnitudePruneResult extends PassResult {
  report: {
    layers: { node: string; weight: string; elements: number; sparsity: number }[];
    overallSparsity: number;
    before?: CompressedSize;
    after?: CompressedSize;
  };
}

/** Serialized size and gzip (deflate, level 9) size of a model. */
export function compressedModelSize(model: Model): CompressedSize {
  const bytes = encodeModel(model);
  return { bytes: bytes.byteLength, gzipBytes: gzipSync(bytes, { level: 9 }).byteLength };
}

/** The k-th smallest value (0-based) of a copy of `values`. */
function kthSmallest(values: Float32Array, k: number): number {
  const sorted = Float32Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, k))];
}

function zeroBelow(values: Float32Array, count: number): Float32Array {
  if (count <= 0) return values;
  const abs = values.map(Math.abs);
  const threshold = kthSmallest(abs, count - 1);
  let zeroed = 0;
  // Ties at the threshold are zeroed only up to `count` so the requested sparsity is exact.
  for (let i = 0; i < values.length; i++) if (abs[i] < threshold) {
    values[i] = 0;
    zeroed++;
  }
  for (let i = 0; i < values.length && zeroed < count; i++) if (abs[i] === threshold && values[i] !== 0) {
    values[i] = 0;
    zeroed++;
  }
  return values;
}

export function pruneMagnitude(model: Model, options: MagnitudePruneOptions): MagnitudePruneResult {
  if (!(options.sparsity >= 0 && options.sparsity < 1)) throw new RangeError(`sparsity must be in [0, 1), got ${options.sparsity}`);
  const graph = model.graph;
  const ops = new Set(options.ops ?? ['Conv', 'Gemm', 'MatMul']);
  const inputNames = new Set(graph.inputs.map((v) => v.name));
  const inits = new Map(graph.initializers.map((t) => [t.name, t]));
  const targets = new Map<string, { tensor: Tensor; node: string; sparsity: number }>();
  for (const node of graph.nodes) {
    if (!ops.has(node.opType) || node.domain !== '') continue;
    const t = inits.get(node.inputs[1]);
    if (!t || inputNames.has(t.name) || t.dataType !== DataType.FLOAT || targets.has(t.name)) continue;
    if (t.dims.reduce((a, b) => a * b, 1) < (options.minElements ?? 0)) continue;
    targets.set(t.name, { tensor: t, node: nodeLabel(graph, node), sparsity: options.layers?.[node.name] ?? options.sparsity });
  }
  const pruned = new Map<string, Float32Array>();
  if ((options.scope ?? 'global') === 'global' && !options.layers) {
    const all = [...targets.values()].map((t) => floatValues(t.tensor));
    const total = all.reduce((s, v) => s + v.length, 0);
    const abs = new Float32Array(total);
    let offset = 0;
    for (const v of all) {
      for (let i = 0; i < v.length; i++) abs[offset + i] = Math.abs(v[i]);
      offset += v.length;
    }
    const count = Math.floor(total * options.sparsity);
    const threshold = count > 0 ? kthSmallest(abs, count - 1) : -1;
    [...targets.keys()].forEach((name, i) => pruned.set(name, all[i].map((x) => (Math.abs(x) <= threshold ? 0 : x))));
  } else {
    for (const [name, t] of targets) {
      const v = floatValues(t.tensor);
      pruned.set(name, zeroBelow(v, Math.floor(v.length * t.sparsity)));
    }
  }
  const layers: MagnitudePruneResult['report']['layers'] = [];
  let zeros = 0;
  let elements = 0;
  for (const [name, t] of targets) {
    const v = pruned.get(name) as Float32Array;
    const z = v.reduce((s, x) => s + (x === 0 ? 1 : 0), 0);
    zeros += z;
    elements += v.length;
    layers.push({ node: t.node, weight: name, elements: v.length, sparsity: z / v.length });
  }
  const initializers = graph.initializers.map((t) => (pruned.has(t.name) ? floatTensor(t.name, pruned.get(t.name) as Float32Array, t.dims) : t));
  const result: Model = { ...model, graph: { ...graph, initializers } };
  const measure = options.measureSize !== false;
  return {
    model: pruned.size > 0 ? result : model,
    modified: pruned.size > 0 && options.sparsity > 0,
    report: {
      layers,
      overallSparsity: elements > 0 ? zeros / elements : 0,
      ...(measure ? { before: compressedModelSize(model), after: compressedModelSize(result) } : {}),
    },
  };
}
