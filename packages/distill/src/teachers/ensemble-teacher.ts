// Several teachers as one: the weighted average of their probabilities (logits are softmaxed
// first). An ensemble usually labels better than its best member, and averaging probabilities
// rather than logits keeps one over-confident member from dominating.
import { createHash } from 'node:crypto';
import { TeacherError, TeacherOutputError } from '../errors.js';
import type { PredictOptions, Teacher, TeacherPrediction, TeacherSample } from './teacher.js';
import { toProbabilities } from './teacher.js';

export interface EnsembleMember {
  teacher: Teacher;
  /** Relative weight (default 1); weights are normalised to sum to 1. */
  weight?: number;
}

export class EnsembleTeacher implements Teacher {
  readonly id: string;
  readonly description: string;
  readonly numClasses?: number;
  readonly labels?: readonly string[];
  readonly accepts: 'image' | 'tensor' | 'either';
  readonly members: readonly { teacher: Teacher; weight: number }[];

  constructor(members: readonly EnsembleMember[]) {
    if (members.length === 0) throw new TeacherError('an ensemble needs at least one teacher');
    const raw = members.map((m) => m.weight ?? 1);
    if (raw.some((w) => !(w >= 0)) || !(raw.reduce((a, b) => a + b, 0) > 0)) throw new TeacherError(`ensemble weights [${raw.join(', ')}] must be non-negative with a positive sum`);
    const total = raw.reduce((a, b) => a + b, 0);
    this.members = members.map((m, i) => ({ teacher: m.teacher, weight: raw[i] / total }));
    const known = new Set(members.map((m) => m.teacher.numClasses).filter((n): n is number => n !== undefined));
    if (known.size > 1) throw new TeacherOutputError('ensemble', `members disagree on the number of classes (${[...known].join(', ')})`);
    this.numClasses = [...known][0];
    this.labels = members.find((m) => m.teacher.labels)?.teacher.labels;
    const accepts = new Set(members.map((m) => m.teacher.accepts));
    this.accepts = accepts.has('image') ? 'image' : accepts.has('tensor') ? 'tensor' : 'either';
    if (accepts.has('image') && accepts.has('tensor')) throw new TeacherError('ensemble mixes teachers that take only images with teachers that take only tensors');
    const hash = createHash('sha256').update('ensemble');
    this.members.forEach((m) => hash.update(`${m.teacher.id}:${m.weight}`));
    this.id = hash.digest('hex');
    this.description = `ensemble(${this.members.map((m) => `${m.teacher.description}×${m.weight.toFixed(3)}`).join(', ')})`;
  }

  async predict(batch: readonly TeacherSample[], options: PredictOptions = {}): Promise<TeacherPrediction> {
    let sum: Float32Array | undefined;
    let classes = 0;
    for (const { teacher, weight } of this.members) {
      const p = await teacher.predict(batch, options);
      if (sum === undefined) {
        classes = p.classes;
        sum = new Float32Array(batch.length * classes);
      } else if (p.classes !== classes) {
        throw new TeacherOutputError(teacher.id, `returns ${p.classes} classes, the other ensemble members ${classes}`, teacher.description);
      }
      const probabilities = toProbabilities(p);
      for (let i = 0; i < sum.length; i++) sum[i] += weight * probabilities[i];
    }
    return { kind: 'probabilities', classes, values: sum ?? new Float32Array(0) };
  }

  async close(): Promise<void> {
    for (const m of this.members) await m.teacher.close();
  }
}
