// Model outputs -> what the application wants, per the manifest's task: ranked classes with the
// uncertainty signals, YOLO detections in source pixels, or the raw tensors. The plan (which
// output, which decoder, which thresholds) is made once per bundle; each frame only executes it.

import type { Manifest } from '@edgeloop/bundle';

import type { RuntimeTensor } from './backend.js';
import { UnsupportedModelError } from './errors.js';
import { classify, type Classification } from './postprocess/classification.js';
import { decodeYolo, type Detection } from './postprocess/detection.js';
import type { ImageTransform } from './preprocess.js';

export type Prediction =
  | {
      task: 'classification';
      /** Top-1 class. */
      classIndex: number;
      label?: string;
      score: number;
      classification: Classification;
    }
  | { task: 'detection'; detections: Detection[] }
  | { task: 'raw' };

export interface PostprocessPlanOptions {
  /** Classes kept in `classification.top` (default 5). */
  topK?: number;
}

export type PostprocessPlan =
  | { task: 'classification'; output: string; outputKind: 'logits' | 'probabilities' | 'auto'; labels: readonly string[]; topK: number }
  | {
      task: 'detection';
      output: string;
      layout: 'v5' | 'v8';
      confidenceThreshold: number;
      iouThreshold: number;
      labels: readonly string[];
    }
  | { task: 'raw' };

/** Decides how to read this bundle's outputs; throws UnsupportedModelError when the manifest does not say enough. */
export function planPostprocess(manifest: Manifest, options: PostprocessPlanOptions = {}): PostprocessPlan {
  const outputs = manifest.model.outputs;
  if (manifest.task === 'classification') {
    const chosen = outputs.find((o) => o.postprocessing?.format === 'logits' || o.postprocessing?.format === 'probabilities') ?? outputs[0];
    const format = chosen.postprocessing?.format;
    return {
      task: 'classification',
      output: chosen.name,
      outputKind: format === 'logits' || format === 'probabilities' ? format : 'auto',
      labels: manifest.labels,
      topK: options.topK ?? 5,
    };
  }
  if (manifest.task === 'detection') {
    const chosen = outputs.find((o) => o.postprocessing?.format === 'yolov5' || o.postprocessing?.format === 'yolov8');
    if (chosen === undefined) {
      throw new UnsupportedModelError(`detection bundle ${manifest.name} names no output with postprocessing.format yolov5 or yolov8`);
    }
    const post = chosen.postprocessing ?? {};
    return {
      task: 'detection',
      output: chosen.name,
      layout: post.format === 'yolov5' ? 'v5' : 'v8',
      confidenceThreshold: post.confThreshold ?? 0.25,
      iouThreshold: post.iouThreshold ?? 0.45,
      labels: manifest.labels,
    };
  }
  return { task: 'raw' };
}

export function predict(plan: PostprocessPlan, outputs: Readonly<Record<string, RuntimeTensor>>, transform: ImageTransform): Prediction {
  if (plan.task === 'raw') return { task: 'raw' };
  const tensor = outputs[plan.output];
  if (tensor === undefined) throw new UnsupportedModelError(`the model produced no output '${plan.output}'`);
  if (plan.task === 'detection') {
    const detections = decodeYolo(tensor, {
      layout: plan.layout,
      confidenceThreshold: plan.confidenceThreshold,
      iouThreshold: plan.iouThreshold,
      labels: plan.labels,
      transform,
    });
    return { task: 'detection', detections };
  }
  const classification = classify(tensor, { labels: plan.labels, topK: plan.topK, outputKind: plan.outputKind });
  const best = classification.top[0];
  const prediction: Prediction = { task: 'classification', classIndex: best.index, score: best.score, classification };
  if (best.label !== undefined) prediction.label = best.label;
  return prediction;
}

/** The uncertainty signals the field sampler reads, or undefined when the prediction has none (raw task, no detections). */
export interface Uncertainty {
  /** Top-1 probability (classification) or the least confident detection's score. */
  confidence: number;
  /** top1 - top2 (classification only). */
  margin?: number;
  /** Entropy / ln(classes) (classification only). */
  normalizedEntropy?: number;
  classIndex: number;
  label?: string;
}

export function uncertaintyOf(prediction: Prediction): Uncertainty | undefined {
  if (prediction.task === 'classification') {
    const u: Uncertainty = {
      confidence: prediction.score,
      margin: prediction.classification.margin,
      normalizedEntropy: prediction.classification.normalizedEntropy,
      classIndex: prediction.classIndex,
    };
    if (prediction.label !== undefined) u.label = prediction.label;
    return u;
  }
  if (prediction.task === 'detection' && prediction.detections.length > 0) {
    let least = prediction.detections[0];
    for (const d of prediction.detections) if (d.score < least.score) least = d;
    const u: Uncertainty = { confidence: least.score, classIndex: least.classIndex };
    if (least.label !== undefined) u.label = least.label;
    return u;
  }
  return undefined;
}

/** A JSON-friendly summary of a prediction (top classes, not the full probability vector) for spools and logs. */
export function summarizePrediction(prediction: Prediction): Record<string, unknown> {
  if (prediction.task === 'classification') {
    const c = prediction.classification;
    return {
      task: 'classification',
      classIndex: prediction.classIndex,
      ...(prediction.label !== undefined ? { label: prediction.label } : {}),
      score: prediction.score,
      top: c.top.map((t) => ({ ...t })),
      margin: c.margin,
      entropy: c.entropy,
      normalizedEntropy: c.normalizedEntropy,
    };
  }
  if (prediction.task === 'detection') {
    return { task: 'detection', detections: prediction.detections.map((d) => ({ ...d, box: { ...d.box } })) };
  }
  return { task: 'raw' };
}
