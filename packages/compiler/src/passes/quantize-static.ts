// Static int8 quantization in QDQ form: QuantizeLinear / DequantizeLinear pairs around the ops in
// the quantizer's table (quantize/op-table.ts), which onnxruntime fuses into QLinearConv, QGemm,
// QLinearAdd, ... Weights are symmetric int8 per channel (axis 0 for Conv), biases int32 with
// scale = input scale * weight scale, activations uint8 or int8 from calibration histograms.
// A Relu or Clip(0, x) right after Conv / Gemm / MatMul / Add is fused: it is removed and the
// producer's output is quantized with the activation's range (starting exactly at zero, so the
// quantization clamps as the activation did). Ops outside the table stay float and are listed in
// the report, or raise UnsupportedOpError with `onUnsupported: 'error'`. Main graph only; the
// model is sorted first. Needs opset >= 13 (per-channel DequantizeLinear). Does not mutate its input.
import { CalibrationError, QuantizationError, UnsupportedOpError } from '../errors.js';
import { DataType } from '../ir/data-type.js';
import { nodeLabel, opsetVersion } from '../ir/graph.js';
import { createTensor } from '../ir/tensor.js';
import type { Attribute, Model, Node, Tensor } from '../ir/types.js';
import type { CalibrationData } from '../quantize/calibrate.js';
import type { RangeMethod } from '../quantize/histogram.js';
import { ACTIVATION_FUSERS, quantHandlers } from '../quantize/op-table.js';
import type { QuantPlan } from '../quantize/op-table.js';
import { activationQParams, quantizeBias, quantizeWeights } from '../quantize/qparams.js';
import type { ActivationType, QParams } from '../quantize/qparams.js';
import { floatValues, intAttr, nameAllocator, takenNames, valueTypes } from './graph-rewrite.js';
import type { PassResult } from './pass.js';
import { topologicalSort } from './topological-sort.js';

export interface StaticQuantizeOptions {
  calibration: CalibrationData;
  /** How activation ranges come from the histograms (default 'minmax'). */
  method?: RangeMethod;
  /** For method 'percentile' (default 99.99). */
  percentile?: number;
  /**
   * Default uint8, what onnxruntime's x86 kernels run (u8 activations x s8 weights). With int8,
   * onnxruntime's QDQS8ToU8 rewrite shifts each Q/DQ pair to uint8 itself, but skips a quantized
   * tensor read by several ops (its Q then feeds several DQs), which leaves mixed types around
   * the producer and blocks the QLinearConv fusion (measured on a residual block). int8 is for
   * backends that want signed activations (TensorRT, some NPUs).
   */
  activationType?: ActivationType;
  symmetricActivations?: boolean;
  /**
   * 7-bit weights ([-64, 63]). x86 without VNNI multiplies u8 activations by s8 weights with
   * VPMADDUBSW, whose int16 pair sums saturate when activation codes are large: measured 7.7%
   * logit error instead of 0.7% on a small CNN whose first conv reads a signed image. 'auto'
   * (default; int8 activations are judged as the uint8 codes onnxruntime turns them into) uses 7 bits only for non-depthwise ops whose input codes are large on
   * average (signed inputs around code 128, dense inputs such as pooled features); sparse
   * post-ReLU inputs keep 8 bits.
   */
  reduceRange?: boolean | 'auto';
  /** For reduceRange 'auto': the mean input code above which an op's weights get 7 bits (default 100). */
  reduceRangeMeanCode?: number;
  /** Per-channel weight scales (default true); false: one scale per weight tensor. */
  perChannel?: boolean;
  /** Node names to keep in float. */
  exclude?: readonly string[];
  /** What to do with float ops the table does not know: keep them float and report (default) or throw. */
  onUnsupported?: 'float' | 'error';
  /** Fold Relu / Clip(0, x) into the preceding op's output quantization (default true). */
  fuseActivations?: boolean;
  /**
   * Quantize tensors that are graph outputs too (default false: a quantized op writing a graph
   * output keeps a float output, e.g. QGemm with float logits, which saves one rounding step
   * where the caller reads the values).
   */
  quantizeGraphOutputs?: boolean;
}

export interface QuantizationReport {
  quantized: { node: string; opType: string }[];
  float: { node: string; opType: string; reason: string }[];
  fusedActivations: { node: string; into: string }[];
  /** Nodes whose weights were quantized to 7 bits (see reduceRange). */
  reducedRange: string[];
  /** Activation tensors and their parameters. */
  tensors: Record<string, { scale: number; zeroPoint: number; low: number; high: number }>;
}

export interface StaticQuantizeResult extends PassResult {
  report: QuantizationReport;
}

interface Planning {
  model: Model;
  plans: Map<Node, QuantPlan>;
  /** Activation nodes removed by fusion -> the node they fused into. */
  fused: Map<Node, Node>;
  /** Tensors whose range must start at zero (fused Relu / Clip outputs). */
  zeroFloor: Set<string>;
  /** Output tensor -> tensor whose parameters it shares. */
  sharedWith: Map<string, string>;
  /** Activation tensors that get a QDQ pair. */
  qdq: Set<string>;
  float: QuantizationReport['float'];
  constant: (name: string) => Tensor | undefined;
}

function clipIsReluLike(node: Node, constant: (name: string) => Tensor | undefined, opset: number): boolean {
  if (node.opType === 'Relu') return true;
  if (node.opType !== 'Clip') return false;
  if (opset < 11) {
    const a = node.attributes.min;
    return a?.type === 'float' && a.value === 0;
  }
  const min = node.inputs[1] ? constant(node.inputs[1]) : undefined;
  if (!min) return false;
  const v = floatValues(min);
  return v.length === 1 && v[0] === 0 && (!node.inputs[2] || constant(node.inputs[2]) !== undefined);
}

function plan(input: Model, options: Omit<StaticQuantizeOptions, 'calibration'>): Planning {
  const opset = opsetVersion(input) ?? 0;
  if (opset < 13) throw new QuantizationError(`static QDQ quantization needs opset >= 13 (per-channel DequantizeLinear); model has ${opset}`);
  const model = topologicalSort(input).model;
  const graph = model.graph;
  const types = valueTypes(model);
  const isFloat = (name: string): boolean => types.get(name)?.elemType === DataType.FLOAT;
  const inputNames = new Set(graph.inputs.map((v) => v.name));
  const outputNames = new Set(graph.outputs.map((v) => v.name));
  const inits = new Map(graph.initializers.map((t) => [t.name, t]));
  const constant = (name: string): Tensor | undefined => (inputNames.has(name) ? undefined : inits.get(name));
  const exclude = new Set(options.exclude ?? []);
  const plans = new Map<Node, QuantPlan>();
  const float: QuantizationReport['float'] = [];
  for (const node of graph.nodes) {
    const label = nodeLabel(graph, node);
    const touchesFloat = [...node.inputs, ...node.outputs].some((n) => n !== '' && isFloat(n));
    if (!touchesFloat) continue;
    const handler = node.domain === '' || node.domain === 'ai.onnx' ? quantHandlers[node.opType] : undefined;
    if (!handler) {
      if (options.onUnsupported === 'error') throw new UnsupportedOpError(node.opType, label, 'int8 quantization');
      float.push({ node: label, opType: node.opType, reason: 'no quantization handler' });
      continue;
    }
    if (exclude.has(node.name)) {
      float.push({ node: label, opType: node.opType, reason: 'excluded by options' });
      continue;
    }
    const result = handler({
      node,
      constant: (i) => (node.inputs[i] ? constant(node.inputs[i]) : undefined),
      hasInput: (i) => i < node.inputs.length && node.inputs[i] !== '',
    });
    const nonFloat = typeof result === 'string' ? undefined
      : [...result.activations.map((i) => node.inputs[i]), ...(result.output === 'none' ? [] : [node.outputs[0]])].find((n) => !n || !isFloat(n));
    if (typeof result === 'string' || nonFloat !== undefined) {
      float.push({ node: label, opType: node.opType, reason: typeof result === 'string' ? result : `'${nonFloat}' is not a float tensor` });
      continue;
    }
    plans.set(node, result);
  }
  // Relu / Clip(0, x) fusion into the producer's output quantization.
  const producer = new Map<string, Node>();
  for (const n of graph.nodes) for (const o of n.outputs) producer.set(o, n);
  const readers = new Map<string, number>();
  for (const n of graph.nodes) for (const i of n.inputs) readers.set(i, (readers.get(i) ?? 0) + 1);
  const fused = new Map<Node, Node>();
  const zeroFloor = new Set<string>();
  if (options.fuseActivations !== false) {
    for (const node of graph.nodes) {
      if (!plans.has(node) || !clipIsReluLike(node, constant, opset)) continue;
      const x = node.inputs[0];
      const p = producer.get(x);
      const pPlan = p && plans.get(p);
      if (!p || !pPlan || pPlan.output !== 'calibrated' || !ACTIVATION_FUSERS.has(p.opType) || fused.has(p)) continue;
      if (readers.get(x) !== 1 || outputNames.has(x)) continue;
      fused.set(node, p);
      zeroFloor.add(node.outputs[0]);
    }
  }
  const sharedWith = new Map<string, string>();
  const qdq = new Set<string>();
  for (const [node, p] of plans) {
    if (fused.has(node)) continue;
    for (const i of p.activations) if (!constant(node.inputs[i])) qdq.add(node.inputs[i]);
    if (p.output === 'none') continue;
    const out = [...fused].find(([, into]) => into === node)?.[0].outputs[0] ?? node.outputs[0];
    if (outputNames.has(out) && !options.quantizeGraphOutputs) continue;
    qdq.add(out);
    if (p.output === 'shared') sharedWith.set(out, node.inputs[0]);
  }
  return { model, plans, fused, zeroFloor, sharedWith, qdq, float, constant };
}

/**
 * Tensors calibration must observe for `quantizeStatic` with these options, and with any larger
 * `exclude` set (pass as CalibrateOptions.tensors): one calibration serves a search that keeps
 * more and more layers float. Excluding a node only removes plans, but it can undo a fusion (the
 * Relu's input then needs its own range) or a sharing (a Resize / MaxPool output read by a float
 * or excluded op, or whose own node is excluded), so the list is planned without fusion and keeps
 * the tensors that share their producer's parameters.
 */
export function staticQuantizationTargets(model: Model, options: Omit<StaticQuantizeOptions, 'calibration'> = {}): string[] {
  const fused = plan(model, options);
  const unfused = plan(model, { ...options, fuseActivations: false });
  return [...new Set([...unfused.qdq, ...fused.qdq])];
}

export function quantizeStatic(input: Model, options: StaticQuantizeOptions): StaticQuantizeResult {
  const p = plan(input, options);
  const { model, plans, fused, zeroFloor, sharedWith, qdq, constant } = p;
  const graph = model.graph;
  const activationType = options.activationType ?? 'uint8';
  const method = options.method ?? 'minmax';
  const fresh = nameAllocator(takenNames(graph));
  const params = new Map<string, QParams & { low: number; high: number }>();
  const paramsOf = (t: string): QParams & { low: number; high: number } => {
    const known = params.get(t);
    if (known) return known;
    const source = sharedWith.get(t);
    let result: QParams & { low: number; high: number };
    if (source !== undefined) result = paramsOf(source);
    else {
      const h = options.calibration.histograms.get(t);
      if (!h || h.count === 0) throw new CalibrationError(`no calibration histogram for tensor '${t}'; calibrate with staticQuantizationTargets()`);
      // Entropy on a one-sided tensor (post-ReLU) may use all 255 steps of the type, not |x|'s 128.
      const quantizedBins = h.min >= 0 || zeroFloor.has(t) ? 255 : 128;
      let [low, high] = h.quantizationRange({ method, percentile: options.percentile, quantizedBins });
      if (zeroFloor.has(t)) low = 0;
      if (zeroFloor.has(t)) high = Math.max(high, 0);
      result = { ...activationQParams(low, high, activationType, options.symmetricActivations), low, high };
    }
    params.set(t, result);
    return result;
  };
  const added: Tensor[] = [];
  const scalar = (base: string, value: number): string => {
    const name = fresh(base);
    added.push(createTensor(name, Float32Array.of(value), []));
    return name;
  };
  const zeroPoint = (base: string, value: number): string => {
    const name = fresh(base);
    added.push(activationType === 'uint8' ? createTensor(name, Uint8Array.of(value), []) : createTensor(name, Int8Array.of(value), []));
    return name;
  };
  const out: Node[] = [];
  const dequantize = (x: string, scale: string, zp: string, axis: number | null, base: string): string => {
    const y = fresh(`${base}_dequantized`);
    const attributes: Record<string, Attribute> = axis === null ? {} : { axis: { type: 'int', value: axis } };
    out.push({ name: fresh(`${base}_DequantizeLinear`), opType: 'DequantizeLinear', domain: '', inputs: [x, scale, zp], outputs: [y], attributes });
    return y;
  };
  const quantDequant = (t: string, source: string, target: string): void => {
    const q = paramsOf(t);
    const s = scalar(`${t}_scale`, q.scale);
    const z = zeroPoint(`${t}_zero_point`, q.zeroPoint);
    const quantized = fresh(`${t}_quantized`);
    out.push({ name: fresh(`${t}_QuantizeLinear`), opType: 'QuantizeLinear', domain: '', inputs: [source, s, z], outputs: [quantized], attributes: {} });
    out.push({ name: fresh(`${t}_DequantizeLinear`), opType: 'DequantizeLinear', domain: '', inputs: [quantized, s, z], outputs: [target], attributes: {} });
  };
  // Readers of a quantized tensor read its dequantized copy. A graph output stays the float value
  // unless quantizeGraphOutputs, where the producer is renamed and the DequantizeLinear writes it.
  const outputNames = new Set(graph.outputs.map((o) => o.name));
  const inputNames = new Set(graph.inputs.map((v) => v.name));
  const readName = new Map<string, string>();
  const floatName = new Map<string, string>();
  for (const t of qdq) {
    if (options.quantizeGraphOutputs && outputNames.has(t) && !inputNames.has(t)) floatName.set(t, fresh(`${t}_float`));
    else readName.set(t, fresh(`${t}_dequantized`));
  }
  const emitQdq = (t: string): void => {
    if (!qdq.has(t)) return;
    const f = floatName.get(t);
    if (f !== undefined) quantDequant(t, f, t);
    else quantDequant(t, t, readName.get(t) as string);
  };
  for (const v of graph.inputs) emitQdq(v.name);
  const quantizedNodes: QuantizationReport['quantized'] = [];
  const fusedReport: QuantizationReport['fusedActivations'] = [];
  const reducedRange: string[] = [];
  // Mean uint8 code of an input above reduceRangeMeanCode (or a nonzero zero point: signed data around code 128)
  // makes VPMADDUBSW pair sums likely to pass 32767 with 8-bit weights.
  const saturationRisk = (t: string): boolean => {
    if (constant(t)) return false;
    const q = paramsOf(t);
    const h = options.calibration.histograms.get(sharedSource(t));
    // onnxruntime's x86 kernels run int8 activations as uint8 (code + 128), so judge uint8 codes.
    const zeroPoint = q.zeroPoint + (activationType === 'int8' ? 128 : 0);
    return zeroPoint > 0 || (h !== undefined && h.mean / q.scale + zeroPoint > (options.reduceRangeMeanCode ?? 100));
  };
  const sharedSource = (t: string): string => {
    let s = t;
    while (sharedWith.has(s)) s = sharedWith.get(s) as string;
    return s;
  };
  // onnxruntime's depthwise QLinearConv accumulates in int32 directly (no pair sums).
  const isDepthwise = (node: Node): boolean => node.opType === 'Conv' && intAttr(node, 'group', 1) > 1;
  const fusedInto = new Map([...fused].map(([act, into]) => [into, act]));
  for (const node of graph.nodes) {
    const into = fused.get(node);
    if (into) {
      fusedReport.push({ node: nodeLabel(graph, node), into: nodeLabel(graph, into) });
      continue;
    }
    const nodePlan = plans.get(node);
    const inputs = node.inputs.map((i) => readName.get(i) ?? i);
    let outputs = node.outputs;
    const activation = fusedInto.get(node);
    if (activation) outputs = [activation.outputs[0], ...node.outputs.slice(1)];
    if (nodePlan) {
      const base = node.name || node.opType;
      for (const i of nodePlan.activations) {
        const c = constant(node.inputs[i]);
        if (!c) continue;
        const values = floatValues(c);
        const q = activationQParams(Math.min(...values), Math.max(...values), activationType, options.symmetricActivations);
        const data = Float64Array.from(values, (v) => Math.round(v / q.scale) + q.zeroPoint);
        const clamped = activationType === 'uint8' ? Uint8Array.from(data, (v) => Math.max(0, Math.min(255, v))) : Int8Array.from(data, (v) => Math.max(-128, Math.min(127, v)));
        const qName = fresh(`${c.name}_quantized`);
        added.push({ ...createTensor(qName, clamped, c.dims), name: qName });
        inputs[i] = dequantize(qName, scalar(`${c.name}_scale`, q.scale), zeroPoint(`${c.name}_zero_point`, q.zeroPoint), null, c.name);
      }
      const weightScales = new Map<number, Float32Array>();
      for (const w of nodePlan.weights) {
        const t = constant(node.inputs[w.input]) as Tensor;
        const axis = options.perChannel === false ? null : w.axis;
        const reduce = options.reduceRange === true || (options.reduceRange !== false
          && !isDepthwise(node) && saturationRisk(node.inputs[nodePlan.activations[0]]));
        const q = quantizeWeights(floatValues(t), t.dims, axis, reduce);
        if (reduce) reducedRange.push(nodeLabel(graph, node));
        weightScales.set(w.input, q.scales);
        const qName = fresh(`${base}_${t.name}_quantized`);
        added.push(createTensor(qName, q.values, t.dims));
        const sName = fresh(`${base}_${t.name}_scale`);
        const zName = fresh(`${base}_${t.name}_zero_point`);
        const dims = axis === null ? [] : [q.scales.length];
        added.push(createTensor(sName, axis === null ? Float32Array.of(q.scales[0]) : q.scales, dims));
        added.push(createTensor(zName, new Int8Array(axis === null ? 1 : q.scales.length), dims));
        inputs[w.input] = dequantize(qName, sName, zName, axis, `${base}_${t.name}`);
      }
      if (nodePlan.bias) {
        const b = constant(node.inputs[nodePlan.bias.input]) as Tensor;
        const inputScale = paramsOf(node.inputs[nodePlan.bias.activation]).scale;
        const q = quantizeBias(floatValues(b), inputScale, weightScales.get(nodePlan.bias.weight) as Float32Array);
        const qName = fresh(`${base}_${b.name}_quantized`);
        const sName = fresh(`${base}_${b.name}_scale`);
        const zName = fresh(`${base}_${b.name}_zero_point`);
        added.push(createTensor(qName, q.values, b.dims), createTensor(sName, q.scales, [q.scales.length]), createTensor(zName, new Int32Array(q.scales.length), [q.scales.length]));
        inputs[nodePlan.bias.input] = dequantize(qName, sName, zName, 0, `${base}_${b.name}`);
      }
      quantizedNodes.push({ node: nodeLabel(graph, node), opType: node.opType });
    }
    outputs = outputs.map((o) => floatName.get(o) ?? o);
    out.push({ ...node, inputs, outputs });
    for (const o of activation ? [activation.outputs[0]] : node.outputs) emitQdq(o);
  }
  const tensors: QuantizationReport['tensors'] = {};
  for (const t of qdq) {
    const q = paramsOf(t);
    tensors[t] = { scale: q.scale, zeroPoint: q.zeroPoint, low: q.low, high: q.high };
  }
  const used = new Set(out.flatMap((n) => n.inputs));
  const initializers = [...graph.initializers.filter((t) => used.has(t.name) || inputNames.has(t.name)), ...added];
  const renamed = new Set([...floatName.values()]);
  const gone = new Set([...fused.keys()].map((a) => a.inputs[0]));
  const valueInfo = graph.valueInfo.filter((v) => !gone.has(v.name) && !renamed.has(v.name));
  const result: Model = { ...model, graph: { ...graph, nodes: out, initializers, valueInfo } };
  return {
    model: result,
    modified: quantizedNodes.length > 0,
    report: { quantized: quantizedNodes, float: p.float, fusedActivations: fusedReport, reducedRange, tensors },
  };
}

