// Built-in losses appended to a forward graph before differentiation. Every loss is a mean over
// the batch, written with ops that have gradient rules, so the builder differentiates it like any
// other part of the graph.
import { DataType } from '../ir/data-type.js';
import type { Emitter } from './emitter.js';
import { GradientGraphError } from './errors.js';
import type { StaticInfo } from './static-shapes.js';

/** How class labels are fed: int64 class indices [N], or float one-hot / probability rows [N, K]. */
export type LabelFormat = 'index' | 'onehot';

export type LossSpec =
  | { kind: 'softmaxCrossEntropy'; logits: string; labels?: LabelFormat; labelInput?: string }
  | {
      /** Hinton KD: alpha * T^2 * KL(softmax(t/T) || softmax(s/T)) + (1 - alpha) * CE(labels, s). */
      kind: 'distillation';
      logits: string;
      temperature: number;
      alpha: number;
      teacherInput?: string;
      labels?: LabelFormat;
      labelInput?: string;
    }
  | { kind: 'mse'; output: string; targetInput?: string };

export interface LossInput {
  name: string;
  elemType: number;
  shape: number[];
}

export interface AppendedLoss {
  loss: string;
  /** Graph inputs the loss reads (labels, teacher logits, targets). */
  inputs: LossInput[];
  /** Named loss terms (e.g. 'ce', 'kd') -> value names, for logging. */
  terms: Record<string, string>;
}

export const LOSS_OUTPUT = 'loss';

function logitsInfo(shapes: Map<string, StaticInfo>, name: string): StaticInfo {
  const info = shapes.get(name);
  if (!info) throw new GradientGraphError(`loss: value '${name}' is not in the graph`);
  if (info.shape.length !== 2) throw new GradientGraphError(`loss: logits '${name}' must be [batch, classes], got [${info.shape.join(', ')}]`);
  return info;
}

function crossEntropy(e: Emitter, logits: string, info: StaticInfo, format: LabelFormat, labelInput: string, inputs: LossInput[]): string {
  const [batch, classes] = info.shape;
  let target: string;
  if (format === 'index') {
    inputs.push({ name: labelInput, elemType: DataType.INT64, shape: [batch] });
    const range = e.int64(Array.from({ length: classes }, (_, i) => i), [1, classes]);
    target = e.op('Cast', [e.op('Equal', [e.unsqueeze(labelInput, [1]), range])], { to: info.elemType });
  } else {
    inputs.push({ name: labelInput, elemType: info.elemType, shape: [batch, classes] });
    target = labelInput;
  }
  const logProbs = e.op('LogSoftmax', [logits], { axis: 1 });
  return e.mulScalar(e.reduceSum(e.op('Mul', [target, logProbs]), [0, 1], false), -1 / batch);
}

/** Appends the loss nodes to `e` (the final value is named LOSS_OUTPUT). */
export function appendLoss(e: Emitter, spec: LossSpec, shapes: Map<string, StaticInfo>): AppendedLoss {
  const inputs: LossInput[] = [];
  const terms: Record<string, string> = {};
  let value: string;
  if (spec.kind === 'softmaxCrossEntropy') {
    const info = logitsInfo(shapes, spec.logits);
    value = crossEntropy(e, spec.logits, info, spec.labels ?? 'index', spec.labelInput ?? 'labels', inputs);
    terms.ce = value;
  } else if (spec.kind === 'distillation') {
    const info = logitsInfo(shapes, spec.logits);
    const { temperature: t, alpha } = spec;
    if (!(t > 0) || !(alpha >= 0 && alpha <= 1)) throw new GradientGraphError('loss: distillation needs temperature > 0 and 0 <= alpha <= 1');
    const teacher = spec.teacherInput ?? 'teacher_logits';
    inputs.push({ name: teacher, elemType: info.elemType, shape: [...info.shape] });
    const teacherT = e.mulScalar(teacher, 1 / t);
    const studentT = e.mulScalar(spec.logits, 1 / t);
    const p = e.op('Softmax', [teacherT], { axis: 1 });
    const logRatio = e.op('Sub', [e.op('LogSoftmax', [teacherT], { axis: 1 }), e.op('LogSoftmax', [studentT], { axis: 1 })]);
    const kl = e.mulScalar(e.reduceSum(e.op('Mul', [p, logRatio]), [0, 1], false), 1 / info.shape[0]);
    terms.kd = kl;
    value = e.mulScalar(kl, alpha * t * t);
    if (alpha < 1) {
      const ce = crossEntropy(e, spec.logits, info, spec.labels ?? 'index', spec.labelInput ?? 'labels', inputs);
      terms.ce = ce;
      value = e.op('Add', [value, e.mulScalar(ce, 1 - alpha)]);
    }
  } else {
    const info = shapes.get(spec.output);
    if (!info) throw new GradientGraphError(`loss: value '${spec.output}' is not in the graph`);
    const target = spec.targetInput ?? 'target';
    inputs.push({ name: target, elemType: info.elemType, shape: [...info.shape] });
    const diff = e.op('Sub', [spec.output, target]);
    const count = info.shape.reduce((a, b) => a * b, 1);
    const axes = info.shape.map((_, i) => i);
    value = e.mulScalar(e.reduceSum(e.op('Mul', [diff, diff]), axes, false), 1 / count);
    terms.mse = value;
  }
  e.opInto(LOSS_OUTPUT, 'Identity', [value]);
  return { loss: LOSS_OUTPUT, inputs, terms };
}
