// Measurements with onnxruntime on this host: top-1 predictions (accuracy against labels,
// agreement with the fp32 model), top-1 confidence statistics, and batch-1 latency of several
// models measured together: warm-up first, then rounds that run each model once in rotating
// order, so load on a shared machine falls on every model alike; p50 is the median over rounds.
import * as ort from 'onnxruntime-node';
import type { TensorStats } from '@edgeloop/bundle';
import type { Sample } from './samples.js';

export interface SessionOptions {
  intraOpNumThreads?: number;
}

export async function createSession(model: Uint8Array, options: SessionOptions = {}): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(model, {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    interOpNumThreads: 1,
    // Idle pool threads must not spin: candidates are timed one after another on a shared host.
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
    ...(options.intraOpNumThreads === undefined ? {} : { intraOpNumThreads: options.intraOpNumThreads }),
  });
}

export interface Predictions {
  /** Per sample: the arg-max over the last axis of the first output, one per row. */
  top1: Int32Array[];
  /** Per sample: top-1 probability (softmax unless the output already is a distribution), mean over rows. */
  confidence: Float64Array;
}

function rowsTop1(values: Float32Array, width: number): { top1: Int32Array; confidence: number } {
  const rows = Math.max(1, Math.floor(values.length / width));
  const top1 = new Int32Array(rows);
  let confidenceSum = 0;
  for (let r = 0; r < rows; r++) {
    const row = values.subarray(r * width, (r + 1) * width);
    let best = 0;
    let sum = 0;
    let probabilities = true;
    for (let i = 0; i < row.length; i++) {
      if (row[i] > row[best]) best = i;
      sum += row[i];
      if (row[i] < 0 || row[i] > 1) probabilities = false;
    }
    probabilities &&= Math.abs(sum - 1) < 1e-3;
    if (probabilities) confidenceSum += row[best];
    else {
      let z = 0;
      for (let i = 0; i < row.length; i++) z += Math.exp(row[i] - row[best]);
      confidenceSum += 1 / z;
    }
    top1[r] = best;
  }
  return { top1, confidence: confidenceSum / rows };
}

/**
 * Runs every sample through the session's first input and reads its first output. With `batch` > 1
 * (only for a model whose batch dimension is free) that many samples of equal shape share one run.
 */
export async function predict(session: ort.InferenceSession, samples: readonly Sample[], options: { batch?: number } = {}): Promise<Predictions> {
  const inputName = session.inputNames[0];
  const outputName = session.outputNames[0];
  const top1: Int32Array[] = [];
  const confidence = new Float64Array(samples.length);
  let batch = Math.max(1, Math.floor(options.batch ?? 1));
  for (let start = 0; start < samples.length; ) {
    // Samples of one run: consecutive, same shape.
    let end = start + 1;
    const shape = samples[start].dims.join('x');
    while (end < samples.length && end - start < batch && samples[end].dims.join('x') === shape) end++;
    const group = samples.slice(start, end);
    const rows = await runGroup(session, inputName, outputName, group);
    if (rows === null) {
      // The model's free batch dimension does not really batch (a Reshape to a fixed batch, …): one at a time.
      batch = 1;
      continue;
    }
    rows.forEach((r, k) => {
      top1.push(r.top1);
      confidence[start + k] = r.confidence;
    });
    start = end;
  }
  return { top1, confidence };
}

/** Top-1 rows of each sample of a run; null when a stacked run's output is not batched along dimension 0. */
async function runGroup(session: ort.InferenceSession, inputName: string, outputName: string, group: readonly Sample[]): Promise<{ top1: Int32Array; confidence: number }[] | null> {
  const first = group[0];
  let data = first.data;
  let dims = first.dims;
  if (group.length > 1) {
    data = new Float32Array(group.reduce((n, s) => n + s.data.length, 0));
    let offset = 0;
    for (const s of group) {
      data.set(s.data, offset);
      offset += s.data.length;
    }
    dims = [group.reduce((n, s) => n + (s.dims[0] ?? 1), 0), ...first.dims.slice(1)];
  }
  let result: ort.InferenceSession.OnnxValueMapType;
  try {
    result = await session.run({ [inputName]: new ort.Tensor('float32', data, dims) }, [outputName]);
  } catch (error) {
    if (group.length > 1) return null;
    throw error;
  }
  const out = result[outputName];
  try {
    if (group.length > 1 && out.dims[0] !== dims[0]) return null;
    const values = out.type === 'float32' ? (out.data as Float32Array) : Float32Array.from(out.data as ArrayLike<number>);
    const width = out.dims.length > 0 ? out.dims[out.dims.length - 1] : 1;
    // Each sample's rows are its share of the output.
    const perSample = values.length / group.length;
    return group.map((_, k) => rowsTop1(values.subarray(k * perSample, (k + 1) * perSample), width));
  } finally {
    out.dispose();
  }
}

/** Share of rows (percent) where both models pick the same class. */
export function agreement(reference: Predictions, other: Predictions): number {
  let same = 0;
  let total = 0;
  reference.top1.forEach((row, k) => {
    const o = other.top1[k];
    for (let i = 0; i < row.length; i++) if (row[i] === o[i]) same++;
    total += row.length;
  });
  return total === 0 ? 0 : (100 * same) / total;
}

/** Top-1 accuracy (percent) of the first row of each sample against its label. */
export function accuracy(predictions: Predictions, samples: readonly Sample[]): number {
  let correct = 0;
  samples.forEach((s, k) => {
    if (predictions.top1[k][0] === s.label) correct++;
  });
  return samples.length === 0 ? 0 : (100 * correct) / samples.length;
}

/** Manifest statistics of per-sample top-1 confidence (the drift monitor's '@confidence'). */
export function confidenceStatistics(confidence: Float64Array, bins = 20): TensorStats {
  const n = confidence.length;
  const mean = confidence.reduce((a, b) => a + b, 0) / n;
  const variance = confidence.reduce((a, b) => a + (b - mean) * (b - mean), 0) / n;
  const counts = new Array<number>(bins).fill(0);
  for (const c of confidence) counts[Math.min(bins - 1, Math.max(0, Math.floor(c * bins)))]++;
  return { mean: [mean], std: [Math.sqrt(variance)], min: Math.min(...confidence), max: Math.max(...confidence), histogram: { min: 0, max: 1, counts } };
}

export interface LatencyStats {
  p50: number;
  p95: number;
  mean: number;
  /** Batch-1 inferences per second at the mean latency. */
  throughput: number;
  runs: number;
}

export interface LatencyOptions {
  warmup?: number;
  runs?: number;
}

function percentile(sorted: readonly number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** Batch-1 latency (ms) of each session on its feed, measured interleaved. */
export async function measureLatency(
  entries: readonly { session: ort.InferenceSession; feed: Sample }[],
  options: LatencyOptions = {},
): Promise<LatencyStats[]> {
  const warmup = options.warmup ?? 5;
  const runs = Math.max(1, options.runs ?? 50);
  const feeds = entries.map((e) => ({ [e.session.inputNames[0]]: new ort.Tensor('float32', e.feed.data, e.feed.dims) }));
  for (let w = 0; w < warmup; w++) for (const [i, e] of entries.entries()) await e.session.run(feeds[i]);
  const times = entries.map(() => [] as number[]);
  for (let r = 0; r < runs; r++) {
    for (let j = 0; j < entries.length; j++) {
      const i = (j + r) % entries.length;
      const start = performance.now();
      await entries[i].session.run(feeds[i]);
      times[i].push(performance.now() - start);
    }
  }
  return times.map((t) => {
    const sorted = [...t].sort((a, b) => a - b);
    const mean = t.reduce((a, b) => a + b, 0) / t.length;
    return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), mean, throughput: 1000 / mean, runs: t.length };
  });
}
