// Calibration: runs real inputs through onnxruntime on a copy of the model whose graph outputs
// also expose the activations to observe, and folds every batch into bounded histograms. Also
// produces the per-input / per-output statistics a bundle manifest carries for drift detection.
import * as ort from 'onnxruntime-node';
import type { Calibration, TensorStats } from '@edgeloop/bundle';
import { CalibrationError } from '../errors.js';
import { DataType } from '../ir/data-type.js';
import { encodeModel } from '../ir/serde.js';
import { opsetVersion } from '../ir/graph.js';
import { createTensor } from '../ir/tensor.js';
import type { Model, Node, Tensor, ValueInfo } from '../ir/types.js';
import { valueTypes } from '../passes/graph-rewrite.js';
import { ActivationHistogram } from './histogram.js';

/** One calibration sample (or batch): float32 data per model input, batch dimension first. */
export type CalibrationFeed = Record<string, { data: Float32Array; dims: readonly number[] }>;

export interface CalibrateOptions {
  /** Float tensors to observe; default every float tensor the model computes or reads as input. */
  tensors?: readonly string[];
  /** Samples concatenated along dimension 0 per onnxruntime run when the model's batch dimension is free (default 8). */
  batchSize?: number;
  /** Bins per histogram (multiple of 4; default 2048). */
  bins?: number;
  /** Bins of the histograms in the manifest statistics (default 64). */
  statisticsBins?: number;
  intraOpNumThreads?: number;
  /**
   * Fill histograms for the observed tensors (default true; 'percentile' and 'entropy' ranges need
   * them). When false, only minmax ranges are wanted: onnxruntime reduces each observed activation
   * to min / max / sum / sum of squares / size inside the graph, so the activations are neither
   * copied out nor binned. Model inputs and outputs are always histogrammed (drift statistics).
   */
  histograms?: boolean;
  /**
   * Histogram values per sample per tensor (default 32768; 0: all). A larger activation is
   * histogrammed from a strided sample taken inside onnxruntime (a prime stride, so it walks across
   * channels and positions), while its min / max / mean / std stay exact (reduced in the graph).
   * Needs opset >= 10 (Slice steps) and static non-batch dimensions; otherwise all values are used.
   */
  histogramSample?: number;
}

/** Per-channel running sums for the model's inputs and outputs. */
interface ChannelSums {
  axis: number | null;
  sum: Float64Array;
  sumSquares: Float64Array;
  count: Float64Array;
}

export interface CalibrationData {
  /** tensor name -> histogram of its values over all samples. */
  histograms: Map<string, ActivationHistogram>;
  samples: number;
  inputs: string[];
  outputs: string[];
  channelSums: Map<string, ChannelSums>;
}

function isFloatInput(v: ValueInfo): boolean {
  return v.type?.kind === 'tensor' && v.type.elemType === DataType.FLOAT;
}

/** The channel axis for drift statistics: 1 for rank >= 3 NCHW-like tensors with few channels, else the last of rank 4 NHWC, else none. */
function channelAxis(dims: readonly number[]): number | null {
  if (dims.length === 4 && dims[1] <= 4) return 1;
  if (dims.length === 4 && dims[3] <= 4) return 3;
  return null;
}

function addChannelSums(sums: ChannelSums, data: Float32Array, dims: readonly number[]): void {
  if (sums.axis === null) {
    for (let i = 0; i < data.length; i++) {
      sums.sum[0] += data[i];
      sums.sumSquares[0] += data[i] * data[i];
    }
    sums.count[0] += data.length;
    return;
  }
  const channels = dims[sums.axis];
  const inner = dims.slice(sums.axis + 1).reduce((a, b) => a * b, 1);
  // Contiguous runs of `inner` values share a channel.
  for (let start = 0, block = 0; start < data.length; start += inner, block++) {
    const c = block % channels;
    let sum = 0;
    let sumSquares = 0;
    const end = Math.min(data.length, start + inner);
    for (let i = start; i < end; i++) {
      const v = data[i];
      sum += v;
      sumSquares += v * v;
    }
    sums.sum[c] += sum;
    sums.sumSquares[c] += sumSquares;
    sums.count[c] += end - start;
  }
}

function concatFeeds(feeds: CalibrationFeed[]): CalibrationFeed {
  if (feeds.length === 1) return feeds[0];
  const out: CalibrationFeed = {};
  for (const name of Object.keys(feeds[0])) {
    const parts = feeds.map((f) => f[name]);
    const total = parts.reduce((s, p) => s + p.data.length, 0);
    const data = new Float32Array(total);
    let offset = 0;
    for (const p of parts) {
      data.set(p.data, offset);
      offset += p.data.length;
    }
    out[name] = { data, dims: [parts.reduce((s, p) => s + p.dims[0], 0), ...parts[0].dims.slice(1)] };
  }
  return out;
}

/** Default histogram values per sample per tensor (see CalibrateOptions.histogramSample). */
export const DEFAULT_HISTOGRAM_SAMPLE = 32768;

/** The smallest prime >= n (n >= 2). */
function primeAtLeast(n: number): number {
  for (let p = Math.max(2, n); ; p++) {
    let prime = true;
    for (let d = 2; d * d <= p; d++) {
      if (p % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) return p;
  }
}

/** Float tensors a model computes or reads (graph inputs and node outputs). */
export function floatTensorNames(model: Model): string[] {
  const types = valueTypes(model);
  const inits = new Set(model.graph.initializers.map((t) => t.name));
  const names = [...model.graph.inputs.map((v) => v.name), ...model.graph.nodes.flatMap((n) => n.outputs)];
  return [...new Set(names)].filter((n) => n !== '' && !inits.has(n) && types.get(n)?.elemType === DataType.FLOAT);
}

export async function calibrateModel(
  model: Model,
  samples: Iterable<CalibrationFeed> | AsyncIterable<CalibrationFeed>,
  options: CalibrateOptions = {},
): Promise<CalibrationData> {
  const graph = model.graph;
  const initNames = new Set(graph.initializers.map((t) => t.name));
  const inputs = graph.inputs.filter((v) => !initNames.has(v.name));
  const inputNames = new Set(inputs.map((v) => v.name));
  const nonFloat = inputs.find((v) => !isFloatInput(v));
  if (nonFloat) throw new CalibrationError(`calibration feeds float32 inputs only; input '${nonFloat.name}' is not float32`);
  const targets = [...new Set(options.tensors ?? floatTensorNames(model))];
  const outputs = graph.outputs.map((o) => o.name);
  const types = valueTypes(model);
  const observed = [...new Set([...targets, ...outputs])].filter((n) => !inputNames.has(n));
  const existingOutputs = new Set(outputs);
  const withHistograms = options.histograms !== false;
  const sampleCap = options.histogramSample ?? DEFAULT_HISTOGRAM_SAMPLE;
  const canSlice = (opsetVersion(model) ?? 1) >= 10;
  const checkFloat = (name: string): ValueInfo['type'] => {
    const info = types.get(name);
    if (!info || info.elemType !== DataType.FLOAT) throw new CalibrationError(`cannot calibrate '${name}': not a float tensor of the model`);
    return { kind: 'tensor', elemType: DataType.FLOAT, shape: info.shape };
  };
  /** Stride of a histogram sample of `name`, or 1 when all its values are binned. */
  const strideOf = (name: string): number => {
    const shape = types.get(name)?.shape;
    if (!withHistograms || sampleCap <= 0 || !canSlice || !shape || shape.length < 2) return 1;
    const rest = shape.slice(1);
    if (!rest.every((d): d is number => typeof d === 'number')) return 1;
    const perSample = rest.reduce((a, b) => a * b, 1);
    return perSample > sampleCap ? primeAtLeast(Math.ceil(perSample / sampleCap)) : 1;
  };
  // Graph outputs are copied out whole (drift statistics need exact per-channel sums). Other
  // tensors: whole when histogrammed in full; summarized in the graph (plus a strided sample when
  // histograms are wanted) otherwise.
  const strides = new Map(observed.map((n) => [n, existingOutputs.has(n) ? 1 : strideOf(n)]));
  const isFetched = (n: string): boolean => existingOutputs.has(n) || (withHistograms && strides.get(n) === 1);
  const fetched = observed.filter(isFetched);
  const summarized = observed.filter((n) => !isFetched(n));
  const extraOutputs: ValueInfo[] = fetched.filter((n) => !existingOutputs.has(n)).map((name) => ({ name, type: checkFloat(name) }));
  const extraNodes: Node[] = [];
  const extraInitializers: Tensor[] = [];
  const summaryOutputs = summarized.map((name, i) => {
    checkFloat(name);
    const prefix = `__edgeloop_calib_${i}`;
    const out = { min: `${prefix}_min`, max: `${prefix}_max`, sum: `${prefix}_sum`, sumSquares: `${prefix}_sumsq`, size: `${prefix}_size` };
    // No axes: every Reduce* reduces all dimensions in every opset (axes became an input in 13/18).
    const reduce = (opType: string, output: string): Node => ({
      name: `${output}_node`, opType, domain: '', inputs: [name], outputs: [output], attributes: { keepdims: { type: 'int', value: 0 } },
    });
    extraNodes.push(
      reduce('ReduceMin', out.min), reduce('ReduceMax', out.max), reduce('ReduceSum', out.sum), reduce('ReduceSumSquare', out.sumSquares),
      { name: `${out.size}_node`, opType: 'Size', domain: '', inputs: [name], outputs: [out.size], attributes: {} },
    );
    for (const o of [out.min, out.max, out.sum, out.sumSquares]) extraOutputs.push({ name: o, type: { kind: 'tensor', elemType: DataType.FLOAT, shape: [] } });
    extraOutputs.push({ name: out.size, type: { kind: 'tensor', elemType: DataType.INT64, shape: [] } });
    const stride = strides.get(name) ?? 1;
    if (!withHistograms || stride === 1) return { name, ...out, sample: null };
    // Flatten, then every stride-th value.
    const int64 = (suffix: string, values: bigint[]): string => {
      extraInitializers.push(createTensor(`${prefix}_${suffix}`, BigInt64Array.from(values), [values.length]));
      return `${prefix}_${suffix}`;
    };
    const flat = `${prefix}_flat`;
    const sample = `${prefix}_sample`;
    extraNodes.push(
      { name: `${flat}_node`, opType: 'Reshape', domain: '', inputs: [name, int64('flat_shape', [-1n])], outputs: [flat], attributes: {} },
      {
        name: `${sample}_node`, opType: 'Slice', domain: '',
        inputs: [flat, int64('starts', [0n]), int64('ends', [2n ** 62n]), int64('axes', [0n]), int64('steps', [BigInt(stride)])],
        outputs: [sample], attributes: {},
      },
    );
    extraOutputs.push({ name: sample, type: { kind: 'tensor', elemType: DataType.FLOAT, shape: [null] } });
    return { name, ...out, sample };
  });
  const copy: Model = {
    ...model,
    graph: { ...graph, nodes: [...graph.nodes, ...extraNodes], initializers: [...graph.initializers, ...extraInitializers], outputs: [...graph.outputs, ...extraOutputs] },
  };
  const session = await ort.InferenceSession.create(encodeModel(copy), {
    graphOptimizationLevel: 'basic',
    ...(options.intraOpNumThreads === undefined ? {} : { intraOpNumThreads: options.intraOpNumThreads }),
  });
  const bins = options.bins ?? 2048;
  const histograms = new Map<string, ActivationHistogram>();
  for (const name of new Set([...targets, ...outputs, ...inputNames])) histograms.set(name, new ActivationHistogram(bins));
  const channelSums = new Map<string, ChannelSums>();
  const batchFree = inputs.every((v) => v.type?.kind === 'tensor' && v.type.shape !== null && typeof v.type.shape[0] !== 'number');
  const batchSize = batchFree ? Math.max(1, options.batchSize ?? 8) : 1;
  let count = 0;
  const observe = (name: string, data: Float32Array, dims: readonly number[]): void => {
    histograms.get(name)?.add(data);
    if (!inputNames.has(name) && !existingOutputs.has(name)) return;
    let sums = channelSums.get(name);
    if (!sums) {
      const axis = channelAxis(dims);
      const n = axis === null ? 1 : dims[axis];
      sums = { axis, sum: new Float64Array(n), sumSquares: new Float64Array(n), count: new Float64Array(n) };
      channelSums.set(name, sums);
    }
    addChannelSums(sums, data, dims);
  };
  const runBatch = async (pending: CalibrationFeed[]): Promise<void> => {
    const feed = concatFeeds(pending);
    const feeds: Record<string, ort.Tensor> = {};
    for (const v of inputs) {
      const t = feed[v.name];
      if (!t) throw new CalibrationError(`calibration sample has no value for input '${v.name}'`);
      feeds[v.name] = new ort.Tensor('float32', t.data, [...t.dims]);
      observe(v.name, t.data, t.dims);
    }
    const results = await session.run(feeds);
    for (const name of fetched) {
      const r = results[name];
      observe(name, r.data as Float32Array, r.dims);
    }
    const scalar = (name: string): number => Number((results[name].data as Float32Array | BigInt64Array)[0]);
    for (const s of summaryOutputs) {
      const summary = { min: scalar(s.min), max: scalar(s.max), sum: scalar(s.sum), sumSquares: scalar(s.sumSquares), count: scalar(s.size) };
      if (s.sample === null) histograms.get(s.name)?.addSummary(summary);
      else histograms.get(s.name)?.addSampled(results[s.sample].data as Float32Array, summary);
    }
  };
  try {
    let pending: CalibrationFeed[] = [];
    for await (const sample of samples) {
      pending.push(sample);
      count += Object.values(sample)[0]?.dims[0] ?? 1;
      if (pending.length >= batchSize) {
        await runBatch(pending);
        pending = [];
      }
    }
    if (pending.length > 0) await runBatch(pending);
  } finally {
    await session.release();
  }
  if (count === 0) throw new CalibrationError('no calibration samples');
  return { histograms, samples: count, inputs: inputs.map((v) => v.name), outputs, channelSums };
}

/** Per-input and per-output statistics for the bundle manifest's `calibration` (drift detection). */
export function calibrationStatistics(data: CalibrationData, options: { bins?: number } = {}): Calibration {
  const out: Calibration = {};
  for (const name of [...data.inputs, ...data.outputs]) {
    const h = data.histograms.get(name);
    const sums = data.channelSums.get(name);
    if (!h || !sums || h.count === 0) continue;
    const mean = Array.from(sums.sum, (s, c) => s / sums.count[c]);
    const std = Array.from(sums.sumSquares, (s, c) => Math.sqrt(Math.max(0, s / sums.count[c] - mean[c] * mean[c])));
    const stats: TensorStats = { mean, std, min: h.min, max: h.max, histogram: h.rebinned(options.bins ?? 64) };
    out[name] = stats;
  }
  return out;
}
