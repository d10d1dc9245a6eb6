// A teacher from what a user types: a model path, an http(s) URL, or several of them (an ensemble).
import type { Preprocessing } from '@edgeloop/bundle';
import { TeacherError } from '../errors.js';
import { EnsembleTeacher } from './ensemble-teacher.js';
import { HttpTeacher } from './http-teacher.js';
import type { HttpTeacherOptions } from './http-teacher.js';
import { OnnxTeacher } from './onnx-teacher.js';
import type { Teacher } from './teacher.js';

export interface OpenTeacherOptions {
  /** For ONNX teachers: preprocessing override; for HTTP teachers, unused. */
  preprocessing?: Partial<Preprocessing>;
  /** For HTTP teachers: wire format, limits, retries. */
  http?: Omit<HttpTeacherOptions, 'url'>;
  /** Ensemble weights, one per spec (default equal). */
  weights?: number[];
  threads?: number;
  batchSize?: number;
}

export function isTeacherUrl(spec: string): boolean {
  return /^https?:\/\//i.test(spec);
}

/** One spec opens that teacher; several open an ensemble of them. */
export async function openTeacher(specs: string | readonly string[], options: OpenTeacherOptions = {}): Promise<Teacher> {
  const list = typeof specs === 'string' ? [specs] : [...specs];
  const opened: Teacher[] = [];
  try {
    for (const spec of list) {
      if (!isTeacherUrl(spec) && /^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) throw new TeacherError(`teacher ${spec}: only http(s) URLs and .onnx files are teachers`);
      opened.push(
        isTeacherUrl(spec)
          ? new HttpTeacher({ ...options.http, url: spec })
          : await OnnxTeacher.open(spec, { preprocessing: options.preprocessing, threads: options.threads, batchSize: options.batchSize }),
      );
    }
    if (opened.length === 1) return opened[0];
    return new EnsembleTeacher(opened.map((teacher, i) => ({ teacher, weight: options.weights?.[i] })));
  } catch (error) {
    for (const t of opened) await t.close();
    throw error;
  }
}
