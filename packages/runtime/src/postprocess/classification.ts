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
  softmaxInto(logits, 0, n, out);
  return out;
}

/**
 * softmax of values[offset .. offset + n) into out[0 .. n); returns the distribution's entropy
 * in nats, from the same exponentials: with p_i = e_i / S and e_i = exp(x_i - max),
 * H = ln S - sum p_i (x_i - max), one logarithm instead of one per class.
 */
function softmaxInto(values: ArrayLike<number>, offset: number, n: number, out: Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = values[offset + i];
    if (Number.isNaN(v)) throw new PostprocessError(`softmax input has NaN at index ${i}`);
    if (v > max) max = v;
  }
  if (max === -Infinity) {
    out.fill(1 / n, 0, n);
    return Math.log(n);
  }
  let sum = 0;
  // Scratch reused call after call (softmax runs to completion synchronously, so nothing shares it).
  if (scratch.length < n) scratch = new Float64Array(n);
  const exps = scratch;
  for (let i = 0; i < n; i++) {
    const v = values[offset + i];
    const e = max === Infinity ? (v === Infinity ? 1 : 0) : Math.exp(v - max);
    exps[i] = e;
    sum += e;
  }
  let weighted = 0;
  for (let i = 0; i < n; i++) {
    const e = exps[i];
    out[i] = e / sum;
    if (e > 0 && max !== Infinity) weighted += e * (values[offset + i] - max);
  }
  // Infinite logits: the mass sits on the infinite ones, uniformly.
  return max === Infinity ? Math.log(sum) : Math.max(0, Math.log(sum) - weighted / sum);
}

export function looksLikeProbabilities(values: ArrayLike<number>, tolerance = 1e-3): boolean {
  return looksLikeProbabilitiesAt(values, 0, values.length, tolerance);
}

function looksLikeProbabilitiesAt(values: ArrayLike<number>, offset: number, n: number, tolerance = 1e-3): boolean {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = values[offset + i];
    if (!(v >= 0 && v <= 1)) return false;
    sum += v;
  }
  return n > 0 && Math.abs(sum - 1) <= tolerance;
}

/** The k highest scores, best first; equal scores are ordered by lower index. */
export function topK(scores: ArrayLike<number>, k: number, labels?: readonly string[]): ClassScore[] {
  const count = Math.max(0, Math.min(Math.floor(k), scores.length));
  const best = topIndices(scores, count);
  const top: ClassScore[] = new Array<ClassScore>(count);
  for (let r = 0; r < count; r++) top[r] = classScore(best[r], scores, labels);
  return top;
}

let bestScratch = new Int32Array(16);

/**
 * Indices of the `count` highest scores, best first (earlier index first on ties), in a scratch
 * array valid until the next call. Insertion into a sorted window: O(n * count), no allocation.
 */
function topIndices(scores: ArrayLike<number>, count: number): Int32Array {
  if (bestScratch.length < count) bestScratch = new Int32Array(count);
  const best = bestScratch;
  let filled = 0;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i];
    let at: number;
    if (filled === count) {
      if (count === 0 || !(s > scores[best[count - 1]])) continue;
      at = count - 1;
    } else {
      at = filled++;
    }
    // Strictly greater moves ahead, so an earlier index wins a tie.
    while (at > 0 && s > scores[best[at - 1]]) {
      best[at] = best[at - 1];
      at--;
    }
    best[at] = i;
  }
  return best;
}

function classScore(index: number, scores: ArrayLike<number>, labels: readonly string[] | undefined): ClassScore {
  const label = labels?.[index];
  return label === undefined ? { index, score: scores[index] } : { index, score: scores[index], label };
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

function classifyRow(data: ArrayLike<number>, offset: number, classes: number, options: ClassifyOptions): Classification {
  if (classes === 0) throw new PostprocessError('classification output has no classes');
  const labels = options.labels;
  if (labels && labels.length !== classes) {
    throw new PostprocessError(`${labels.length} labels for ${classes} classes`);
  }
  const kind = options.outputKind ?? 'auto';
  const probabilities = new Float32Array(classes);
  let h: number;
  if (kind === 'probabilities' || (kind === 'auto' && looksLikeProbabilitiesAt(data, offset, classes))) {
    for (let i = 0; i < classes; i++) probabilities[i] = data[offset + i];
    h = entropy(probabilities);
  } else {
    h = softmaxInto(data, offset, classes, probabilities);
  }
  const wanted = Math.max(0, Math.min(Math.floor(options.topK ?? 5), classes));
  // At least two ranked, for the margin.
  const ranked = Math.max(wanted, Math.min(2, classes));
  const best = topIndices(probabilities, ranked);
  const top: ClassScore[] = new Array<ClassScore>(wanted);
  for (let r = 0; r < top.length; r++) top[r] = classScore(best[r], probabilities, labels);
  const first = probabilities[best[0]];
  return {
    top,
    probabilities,
    entropy: h,
    normalizedEntropy: classes > 1 ? h / Math.log(classes) : 0,
    margin: ranked > 1 ? first - probabilities[best[1]] : first,
  };
}

/** Classifies one row: a [classes] or [1, classes] tensor, or a plain array of scores. */
export function classify(output: RuntimeTensor | ArrayLike<number>, options: ClassifyOptions = {}): Classification {
  const { rows, classes, data } = rowsOf(output);
  if (rows !== 1) throw new PostprocessError(`classification output has batch ${rows}; use classifyBatch`);
  return classifyRow(data, 0, classes, options);
}

/** Classifies each row of a [batch, classes] tensor. */
export function classifyBatch(output: RuntimeTensor, options: ClassifyOptions = {}): Classification[] {
  const { rows, classes, data } = rowsOf(output);
  const results: Classification[] = [];
  for (let r = 0; r < rows; r++) results.push(classifyRow(data, r * classes, classes, options));
  return results;
}
