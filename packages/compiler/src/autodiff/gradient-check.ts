// Checks a training graph's analytic gradients against central finite differences of its loss.
// The analytic side runs the float32 training graph on onnxruntime; the numeric side runs the loss
// alone, in float64 where onnxruntime's CPU kernels exist for every op (many conv/pool kernels are
// float32-only), so rounding does not swamp the difference quotient.
import * as ort from 'onnxruntime-node';
import { DataType } from '../ir/data-type.js';
import { encodeModel } from '../ir/serde.js';
import { tensorToTypedArray } from '../ir/tensor.js';
import { createTensor } from '../ir/tensor.js';
import type { Attribute, Model, Node, Tensor, ValueInfo } from '../ir/types.js';
import { seededRandom } from '../packaging/golden.js';
import { removeDeadCode } from '../passes/remove-dead-code.js';
import { buildTrainingGraph } from './training-graph.js';
import type { TrainingGraphOptions } from './training-graph.js';

export interface FeedValue {
  data: Float32Array | Float64Array | BigInt64Array;
  dims: number[];
}

export interface GradientCheckOptions extends TrainingGraphOptions {
  /** Values of the graph's data inputs (float inputs are given in float32 and widened as needed). */
  feeds?: Record<string, FeedValue>;
  /** Numeric side precision: 'float64' (default) or 'float32' for ops without double kernels. */
  numericType?: 'float64' | 'float32';
  /** Finite-difference step (default 1e-4 in float64, 1e-2 in float32). */
  epsilon?: number;
  /** Elements checked per trainable, drawn with `sampleSeed` (default 16; all when smaller). */
  samplesPerWeight?: number;
  sampleSeed?: number;
}

export interface WeightCheck {
  name: string;
  checked: number;
  maxAbsError: number;
  /** max |analytic - numeric| / max(|analytic|, |numeric|, 1e-3) */
  maxRelError: number;
  worst: { index: number; analytic: number; numeric: number };
}

function widenTensor(t: Tensor): Tensor {
  if (t.dataType !== DataType.FLOAT) return t;
  return createTensor(t.name, Float64Array.from(tensorToTypedArray(t) as Float32Array), t.dims);
}

function widenValueInfo(v: ValueInfo): ValueInfo {
  return v.type?.kind === 'tensor' && v.type.elemType === DataType.FLOAT ? { ...v, type: { ...v.type, elemType: DataType.DOUBLE } } : v;
}

function widenNode(node: Node): Node {
  const attributes: Record<string, Attribute> = {};
  for (const [k, a] of Object.entries(node.attributes)) {
    if (a.type === 'tensor') attributes[k] = { ...a, value: widenTensor(a.value) };
    else if ((k === 'to' || k === 'dtype') && a.type === 'int' && Number(a.value) === DataType.FLOAT) attributes[k] = { ...a, value: DataType.DOUBLE };
    else attributes[k] = a;
  }
  return { ...node, attributes };
}

/** The same model computing in float64 (float32 initializers, inputs, outputs, Constant and Cast widened). */
export function widenToFloat64(model: Model): Model {
  const g = model.graph;
  return {
    ...model,
    graph: {
      ...g,
      nodes: g.nodes.map(widenNode),
      initializers: g.initializers.map(widenTensor),
      inputs: g.inputs.map(widenValueInfo),
      outputs: g.outputs.map(widenValueInfo),
      valueInfo: g.valueInfo.map(widenValueInfo),
    },
  };
}

function ortTensor(value: FeedValue, double: boolean): ort.Tensor {
  if (value.data instanceof BigInt64Array) return new ort.Tensor('int64', value.data, value.dims);
  return double ? new ort.Tensor('float64', Float64Array.from(value.data), value.dims) : new ort.Tensor('float32', Float32Array.from(value.data), value.dims);
}

/** Compares analytic and finite-difference gradients of every trainable weight. */
export async function checkGradients(model: Model, options: GradientCheckOptions): Promise<WeightCheck[]> {
  const training = buildTrainingGraph(model, { dropout: 'identity', ...options });
  const feeds = options.feeds ?? {};
  const weights = new Map<string, Float32Array>();
  for (const t of model.graph.initializers) {
    if (training.trainable.some((p) => p.name === t.name)) weights.set(t.name, Float32Array.from(tensorToTypedArray(t) as Float32Array));
  }
  const stateFeeds: Record<string, ort.Tensor> = {};
  for (const s of training.stateUpdates) {
    const t = model.graph.initializers.find((i) => i.name === s.input) as Tensor;
    stateFeeds[s.input] = new ort.Tensor('float32', Float32Array.from(tensorToTypedArray(t) as Float32Array), t.dims);
  }
  const analyticSession = await ort.InferenceSession.create(encodeModel(training.model));
  const analyticFeeds: Record<string, ort.Tensor> = { ...stateFeeds };
  for (const v of training.dataInputs) analyticFeeds[v.name] = ortTensor(feeds[v.name], false);
  for (const p of training.trainable) analyticFeeds[p.name] = new ort.Tensor('float32', weights.get(p.name) as Float32Array, p.shape);
  const analytic = await analyticSession.run(analyticFeeds);

  const double = (options.numericType ?? 'float64') === 'float64';
  const numericModel = double ? widenToFloat64(training.model) : training.model;
  const lossOnly = removeDeadCode({
    ...numericModel,
    graph: { ...numericModel.graph, outputs: numericModel.graph.outputs.filter((o) => o.name === training.lossName) },
  }).model;
  const numericSession = await ort.InferenceSession.create(encodeModel(lossOnly));
  const needed = new Set(lossOnly.graph.inputs.map((v) => v.name));
  const baseFeeds: Record<string, ort.Tensor> = {};
  for (const v of training.dataInputs) if (needed.has(v.name)) baseFeeds[v.name] = ortTensor(feeds[v.name], double);
  for (const [name, t] of Object.entries(stateFeeds)) if (needed.has(name)) baseFeeds[name] = ortTensor({ data: t.data as Float32Array, dims: [...t.dims] }, double);
  const values = new Map<string, Float32Array | Float64Array>();
  for (const p of training.trainable) {
    const w = weights.get(p.name) as Float32Array;
    values.set(p.name, double ? Float64Array.from(w) : Float32Array.from(w));
  }
  const lossAt = async (): Promise<number> => {
    const f: Record<string, ort.Tensor> = { ...baseFeeds };
    for (const p of training.trainable) {
      if (!needed.has(p.name)) continue;
      const v = values.get(p.name) as Float32Array | Float64Array;
      f[p.name] = v instanceof Float64Array ? new ort.Tensor('float64', v, p.shape) : new ort.Tensor('float32', v, p.shape);
    }
    const out = await numericSession.run(f);
    return Number((out[training.lossName].data as Float32Array | Float64Array)[0]);
  };

  const eps = options.epsilon ?? (double ? 1e-4 : 1e-2);
  const random = seededRandom(options.sampleSeed ?? 7);
  const results: WeightCheck[] = [];
  for (const p of training.trainable) {
    const grad = analytic[training.gradientNames[p.name]].data as Float32Array;
    const v = values.get(p.name) as Float32Array | Float64Array;
    const count = v.length;
    const samples = Math.min(options.samplesPerWeight ?? 16, count);
    const indices = samples === count ? Array.from({ length: count }, (_, i) => i) : Array.from({ length: samples }, () => Math.floor(random() * count));
    const check: WeightCheck = { name: p.name, checked: 0, maxAbsError: 0, maxRelError: 0, worst: { index: -1, analytic: 0, numeric: 0 } };
    for (const index of indices) {
      const original = v[index];
      // The stored (possibly float32-rounded) perturbed values give the exact step taken.
      v[index] = original + eps;
      const up = v[index];
      const plus = await lossAt();
      v[index] = original - eps;
      const down = v[index];
      const minus = await lossAt();
      v[index] = original;
      const numeric = (plus - minus) / (up - down);
      const a = grad[index];
      const abs = Math.abs(a - numeric);
      const rel = abs / Math.max(Math.abs(a), Math.abs(numeric), 1e-3);
      check.checked++;
      if (rel > check.maxRelError) check.worst = { index, analytic: a, numeric };
      check.maxAbsError = Math.max(check.maxAbsError, abs);
      check.maxRelError = Math.max(check.maxRelError, rel);
    }
    results.push(check);
  }
  await analyticSession.release();
  await numericSession.release();
  return results;
}
