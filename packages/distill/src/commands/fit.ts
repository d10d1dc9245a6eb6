// What `train` (labels) and `distill` (teacher) share: resolving preprocessing and classes,
// loading store splits, training, saving, and scoring the held-out split.
import { createHash } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { concreteShape, encodeModel, modelIo, readEdgeloopMetadata, resolvePreprocessing } from '@edgeloop/compiler';
import type { Model } from '@edgeloop/compiler';
import { writeFileAtomic } from '@edgeloop/bundle';
import type { Preprocessing } from '@edgeloop/bundle';
import type { AugmentSpec } from '../augment.js';
import type { Dataset } from '../dataset.js';
import { TrainingConfigError } from '../errors.js';
import { evaluate } from '../evaluate.js';
import type { OptimizerSpec } from '../optimizers.js';
import type { EpochRecord, ProgressReporter } from '../progress.js';
import type { DatasetStore } from '../store/dataset-store.js';
import { loadStoreDataset, sampleShapeOf } from '../store/load.js';
import type { LoadedStoreData } from '../store/load.js';
import type { Split } from '../store/records.js';
import type { TrainOptions, TrainResult } from '../trainer.js';

export interface FitOptions {
  /** A dataset store, or a folder of images (class sub-folders, or flat for distillation). */
  data: string;
  /** Where the trained model is written. */
  output: string;
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  optimizer?: 'sgd' | 'adam';
  seed?: number;
  threads?: number;
  /** Image preprocessing (size, colour order, mean/std, …) over what the student or teacher model says. */
  preprocessing?: Partial<Preprocessing>;
  /** Class order (default: the teacher's labels, else the store's labels in natural order). */
  classNames?: string[];
  /** Splits trained on (default ['train']); 'val' validates, 'test' scores the result. */
  trainSplits?: Split[];
  augment?: AugmentSpec;
  /**
   * Checkpoint file: written every `checkpointEvery` epochs (default 1); when it exists at the start
   * and was written by the same configuration the run resumes from it (another configuration is
   * refused). Removed once the model is written, unless `keepCheckpoint`.
   */
  checkpoint?: string;
  checkpointEvery?: number;
  keepCheckpoint?: boolean;
  reporter?: ProgressReporter | 'console' | 'silent';
  signal?: AbortSignal;
}

export interface HeldOutScore {
  count: number;
  /** Against ground-truth labels (labelled samples only). */
  accuracy?: number;
  /** Fraction where the student's top class is the teacher's (distillation only). */
  teacherAgreement?: number;
}

export interface FitResult {
  output: string;
  student: string;
  parameters: number;
  classNames: string[];
  preprocessing: Preprocessing;
  samples: Record<Split, number>;
  /** sha256 over the sorted sha256s of the training samples (recorded in the model as provenance). */
  datasetHash: string;
  history: EpochRecord[];
  test?: HeldOutScore;
  samplesPerSecond: number;
  seconds: number;
  /** Corrupt images skipped when --data was a plain folder. */
  corrupt: number;
  /** Epochs already done in the checkpoint this run resumed from. */
  resumedFromEpoch?: number;
  /** The checkpoint file and whether it is still there (kept with `keepCheckpoint`). */
  checkpoint?: { path: string; kept: boolean };
}

export const DEFAULT_PREPROCESSING: Omit<Preprocessing, 'width' | 'height'> = {
  resize: 'stretch', colorOrder: 'RGB', layout: 'NCHW', dtype: 'float32', scale: 1 / 255, mean: [0], std: [1],
};

/** The student's preprocessing: an ONNX student's own (metadata, input shape), else `base` (e.g. the teacher's); the user's options over either. */
export function studentPreprocessing(studentModel: Model | undefined, base: Partial<Preprocessing> | undefined, given: Partial<Preprocessing> | undefined): Preprocessing {
  if (studentModel) {
    const input = modelIo(studentModel).inputs[0];
    if (!input) throw new TrainingConfigError('student model has no input');
    // The student model's own input decides the size; the teacher's preprocessing does not apply.
    const resolved = resolvePreprocessing(input, concreteShape(input.shape), readEdgeloopMetadata(studentModel).preprocessing, given);
    if (!resolved) throw new TrainingConfigError(`student input ${input.name} [${input.shape.join(', ')}] is not an image input`);
    return resolved;
  }
  const merged = { ...DEFAULT_PREPROCESSING, ...base, ...given };
  if (!merged.width || !merged.height) throw new TrainingConfigError('say the student input size (e.g. --size 28 or --size 64x48): neither the teacher nor the student model gives one');
  return merged as Preprocessing;
}

export function datasetHash(shas: readonly string[]): string {
  const hash = createHash('sha256');
  for (const sha of [...shas].sort()) hash.update(sha);
  return hash.digest('hex');
}

export function parameterCount(model: Model): number {
  return model.graph.initializers
    .filter((t) => t.dataType === 1 && !/running_(mean|var)$/.test(t.name) && t.dims.length > 0)
    .reduce((n, t) => n + t.dims.reduce((a, b) => a * b, 1), 0);
}

export function inputShapeOf(p: Preprocessing): [number, number, number] {
  if (p.layout !== 'NCHW') throw new TrainingConfigError('built-in students take NCHW input; use layout NCHW or a student .onnx');
  return sampleShapeOf(p) as [number, number, number];
}

export interface LoadedSplits {
  train: LoadedStoreData;
  val?: LoadedStoreData;
  test?: LoadedStoreData;
}

export async function loadSplits(store: DatasetStore, preprocessing: Preprocessing, classNames: string[], trainSplits: readonly Split[], labelledOnly: boolean): Promise<LoadedSplits> {
  const load = (split: Split | readonly Split[]): Promise<LoadedStoreData> => loadStoreDataset(store, { split, preprocessing, classNames, labelledOnly });
  const train = await load(trainSplits);
  if (train.dataset.count === 0) throw new TrainingConfigError(`no ${labelledOnly ? 'labelled ' : ''}samples in split ${trainSplits.join('+')} of ${store.dir}`);
  const rest = (['val', 'test'] as const).filter((s) => !trainSplits.includes(s));
  const out: LoadedSplits = { train };
  for (const split of rest) {
    const loaded = await load(split);
    if (loaded.dataset.count > 0) out[split] = loaded;
  }
  return out;
}

export function optimizerSpec(kind: 'sgd' | 'adam' | undefined): OptimizerSpec {
  return kind === 'adam' ? { kind: 'adam' } : { kind: 'sgd', momentum: 0.9, nesterov: true, weightDecay: 5e-4 };
}

function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let k = 1; k < row.length; k++) if (row[k] > row[best]) best = k;
  return best;
}

/** Top class per row. */
export function argmaxRows(values: Float32Array, classes: number): Int32Array {
  const out = new Int32Array(values.length / classes);
  for (let i = 0; i < out.length; i++) out[i] = argmax(values.subarray(i * classes, (i + 1) * classes));
  return out;
}

/** Scores the trained model on a held-out split: accuracy on labelled samples, agreement with the teacher. */
export async function scoreHeldOut(model: Model, data: LoadedStoreData, teacherTop?: Int32Array): Promise<HeldOutScore> {
  const { logits, classes } = await evaluate(model, { ...data.dataset, labels: undefined });
  const predicted = argmaxRows(logits, classes);
  let labelled = 0;
  let correct = 0;
  let agree = 0;
  for (let i = 0; i < predicted.length; i++) {
    if (data.labelIndices[i] >= 0) {
      labelled++;
      if (predicted[i] === data.labelIndices[i]) correct++;
    }
    if (teacherTop && predicted[i] === teacherTop[i]) agree++;
  }
  return {
    count: predicted.length,
    ...(labelled > 0 ? { accuracy: correct / labelled } : {}),
    ...(teacherTop ? { teacherAgreement: agree / predicted.length } : {}),
  };
}

/** The batch size actually used: the requested one, but never more than the training samples. */
export function fitBatch(requested: number | undefined, count: number): number {
  return Math.max(1, Math.min(requested ?? 64, count));
}

export async function finishFit(
  result: TrainResult,
  options: FitOptions,
  context: { student: string; classNames: string[]; preprocessing: Preprocessing; splits: LoadedSplits; test?: HeldOutScore; corrupt: number; datasetHash: string },
): Promise<FitResult> {
  // Atomic (temp file, rename): a kill leaves the previous model or the new one, and the
  // checkpoint is removed only once the new one is in place.
  await writeFileAtomic(options.output, encodeModel(result.model));
  let checkpoint: FitResult['checkpoint'];
  if (options.checkpoint) {
    const kept = options.keepCheckpoint === true;
    if (!kept) await removeCheckpoint(options.checkpoint);
    checkpoint = { path: options.checkpoint, kept };
  }
  const count = (d?: { dataset: Dataset }): number => d?.dataset.count ?? 0;
  return {
    output: options.output,
    student: context.student,
    parameters: parameterCount(result.model),
    classNames: context.classNames,
    preprocessing: context.preprocessing,
    samples: { train: count(context.splits.train), val: count(context.splits.val), test: count(context.splits.test) },
    datasetHash: context.datasetHash,
    history: result.history,
    ...(context.test ? { test: context.test } : {}),
    samplesPerSecond: result.samplesPerSecond,
    seconds: result.history.reduce((s, h) => s + h.seconds, 0),
    corrupt: context.corrupt,
    ...(result.resumedFromEpoch !== undefined ? { resumedFromEpoch: result.resumedFromEpoch } : {}),
    ...(checkpoint ? { checkpoint } : {}),
  };
}

/** The trainer's checkpoint options for a command run (undefined without `checkpoint`). */
export function checkpointOptions(options: FitOptions, config: Record<string, unknown>): TrainOptions['checkpoint'] {
  if (!options.checkpoint) return undefined;
  const every = options.checkpointEvery ?? 1;
  if (!(every >= 1) || !Number.isInteger(every)) throw new TrainingConfigError(`checkpoint every ${every} epochs: must be a positive integer`);
  return { path: options.checkpoint, everyEpochs: every, config };
}

/** Deletes a finished run's checkpoint and any temp file a killed write left beside it. */
async function removeCheckpoint(path: string): Promise<void> {
  await rm(path, { force: true });
  const prefix = `.${basename(path)}.tmp-`;
  const names = await readdir(dirname(path)).catch(() => [] as string[]);
  await Promise.all(names.filter((n) => n.startsWith(prefix)).map((n) => rm(join(dirname(path), n), { force: true })));
}
