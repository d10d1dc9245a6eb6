// Dynamic int8 quantization for MatMul / Gemm-heavy models: weights are quantized once, per
// output column; activations at run time by DynamicQuantizeLinear (uint8, one scale per tensor):
//   A -> DynamicQuantizeLinear -> MatMulInteger(A_q, B_q, A_zp, B_zp) -> Cast(float)
//     -> Mul(A_scale * B_scale) [-> Add(bias)]
// which onnxruntime's CPU provider fuses into DynamicQuantizeMatMul / MatMulIntegerToFloat.
// Weights default to uint8 (asymmetric, per column): x86 without VNNI runs u8 x s8 with
// VPMADDUBSW, whose int16 pair sums saturate on dynamic activations (codes around 128), while
// u8 x u8 widens to 16 bits first. Handles MatMul with a 2-D initializer B, and Gemm with
// transA = 0, a 2-D initializer B and alpha = beta = 1. Other nodes are untouched and listed.
// Needs opset >= 11. Does not mutate its input.
import { DataType } from '../ir/data-type.js';
import { nodeLabel, opsetVersion } from '../ir/graph.js';
import { createTensor } from '../ir/tensor.js';
import type { Model, Node, Tensor } from '../ir/types.js';
import { floatAttr, floatValues, intAttr, nameAllocator, takenNames } from './graph-rewrite.js';
import type { PassResult } from './pass.js';
import { QuantizationError } from '../errors.js';

export interface DynamicQuantizeOptions {
  weightType?: 'uint8' | 'int8';
  /** Node names to keep in float. */
  exclude?: readonly string[];
  /** Smallest weight (elements) worth quantizing (default 0). */
  minWeightElements?: number;
}

export interface DynamicQuantizeResult extends PassResult {
  report: { quantized: string[]; skipped: { node: string; opType: string; reason: string }[] };
}

/** B as [K, N] float values (transposed from Gemm's transB layout when needed). */
function weightKN(b: Tensor, transB: boolean): { values: Float32Array; k: number; n: number } {
  const v = floatValues(b);
  const [r, c] = b.dims;
  if (!transB) return { values: v, k: r, n: c };
  const out = new Float32Array(v.length);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = v[i * c + j];
  return { values: out, k: c, n: r };
}

/** Per-column quantization of a [K, N] weight. */
function quantizeColumns(values: Float32Array, k: number, n: number, type: 'uint8' | 'int8'): { q: Uint8Array | Int8Array; scales: Float32Array; zeroPoints: Uint8Array | Int8Array } {
  const scales = new Float32Array(n);
  const zeroPoints = type === 'uint8' ? new Uint8Array(n) : new Int8Array(n);
  const q = type === 'uint8' ? new Uint8Array(values.length) : new Int8Array(values.length);
  for (let j = 0; j < n; j++) {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < k; i++) {
      lo = Math.min(lo, values[i * n + j]);
      hi = Math.max(hi, values[i * n + j]);
    }
    if (type === 'uint8') {
      const scale = hi > lo ? Math.fround((hi - lo) / 255) : 1;
      const zp = Math.max(0, Math.min(255, Math.round(-lo / scale)));
      scales[j] = scale;
      zeroPoints[j] = zp;
      for (let i = 0; i < k; i++) q[i * n + j] = Math.max(0, Math.min(255, Math.round(values[i * n + j] / scale) + zp));
    } else {
      const m = Math.max(-lo, hi);
      const scale = m > 0 ? Math.fround(m / 127) : 1;
      scales[j] = scale;
      for (let i = 0; i < k; i++) q[i * n + j] = Math.max(-127, Math.min(127, Math.round(values[i * n + j] / scale)));
    }
  }
  return { q, scales, zeroPoints };
}

export function quantizeDynamic(model: Model, options: DynamicQuantizeOptions = {}): DynamicQuantizeResult {
  const opset = opsetVersion(model) ?? 0;
  if (opset < 11) throw new QuantizationError(`dynamic quantization needs opset >= 11 (DynamicQuantizeLinear); model has ${opset}`);
  const graph = model.graph;
  const weightType = options.weightType ?? 'uint8';
  const exclude = new Set(options.exclude ?? []);
  const inputNames = new Set(graph.inputs.map((v) => v.name));
  const inits = new Map(graph.initializers.map((t) => [t.name, t]));
  const constant = (name: string | undefined): Tensor | undefined => (name && !inputNames.has(name) ? inits.get(name) : undefined);
  const fresh = nameAllocator(takenNames(graph));
  const added: Tensor[] = [];
  const nodes: Node[] = [];
  const quantized: string[] = [];
  const skipped: DynamicQuantizeResult['report']['skipped'] = [];
  const make = (opType: string, inputs: string[], base: string, attributes: Node['attributes'] = {}, outputName?: string): string => {
    const out = outputName ?? fresh(`${base}_${opType}_output`);
    nodes.push({ name: fresh(`${base}_${opType}`), opType, domain: '', inputs, outputs: [out], attributes });
    return out;
  };
  for (const node of graph.nodes) {
    const label = nodeLabel(graph, node);
    if ((node.opType !== 'MatMul' && node.opType !== 'Gemm') || node.domain !== '') {
      nodes.push(node);
      continue;
    }
    const b = constant(node.inputs[1]);
    const isGemm = node.opType === 'Gemm';
    const c = isGemm && node.inputs[2] ? constant(node.inputs[2]) : undefined;
    let reason: string | undefined;
    if (exclude.has(node.name)) reason = 'excluded by options';
    else if (!b || b.dims.length !== 2 || b.dataType !== DataType.FLOAT) reason = 'B is not a 2-D float initializer';
    else if (b.dims[0] * b.dims[1] < (options.minWeightElements ?? 0)) reason = 'weight below minWeightElements';
    else if (isGemm && (intAttr(node, 'transA', 0) !== 0 || floatAttr(node, 'alpha', 1) !== 1 || floatAttr(node, 'beta', 1) !== 1)) reason = 'Gemm with transA or alpha/beta != 1';
    else if (isGemm && node.inputs[2] && !c) reason = 'C is not an initializer';
    if (reason || !b) {
      skipped.push({ node: label, opType: node.opType, reason: reason ?? '' });
      nodes.push(node);
      continue;
    }
    const base = node.name || node.opType;
    const { values, k, n } = weightKN(b, isGemm && intAttr(node, 'transB', 0) === 1);
    const q = quantizeColumns(values, k, n, weightType);
    const bq = fresh(`${base}_B_quantized`);
    const bzp = fresh(`${base}_B_zero_point`);
    const bscale = fresh(`${base}_B_scale`);
    added.push(createTensor(bq, q.q, [k, n]), createTensor(bzp, q.zeroPoints, [n]), createTensor(bscale, q.scales, [n]));
    const [aq, ascale, azp] = [fresh(`${base}_A_quantized`), fresh(`${base}_A_scale`), fresh(`${base}_A_zero_point`)];
    nodes.push({ name: fresh(`${base}_DynamicQuantizeLinear`), opType: 'DynamicQuantizeLinear', domain: '', inputs: [node.inputs[0]], outputs: [aq, ascale, azp], attributes: {} });
    const acc = make('MatMulInteger', [aq, bq, azp, bzp], base);
    const accFloat = make('Cast', [acc], base, { to: { type: 'int', value: DataType.FLOAT } });
    const scale = make('Mul', [ascale, bscale], `${base}_scale`);
    if (c) {
      const scaled = make('Mul', [accFloat, scale], base);
      make('Add', [scaled, node.inputs[2]], base, {}, node.outputs[0]);
    } else make('Mul', [accFloat, scale], base, {}, node.outputs[0]);
    quantized.push(label);
  }
  if (quantized.length === 0) return { model, modified: false, report: { quantized, skipped } };
  const used = new Set(nodes.flatMap((n) => n.inputs));
  const initializers = [...graph.initializers.filter((t) => used.has(t.name) || inputNames.has(t.name)), ...added];
  return { model: { ...model, graph: { ...graph, nodes, initializers } }, modified: true, report: { quantized, skipped } };
}
