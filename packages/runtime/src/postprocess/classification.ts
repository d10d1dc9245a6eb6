// Classifier outputs -> ranked labels plus the uncertainty signals (entropy, top1-top2 margin)
// the field sampler uses to pick frames worth sending home.

import type { RuntimeTensor } from '../backend.js';
import { PostprocessError } from '../errors.js';

export interface ClassScore {
  index: number;
  label?: string;
  score: number;
}

export interface Classification {
  /** Best first; equal scores keep the lower class index first. */
  top: ClassScore[];
  probabilities: Float32Array;
  /** Shannon entropy of the probabilities, in nats. */
  entropy: number;
  /** entropy / ln(classes): 0 = certain, 1 = uniform. */
  normalizedEntropy: number;
  /** top1 - top2 probability (top1 when there is one class). */
  margin: number;
}

export interface ClassifyOptions {
  labels?: readonly string[];
  /** Default 5 (capped at the class count). */
  topK?: number;
  /**
   * What the model emits. 'auto' (default) treats a row of values in [0, 1] summing to 1 within
   * 1e-3 as probabilities and anything else as logits.
   */
  outputKind?: 'logits' | 'probabilities' | 'auto';
}

let scratch = new Float64Array(1024);

/** Numerically stable softmax (subtracts the maximum first). */
export function softmax(logits: ArrayLike<number>, out: Float32Array = new Float32Array(logits.length)): Float32Array {
  const n = logits.length;
  if (out.length < n) throw new PostprocessError(`softmax output holds ${out.length} values, needs ${n}`);
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = logits[i];
    if (Number.isNaN(v)) throw new PostprocessError(`softmax input has NaN at index ${i}`);
    if (v > max) max = v;
  }
  if (max === -Infinity) {
    out.fill(1 / n, 0, n);
    return out;
  }
  let sum = 0;
  // Scratch reused call after call (softmax runs to completion synchronously, so nothing shares it).
  if (scratch.length < n) scratch = new Float64Array(n);
  const exps = scratch;
  for (let i = 0; i < n; i++) {
    const e = max === Infinity ? (logits[i] === Infinity ? 1 : 0) : Math.exp(logits[i] - max);
    exps[i] = e;
    sum += e;
  }
  for (let i = 0; i < n; i++) out[i] = exps[i] / sum;
  return out;
}

export function looksLikeProbabilities(values: ArrayLike<number>, tolerance = 1e-3): boolean {
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(v >= 0 && v <= 1)) return false;
    sum += v;
  }
  return values.length > 0 && Math.abs(sum - 1) <= tolerance;
}

/** The k highest scores, best first; equal scores are ordered by lower index. */
export function topK(scores: ArrayLike<number>, k: number, labels?: readonly string[]): ClassScore[] {
  const count = Math.max(0, Math.min(Math.floor(k), scores.length));
  const best: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i];
    if (best.length === count && !(s > scores[best[count - 1]])) continue;
    let at = best.length;
    // Strictly greater moves ahead, so an earlier index wins a tie.
    while (at > 0 && s > scores[best[at - 1]]) at--;
    best.splice(at, 0, i);
    if (best.length > count) best.pop();
  }
  return best.map((index) => {
    const entry: ClassScore = { index, score: scores[index] };
    if (labels?.[index] !== undefined) entry.label = labels[index];
    return entry;
  });
}

/** Shannon entropy in nats; zero probabilities contribute nothing. */
export function entropy(probabilities: ArrayLike<number>): number {
  let h = 0;
  for (let i = 0; i < probabilities.length; i++) {
    const p = probabilities[i];
    if (p > 0) h -= p * Math.log(p);
  }
  return h;
}

function rowsOf(output: RuntimeTensor | ArrayLike<number>): { rows: number; classes: number; data: ArrayLike<number> } {
  if (!isTensor(output)) return { rows: 1, classes: output.length, data: output };
  if (output.dtype !== 'float32' && output.dtype !== 'float64') {
    throw new PostprocessError(`classification output is ${output.dtype}; float32 or float64 expected`);
  }
  const dims = output.dims;
  if (dims.length === 0 || dims.length > 2) throw new PostprocessError(`classification output has shape [${dims.join(',')}]; [classes] or [batch, classes] expected`);
  const classes = dims[dims.length - 1];
  const rows = dims.length === 2 ? dims[0] : 1;
  return { rows, classes, data: output.data as Float32Array | Float64Array };
}

function isTensor(value: RuntimeTensor | ArrayLike<number>): value is RuntimeTensor {
  return typeof (value as RuntimeTensor).dtype === 'string' && Array.isArray((value as RuntimeTensor).dims);
}

function classifyRow(row: ArrayLike<number>, options: ClassifyOptions): Classification {
  const classes = row.length;
  if (classes === 0) throw new PostprocessError('classification output has no classes');
  if (options.labels && options.labels.length !== classes) {
    throw new PostprocessError(`${options.labels.length} labels for ${classes} classes`);
  }
  const kind = options.outputKind ?? 'auto';
  const isProbabilities = kind === 'probabilities' || (kind === 'auto' && looksLikeProbabilities(row));
  const probabilities = isProbabilities ? Float32Array.from(row) : softmax(row);
  const top = topK(probabilities, Math.max(options.topK ?? 5, Math.min(2, classes)), options.labels);
  const h = entropy(probabilities);
  return {
    top: top.slice(0, Math.min(options.topK ?? 5, classes)),
    probabilities,
    entropy: h,
    normalizedEntropy: classes > 1 ? h / Math.log(classes) : 0,
    margin: top.length > 1 ? top[0].score - top[1].score : top[0].score,
  };
}

/** Classifies one row: a [classes] or [1, classes] tensor, or a plain array of scores. */
export function classify(output: RuntimeTensor | ArrayLike<number>, options: ClassifyOptions = {}): Classification {
  const { rows, classes, data } = rowsOf(output);
  if (rows !== 1) throw new PostprocessError(`classification output has batch ${rows}; use classifyBatch`);
  return classifyRow(subarray(data, 0, classes), options);
}

/** Classifies each row of a [batch, classes] tensor. */
export function classifyBatch(output: RuntimeTensor, options: ClassifyOptions = {}): Classification[] {
  const { rows, classes, data } = rowsOf(output);
  const results: Classification[] = [];
  for (let r = 0; r < rows; r++) results.push(classifyRow(subarray(data, r * classes, (r + 1) * classes), options));
  return results;
}

function subarray(data: ArrayLike<number>, start: number, end: number): ArrayLike<number> {
  if (data instanceof Float32Array || data instanceof Float64Array) return data.subarray(start, end);
  return Array.prototype.slice.call(data, start, end) as number[];
}
