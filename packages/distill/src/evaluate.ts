// Running a classifier over a dataset on onnxruntime: logits, loss and accuracy.
import * as ort from 'onnxruntime-node';
import { encodeModel } from '@edgeloop/compiler';
import type { Model } from '@edgeloop/compiler';
import type { Dataset } from './dataset.js';
import { sampleSize } from './dataset.js';

export interface EvaluateOptions {
  batchSize?: number;
  /** Input and output names; default the model's first graph input / output. */
  input?: string;
  output?: string;
  /** Extra feeds (e.g. weights fed as inputs) added to every run. */
  extraFeeds?: Record<string, ort.Tensor>;
  /** Reuse an open session for `model` (the caller releases it). */
  session?: ort.InferenceSession;
}

export interface Evaluation {
  logits: Float32Array;
  classes: number;
  /** Mean softmax cross-entropy against labels (NaN without labels). */
  loss: number;
  /** Fraction of argmax(logits) == label (NaN without labels). */
  accuracy: number;
}

export async function createSession(model: Model, threads?: number): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(encodeModel(model), {
    graphOptimizationLevel: 'all',
    ...(threads ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {}),
  });
}

export function crossEntropyAndAccuracy(logits: Float32Array, classes: number, labels: Int32Array | undefined, count: number): { loss: number; accuracy: number } {
  if (!labels) return { loss: Number.NaN, accuracy: Number.NaN };
  let loss = 0;
  let correct = 0;
  for (let n = 0; n < count; n++) {
    const row = logits.subarray(n * classes, (n + 1) * classes);
    let best = 0;
    let max = -Infinity;
    for (let k = 0; k < classes; k++) if (row[k] > max) { max = row[k]; best = k; }
    let z = 0;
    for (let k = 0; k < classes; k++) z += Math.exp(row[k] - max);
    loss += Math.log(z) + max - row[labels[n]];
    if (best === labels[n]) correct++;
  }
  return { loss: loss / count, accuracy: correct / count };
}

/** Runs the model over every sample (last batch may be smaller; the batch dim must be dynamic). */
export async function evaluate(model: Model, data: Dataset, options: EvaluateOptions = {}): Promise<Evaluation> {
  const session = options.session ?? (await createSession(model));
  const input = options.input ?? session.inputNames[0];
  const output = options.output ?? session.outputNames[0];
  const batch = options.batchSize ?? 256;
  const size = sampleSize(data);
  let logits = new Float32Array(0);
  let classes = 0;
  try {
    for (let start = 0; start < data.count; start += batch) {
      const n = Math.min(batch, data.count - start);
      const x = new ort.Tensor('float32', data.inputs.subarray(start * size, (start + n) * size), [n, ...data.sampleShape]);
      const result = await session.run({ ...options.extraFeeds, [input]: x }, [output]);
      const out = result[output];
      if (classes === 0) {
        classes = out.dims.slice(1).reduce((a, b) => a * b, 1);
        logits = new Float32Array(data.count * classes);
      }
      logits.set(out.data as Float32Array, start * classes);
    }
  } finally {
    if (!options.session) await session.release();
  }
  return { logits, classes, ...crossEntropyAndAccuracy(logits, classes, data.labels, data.count) };
}

/** Teacher logits for every sample: the soft labels distillation trains against. */
export async function predictLogits(model: Model, data: Dataset, options: EvaluateOptions = {}): Promise<Float32Array> {
  return (await evaluate(model, { ...data, labels: undefined }, options)).logits;
}
