// Folds inference-mode BatchNormalization into the Conv or Gemm that feeds it, when that node's
// output is read by the BatchNormalization alone and weights and BN parameters are initializers:
//   Conv:  W'[o] = W[o] * s[o], b'[o] = (b[o] - mean[o]) * s[o] + beta[o], s = gamma / sqrt(var + eps)
//   Gemm:  the same on output features (B's rows when transB=1, columns otherwise); C becomes [N].
// Does not mutate its input.
import { initializerMap } from '../ir/graph.js';
import type { Model, Node, Tensor } from '../ir/types.js';
import { floatAttr, floatTensor, floatValues, intAttr, nameAllocator, takenNames } from './graph-rewrite.js';
import type { PassResult } from './pass.js';

interface BnParams {
  scale: Float32Array;
  shift: Float32Array;
}

function bnParams(bn: Node, inits: Map<string, Tensor>): BnParams | undefined {
  if (bn.outputs.filter((o) => o !== '').length !== 1) return undefined;
  if (intAttr(bn, 'training_mode', 0) !== 0) return undefined;
  const tensors = bn.inputs.slice(1, 5).map((n) => inits.get(n));
  if (tensors.length !== 4 || tensors.some((t) => !t)) return undefined;
  const [gamma, beta, mean, variance] = (tensors as Tensor[]).map(floatValues);
  const eps = floatAttr(bn, 'epsilon', 1e-5);
  // Match onnxruntime's BatchNormalization: x * (gamma / sqrt(var + eps)) + (beta - mean * that).
  const scale = new Float32Array(gamma.length);
  const shift = new Float32Array(gamma.length);
  for (let c = 0; c < gamma.length; c++) {
    scale[c] = gamma[c] / Math.sqrt(variance[c] + eps);
    shift[c] = beta[c] - mean[c] * scale[c];
  }
  return { scale, shift };
}

export function foldBatchNorm(model: Model): PassResult {
  const graph = model.graph;
  const inits = initializerMap(graph);
  const inputNames = new Set(graph.inputs.map((v) => v.name));
  const outputNames = new Set(graph.outputs.map((v) => v.name));
  const readers = new Map<string, number>();
  for (const n of graph.nodes) for (const i of n.inputs) readers.set(i, (readers.get(i) ?? 0) + 1);
  const producer = new Map<string, Node>();
  for (const n of graph.nodes) for (const o of n.outputs) producer.set(o, n);
  const fresh = nameAllocator(takenNames(graph));
  const replaced = new Map<Node, Node>();
  const removed = new Set<Node>();
  const added: Tensor[] = [];
  const weight = (name: string): Tensor | undefined => (inputNames.has(name) ? undefined : inits.get(name));

  for (const bn of graph.nodes) {
    if (bn.opType !== 'BatchNormalization' || bn.domain !== '') continue;
    const x = bn.inputs[0];
    const prev = producer.get(x);
    if (!prev || replaced.has(prev) || readers.get(x) !== 1 || outputNames.has(x)) continue;
    const params = bnParams(bn, inits);
    if (!params) continue;
    const { scale, shift } = params;
    const channels = scale.length;
    if (prev.opType === 'Conv' && prev.domain === '') {
      const w = weight(prev.inputs[1]);
      if (!w || w.dims[0] !== channels) continue;
      const wv = floatValues(w);
      const per = wv.length / channels;
      for (let o = 0; o < channels; o++) for (let k = 0; k < per; k++) wv[o * per + k] *= scale[o];
      const bias = prev.inputs[2] ? weight(prev.inputs[2]) : undefined;
      if (prev.inputs[2] && !bias) continue;
      const bv = bias ? floatValues(bias) : new Float32Array(channels);
      for (let o = 0; o < channels; o++) bv[o] = bv[o] * scale[o] + shift[o];
      const wName = fresh(`${w.name}_bnfold`);
      const bName = fresh(`${bias?.name ?? prev.name}_bias_bnfold`);
      added.push(floatTensor(wName, wv, w.dims), floatTensor(bName, bv, [channels]));
      replaced.set(prev, { ...prev, inputs: [prev.inputs[0], wName, bName], outputs: [bn.outputs[0]] });
      removed.add(bn);
    } else if (prev.opType === 'Gemm' && prev.domain === '') {
      const b = weight(prev.inputs[1]);
      if (!b || b.dims.length !== 2) continue;
      const transB = intAttr(prev, 'transB', 0) === 1;
      const [rows, cols] = b.dims;
      if ((transB ? rows : cols) !== channels) continue;
      const alpha = floatAttr(prev, 'alpha', 1);
      const beta = floatAttr(prev, 'beta', 1);
      const bv = floatValues(b);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) bv[r * cols + c] *= alpha * scale[transB ? r : c];
      const c = prev.inputs[2] ? weight(prev.inputs[2]) : undefined;
      if (prev.inputs[2] && !c) continue;
      const cv = c ? floatValues(c) : new Float32Array(1);
      if (c && cv.length !== 1 && cv.length !== channels) continue;
      const bias = new Float32Array(channels);
      for (let o = 0; o < channels; o++) bias[o] = (beta * cv[cv.length === 1 ? 0 : o]) * scale[o] + shift[o];
      const bName = fresh(`${b.name}_bnfold`);
      const cName = fresh(`${c?.name ?? prev.name}_bias_bnfold`);
      added.push(floatTensor(bName, bv, b.dims), floatTensor(cName, bias, [channels]));
      const attributes = { ...prev.attributes };
      delete attributes.alpha;
      delete attributes.beta;
      replaced.set(prev, { ...prev, attributes, inputs: [prev.inputs[0], bName, cName], outputs: [bn.outputs[0]] });
      removed.add(bn);
    }
  }
  if (removed.size === 0) return { model, modified: false };
  const nodes = graph.nodes.filter((n) => !removed.has(n)).map((n) => replaced.get(n) ?? n);
  const stale = new Set([...replaced.keys()].map((n) => n.outputs[0]));
  const used = new Set(nodes.flatMap((n) => n.inputs));
  const initializers = [...graph.initializers.filter((t) => used.has(t.name) || inputNames.has(t.name)), ...added];
  const valueInfo = graph.valueInfo.filter((v) => !stale.has(v.name));
  return { model: { ...model, graph: { ...graph, nodes, initializers, valueInfo } }, modified: true };
}
