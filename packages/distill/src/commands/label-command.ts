// `edgeloop label`: run a teacher over a store and cache its outputs (the expensive part of
// distillation, done once); optionally write the teacher's top class as the label of samples
// that have none (e.g. field samples coming home).
import { join } from 'node:path';
import { TeacherOutputError } from '../errors.js';
import { DatasetStore } from '../store/dataset-store.js';
import { mapLimit } from '../store/images.js';
import type { Split } from '../store/records.js';
import { HttpTeacher } from '../teachers/http-teacher.js';
import { openTeacher } from '../teachers/open.js';
import type { OpenTeacherOptions } from '../teachers/open.js';
import type { Teacher } from '../teachers/teacher.js';
import { labelWithProgress, reporterOf } from './distill-command.js';
import type { FitOptions } from './fit.js';
import { argmaxRows } from './fit.js';

export interface LabelCommandOptions {
  teacher: string | string[] | Teacher;
  teacherOptions?: OpenTeacherOptions;
  /** A dataset store. */
  data: string;
  split?: Split;
  /** Default <store>/cache. */
  cacheDir?: string;
  batchSize?: number;
  /** Class names in the teacher's output order (default the teacher's labels). */
  classNames?: string[];
  /** Write the teacher's top class as the label of unlabeled samples. */
  assignLabels?: boolean;
  threads?: number;
  reporter?: FitOptions['reporter'];
  signal?: AbortSignal;
}

export interface LabelCommandResult {
  store: string;
  teacher: { id: string; description: string; requests?: number };
  samples: number;
  classes: number;
  fromCache: number;
  predicted: number;
  cacheDir: string;
  /** Unlabeled samples given the teacher's top class (with assignLabels). */
  assigned: number;
  /** Labelled samples where the teacher's top class is the label (when class names are known). */
  agreement?: number;
  /** Per class, how many samples the teacher put there. */
  predictedClasses: Record<string, number>;
}

export async function labelCommand(options: LabelCommandOptions): Promise<LabelCommandResult> {
  const reporter = reporterOf(options.reporter);
  const store = await DatasetStore.open(options.data);
  const teacher = typeof options.teacher === 'object' && !Array.isArray(options.teacher)
    ? options.teacher
    : await openTeacher(options.teacher, { threads: options.threads, ...options.teacherOptions });
  try {
    const records = store.records({ split: options.split });
    const samples = await mapLimit(records, 16, async (r) => ({ image: await store.readBlob(r.sha256), sha256: r.sha256 }));
    const classNames = options.classNames ?? (teacher.labels ? [...teacher.labels] : undefined);
    const cacheDir = options.cacheDir ?? join(store.dir, 'cache');
    const result = await labelWithProgress(teacher, samples, { cacheDir, expectedClasses: classNames?.length, batchSize: options.batchSize, reporter, signal: options.signal });
    const top = argmaxRows(result.logits, result.classes || 1);
    const nameOf = (k: number): string => classNames?.[k] ?? String(k);
    const predictedClasses: Record<string, number> = {};
    for (const k of top) predictedClasses[nameOf(k)] = (predictedClasses[nameOf(k)] ?? 0) + 1;
    let agreeing = 0;
    let labelled = 0;
    const assign = new Map<string, string>();
    records.forEach((r, i) => {
      if (r.label !== undefined && classNames) {
        labelled++;
        if (nameOf(top[i]) === r.label) agreeing++;
      } else if (r.label === undefined && options.assignLabels) {
        assign.set(r.sha256, nameOf(top[i]));
      }
    });
    if (options.assignLabels && !classNames) throw new TeacherOutputError(teacher.id, 'has no class names; pass --labels to assign labels', teacher.description);
    if (assign.size > 0) await store.setLabels(assign);
    return {
      store: store.dir,
      teacher: { id: teacher.id, description: teacher.description, ...(teacher instanceof HttpTeacher ? { requests: teacher.requestCount } : {}) },
      samples: records.length,
      classes: result.classes,
      fromCache: result.fromCache,
      predicted: result.predicted,
      cacheDir,
      assigned: assign.size,
      ...(labelled > 0 ? { agreement: agreeing / labelled } : {}),
      predictedClasses,
    };
  } finally {
    if (teacher !== options.teacher) await teacher.close();
  }
}
