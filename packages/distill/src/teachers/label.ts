// Labelling a set of samples with a teacher: cached rows are read, the rest predicted in batches,
// and each finished batch is written to the cache before the next starts.
import { TeacherOutputError } from '../errors.js';
import { LabelCache, sampleKey } from './label-cache.js';
import type { Teacher, TeacherSample } from './teacher.js';
import { checkPrediction, toLogits } from './teacher.js';

export interface LabelOptions {
  /** Folder of the on-disk cache; without it every sample is predicted. */
  cacheDir?: string;
  /** Samples per teacher call (default 32); a failure loses at most the batch in progress. */
  batchSize?: number;
  /** Classes the student has: a teacher with another output size fails with TeacherOutputError. */
  expectedClasses?: number;
  signal?: AbortSignal;
  onProgress?(progress: { done: number; total: number; fromCache: number }): void;
}

export interface LabelResult {
  /** count * classes logits (probabilities are stored as log-probabilities), in sample order. */
  logits: Float32Array;
  classes: number;
  count: number;
  /** Rows read from the cache. */
  fromCache: number;
  /** Rows the teacher computed in this call. */
  predicted: number;
  teacherId: string;
}

function rowLogits(kind: 'logits' | 'probabilities', values: ArrayLike<number>): Float32Array {
  const v = Float32Array.from(values);
  return toLogits({ kind, classes: v.length, values: v });
}

export async function labelSamples(teacher: Teacher, samples: readonly TeacherSample[], options: LabelOptions = {}): Promise<LabelResult> {
  const cache = options.cacheDir ? new LabelCache(options.cacheDir) : undefined;
  const keys = samples.map(sampleKey);
  const rows: (Float32Array | undefined)[] = new Array<Float32Array | undefined>(samples.length);
  let classes = options.expectedClasses ?? teacher.numClasses;
  const fits = (width: number): void => {
    if (classes === undefined) classes = width;
    else if (width !== classes) {
      throw new TeacherOutputError(teacher.id, `outputs ${width} classes but ${options.expectedClasses !== undefined ? 'the student has' : 'it declares'} ${classes}`, teacher.description);
    }
  };
  if (options.expectedClasses !== undefined && teacher.numClasses !== undefined && teacher.numClasses !== options.expectedClasses) {
    throw new TeacherOutputError(teacher.id, `outputs ${teacher.numClasses} classes but the student has ${options.expectedClasses}`, teacher.description);
  }
  let fromCache = 0;
  const missing: number[] = [];
  for (let i = 0; i < samples.length; i++) {
    const hit = await cache?.get(teacher.id, keys[i]);
    if (hit) {
      fits(hit.values.length);
      rows[i] = rowLogits(hit.kind, hit.values);
      fromCache++;
    } else {
      missing.push(i);
    }
  }
  const batchSize = Math.max(1, options.batchSize ?? 32);
  let done = fromCache;
  options.onProgress?.({ done, total: samples.length, fromCache });
  for (let start = 0; start < missing.length; start += batchSize) {
    if (options.signal?.aborted) throw options.signal.reason ?? new Error('aborted');
    const indices = missing.slice(start, start + batchSize);
    const prediction = await teacher.predict(indices.map((i) => samples[i]), { signal: options.signal });
    fits(prediction.classes);
    checkPrediction(teacher.id, prediction, indices.length, classes, teacher.description);
    for (let k = 0; k < indices.length; k++) {
      const values = prediction.values.subarray(k * prediction.classes, (k + 1) * prediction.classes);
      rows[indices[k]] = rowLogits(prediction.kind, values);
      await cache?.set(teacher.id, keys[indices[k]], { kind: prediction.kind, values: Array.from(values) });
    }
    done += indices.length;
    options.onProgress?.({ done, total: samples.length, fromCache });
  }
  const width = classes ?? 0;
  const logits = new Float32Array(samples.length * width);
  rows.forEach((row, i) => logits.set(row as Float32Array, i * width));
  return { logits, classes: width, count: samples.length, fromCache, predicted: missing.length, teacherId: teacher.id };
}
