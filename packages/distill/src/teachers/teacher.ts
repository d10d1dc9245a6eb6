// The contract every teacher keeps (ONNX model, HTTP service, ensemble), and the conversions
// between what teachers return (logits or probabilities) and what the KD trainer consumes (logits).
import { TeacherOutputError } from '../errors.js';

/**
 * One sample to label: the encoded image (JPEG/PNG bytes, what HTTP teachers send and ONNX
 * teachers preprocess themselves) and/or a tensor already preprocessed for the teacher.
 */
export interface TeacherSample {
  image?: Uint8Array;
  tensor?: Float32Array;
  /** sha256 of the image bytes when known (the store's key); used in error messages and caches. */
  sha256?: string;
}

/** What a teacher returns for a batch: `count` rows of `classes` values, logits or probabilities. */
export interface TeacherPrediction {
  kind: 'logits' | 'probabilities';
  classes: number;
  values: Float32Array;
}

export interface PredictOptions {
  signal?: AbortSignal;
}

export interface Teacher {
  /** Content hash: sha256 of the model bytes (ONNX) or of URL + wire config (HTTP); the cache key. */
  readonly id: string;
  /** A human-readable name for progress lines and errors (a path or URL). */
  readonly description: string;
  /** Number of classes when known before the first prediction. */
  readonly numClasses?: number;
  readonly labels?: readonly string[];
  /** Whether samples must carry `image` bytes, `tensor`s, or either. */
  readonly accepts: 'image' | 'tensor' | 'either';
  predict(batch: readonly TeacherSample[], options?: PredictOptions): Promise<TeacherPrediction>;
  close(): Promise<void>;
}

/** Smallest probability taken as a log: keeps log(p) finite for classes a teacher rules out. */
export const MIN_PROBABILITY = 1e-7;

/** Row-wise softmax (stable). */
export function softmaxRows(values: Float32Array, classes: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < values.length / classes; r++) {
    const row = values.subarray(r * classes, (r + 1) * classes);
    let max = -Infinity;
    for (const v of row) max = Math.max(max, v);
    let z = 0;
    for (let k = 0; k < classes; k++) z += (out[r * classes + k] = Math.exp(row[k] - max));
    for (let k = 0; k < classes; k++) out[r * classes + k] /= z;
  }
  return out;
}

export function toProbabilities(p: TeacherPrediction): Float32Array {
  return p.kind === 'probabilities' ? p.values : softmaxRows(p.values, p.classes);
}

/**
 * Logits for the trainer. Probabilities become log-probabilities: softmax(log p / T) is exactly
 * p^(1/T) renormalised, the temperature-softened distribution Hinton KD wants.
 */
export function toLogits(p: TeacherPrediction): Float32Array {
  if (p.kind === 'logits') return p.values;
  return Float32Array.from(p.values, (v) => Math.log(Math.max(v, MIN_PROBABILITY)));
}

/** Checks shape and finiteness of a prediction; `expected` is the number of classes the caller needs. */
export function checkPrediction(teacherId: string, p: TeacherPrediction, rows: number, expected?: number, name?: string): void {
  if (expected !== undefined && p.classes !== expected) {
    throw new TeacherOutputError(teacherId, `output has ${p.classes} classes but the student has ${expected}`, name);
  }
  if (p.values.length !== rows * p.classes) {
    throw new TeacherOutputError(teacherId, `returned ${p.values.length} values for ${rows} samples of ${p.classes} classes`, name);
  }
  for (let i = 0; i < p.values.length; i++) {
    if (!Number.isFinite(p.values[i])) throw new TeacherOutputError(teacherId, `non-finite output ${p.values[i]} in sample ${Math.floor(i / p.classes)}`, name);
  }
}
