// In-memory datasets of float32 samples (NCHW images or any fixed-shape tensor) with optional
// class labels, cached teacher logits (soft labels) and regression targets.
import { TrainingConfigError } from './errors.js';
import { Rng } from './random.js';

export interface Dataset {
  /** Samples back to back: count * prod(sampleShape) floats. */
  inputs: Float32Array;
  /** Shape of one sample, e.g. [1, 28, 28]. */
  sampleShape: number[];
  count: number;
  /** Class index per sample. */
  labels?: Int32Array;
  /** Teacher logits per sample (count * classes), for distillation. */
  teacherLogits?: Float32Array;
  /** Regression targets per sample (count * targetSize), for MSE. */
  targets?: Float32Array;
}

export function sampleSize(ds: Pick<Dataset, 'sampleShape'>): number {
  return ds.sampleShape.reduce((a, b) => a * b, 1);
}

/** Checks that every array has `count` rows; returns the per-row widths. */
export function validateDataset(ds: Dataset): { teacherWidth: number; targetWidth: number } {
  const size = sampleSize(ds);
  if (ds.inputs.length !== ds.count * size) {
    throw new TrainingConfigError(`dataset: ${ds.inputs.length} input floats for ${ds.count} samples of [${ds.sampleShape.join(', ')}]`);
  }
  if (ds.labels && ds.labels.length !== ds.count) throw new TrainingConfigError(`dataset: ${ds.labels.length} labels for ${ds.count} samples`);
  const width = (a: Float32Array | undefined, what: string): number => {
    if (!a) return 0;
    if (a.length % ds.count !== 0) throw new TrainingConfigError(`dataset: ${what} length ${a.length} is not a multiple of ${ds.count}`);
    return a.length / ds.count;
  };
  return { teacherWidth: width(ds.teacherLogits, 'teacherLogits'), targetWidth: width(ds.targets, 'targets') };
}

/** The samples at `indices`, copied, in that order. */
export function subset(ds: Dataset, indices: ArrayLike<number>): Dataset {
  const size = sampleSize(ds);
  const { teacherWidth, targetWidth } = validateDataset(ds);
  const n = indices.length;
  const inputs = new Float32Array(n * size);
  const labels = ds.labels ? new Int32Array(n) : undefined;
  const teacher = ds.teacherLogits ? new Float32Array(n * teacherWidth) : undefined;
  const targets = ds.targets ? new Float32Array(n * targetWidth) : undefined;
  for (let k = 0; k < n; k++) {
    const i = indices[k];
    inputs.set(ds.inputs.subarray(i * size, (i + 1) * size), k * size);
    if (labels && ds.labels) labels[k] = ds.labels[i];
    if (teacher && ds.teacherLogits) teacher.set(ds.teacherLogits.subarray(i * teacherWidth, (i + 1) * teacherWidth), k * teacherWidth);
    if (targets && ds.targets) targets.set(ds.targets.subarray(i * targetWidth, (i + 1) * targetWidth), k * targetWidth);
  }
  return { inputs, sampleShape: [...ds.sampleShape], count: n, labels, teacherLogits: teacher, targets };
}

/** A seeded shuffle split into [first `firstCount` samples, the rest]. */
export function splitDataset(ds: Dataset, firstCount: number, seed: number): [Dataset, Dataset] {
  if (firstCount < 0 || firstCount > ds.count) throw new TrainingConfigError(`dataset: cannot split ${firstCount} of ${ds.count}`);
  const order = new Rng(seed).shuffle(Int32Array.from({ length: ds.count }, (_, i) => i));
  return [subset(ds, order.subarray(0, firstCount)), subset(ds, order.subarray(firstCount))];
}
