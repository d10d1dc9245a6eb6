// `edgeloop distill`: label a store (or folder) with a teacher (ONNX model, HTTP service or an
// ensemble; outputs cached by teacher id and sample sha256), then train a student on the soft
// labels with Hinton KD. Samples without a ground-truth label take the teacher's top class as
// their hard label (the (1 - alpha) term).
import { join } from 'node:path';
import { TeacherOutputError, TrainingConfigError } from '../errors.js';
import type { ProgressReporter } from '../progress.js';
import { consoleReporter, silentReporter } from '../progress.js';
import { HttpTeacher } from '../teachers/http-teacher.js';
import { labelSamples } from '../teachers/label.js';
import type { LabelResult } from '../teachers/label.js';
import { OnnxTeacher } from '../teachers/onnx-teacher.js';
import { openTeacher } from '../teachers/open.js';
import type { OpenTeacherOptions } from '../teachers/open.js';
import type { Teacher, TeacherSample } from '../teachers/teacher.js';
import { train } from '../trainer.js';
import { openDataSource } from './data-source.js';
import { argmaxRows, checkpointOptions, datasetHash, finishFit, fitBatch, inputShapeOf, loadSplits, optimizerSpec, scoreHeldOut, studentPreprocessing } from './fit.js';
import type { FitOptions, FitResult } from './fit.js';
import { resolveStudent } from './student.js';

export interface DistillCommandOptions extends FitOptions {
  /** Model path(s) or http(s) URL(s); several make an ensemble. Or an opened Teacher. */
  teacher: string | string[] | Teacher;
  teacherOptions?: OpenTeacherOptions;
  /** 'conv' | 'conv-small' | 'mobilenet' | path/to/student.onnx (default 'conv'). */
  student?: string;
  temperature?: number;
  alpha?: number;
  /** Teacher output cache (default <store>/cache for a store; none for a plain folder). */
  cacheDir?: string;
  /** Samples per teacher call (default 32). */
  labelBatchSize?: number;
}

export interface TeacherSummary {
  id: string;
  description: string;
  classes: number;
  fromCache: number;
  predicted: number;
  /** HTTP requests sent (HTTP teachers only; retries included). */
  requests?: number;
}

export interface DistillCommandResult extends FitResult {
  teacher: TeacherSummary;
  temperature: number;
  alpha: number;
}

export function reporterOf(reporter: FitOptions['reporter']): ProgressReporter {
  return reporter === 'silent' ? silentReporter : reporter === 'console' || reporter === undefined ? consoleReporter() : reporter;
}

/** Labels every sample with progress lines; the cache makes a second run free. */
export async function labelWithProgress(teacher: Teacher, samples: TeacherSample[], options: { cacheDir?: string; expectedClasses?: number; batchSize?: number; reporter: ProgressReporter; signal?: AbortSignal }): Promise<LabelResult> {
  let lastLine = 0;
  const result = await labelSamples(teacher, samples, {
    cacheDir: options.cacheDir,
    expectedClasses: options.expectedClasses,
    batchSize: options.batchSize,
    signal: options.signal,
    onProgress: ({ done, total, fromCache }) => {
      const now = Date.now();
      if (done < total && now - lastLine < 2000) return;
      lastLine = now;
      options.reporter.message?.(`labelling with ${teacher.description}: ${done}/${total} (${fromCache} cached)`);
    },
  });
  return result;
}

export async function distillCommand(options: DistillCommandOptions): Promise<DistillCommandResult> {
  const reporter = reporterOf(options.reporter);
  const source = await openDataSource(options.data);
  const teacher = typeof options.teacher === 'object' && !Array.isArray(options.teacher)
    ? options.teacher
    : await openTeacher(options.teacher, { threads: options.threads, ...options.teacherOptions });
  const ownsTeacher = teacher !== options.teacher;
  try {
    const { store } = source;
    const classNames = options.classNames ?? (teacher.labels ? [...teacher.labels] : store.labels());
    const classes = classNames.length > 0 ? classNames.length : teacher.numClasses;
    if (!classes || classes < 2) throw new TrainingConfigError('cannot tell the number of classes: the teacher has no labels and the data none; pass --labels');
    // Before any data is read: a teacher that cannot fit the student fails by name at once.
    if (teacher.numClasses !== undefined && teacher.numClasses !== classes) {
      throw new TeacherOutputError(teacher.id, `outputs ${teacher.numClasses} classes but the student has ${classes}`, teacher.description);
    }
    const studentSpec = options.student ?? 'conv';
    const fileStudent = /\.onnx$/i.test(studentSpec) ? await resolveStudent(studentSpec, { inputShape: [1, 1, 1], classes }) : undefined;
    const teacherPre = teacher instanceof OnnxTeacher ? teacher.preprocessing : undefined;
    const preprocessing = studentPreprocessing(fileStudent, teacherPre, options.preprocessing);
    const model = fileStudent ?? (await resolveStudent(studentSpec, { inputShape: inputShapeOf(preprocessing), classes, seed: options.seed }));
    const splits = await loadSplits(store, preprocessing, classNames, options.trainSplits ?? ['train'], false);
    const cacheDir = options.cacheDir ?? (source.temporary ? undefined : join(store.dir, 'cache'));
    const loaded = [splits.train, splits.val, splits.test].filter((s) => s !== undefined);
    const all = loaded.flatMap((s) => s.samples);
    const labelled = await labelWithProgress(teacher, all, { cacheDir, expectedClasses: classes, batchSize: options.labelBatchSize, reporter, signal: options.signal });
    reporter.message?.(`teacher ${teacher.description}: ${labelled.predicted} predicted, ${labelled.fromCache} from cache`);
    // Rows of `labelled.logits` follow `all`: train, then val, then test.
    let offset = 0;
    const teacherRows = loaded.map((s) => {
      const rows = labelled.logits.subarray(offset * classes, (offset + s.dataset.count) * classes);
      offset += s.dataset.count;
      return rows;
    });
    const hardLabels = (s: typeof splits.train, rows: Float32Array): Int32Array => {
      const top = argmaxRows(rows, classes);
      return Int32Array.from(s.labelIndices, (l, i) => (l >= 0 ? l : top[i]));
    };
    const trainRows = teacherRows[0];
    const temperature = options.temperature ?? 4;
    const alpha = options.alpha ?? 0.9;
    const hash = datasetHash(splits.train.records.map((r) => r.sha256));
    const valIndex = splits.val ? 1 : -1;
    const result = await train(model, {
      train: { ...splits.train.dataset, labels: hardLabels(splits.train, trainRows), teacherLogits: Float32Array.from(trainRows) },
      validation: splits.val ? { ...splits.val.dataset, labels: hardLabels(splits.val, teacherRows[valIndex]) } : undefined,
      epochs: options.epochs ?? 10,
      batchSize: fitBatch(options.batchSize, splits.train.dataset.count),
      learningRate: options.learningRate ?? (options.optimizer === 'adam' ? 1e-3 : 0.05),
      optimizer: optimizerSpec(options.optimizer),
      schedule: { kind: 'cosine', warmupEpochs: 0.5 },
      loss: { kind: 'distillation', temperature, alpha },
      seed: options.seed ?? 1,
      threads: options.threads,
      augment: options.augment,
      checkpoint: checkpointOptions(options, { command: 'distill', student: studentSpec, teacher: teacher.id, dataset: hash, classNames }),
      reporter,
      signal: options.signal,
      metadata: {
        preprocessing, labels: classNames.length > 0 ? classNames : undefined, task: 'classification',
        extra: { 'edgeloop.teacher': teacher.id, 'edgeloop.dataset': hash, 'edgeloop.distillation': JSON.stringify({ temperature, alpha }) },
      },
    });
    const test = splits.test ? await scoreHeldOut(result.model, splits.test, argmaxRows(teacherRows[loaded.length - 1], classes)) : undefined;
    const fit = await finishFit(result, options, {
      student: studentSpec, classNames, preprocessing, splits, test, corrupt: source.imported?.corrupt.length ?? 0, datasetHash: hash,
    });
    return {
      ...fit,
      teacher: {
        id: teacher.id, description: teacher.description, classes, fromCache: labelled.fromCache, predicted: labelled.predicted,
        ...(teacher instanceof HttpTeacher ? { requests: teacher.requestCount } : {}),
      },
      temperature,
      alpha,
    };
  } finally {
    if (ownsTeacher) await teacher.close();
    await source.close();
  }
}
