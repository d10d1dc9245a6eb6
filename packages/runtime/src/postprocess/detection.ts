// YOLO-style detector outputs -> boxes in source-image pixels. Two layouts:
//   v5: [1, N, 5 + C]  rows of cx, cy, w, h, objectness, class scores; score = objectness * class
//   v8: [1, 4 + C, N]  columns of cx, cy, w, h, class scores (no objectness)
// Boxes are filtered by confidence, suppressed per class (NMS) in model pixels, then mapped back
// through the letterbox (or any ImageTransform) and clipped to the source image.

import type { RuntimeTensor } from '../backend.js';
import { PostprocessError } from '../errors.js';
import type { ImageTransform, LetterboxInfo } from '../preprocess.js';

export interface Box {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export interface Detection {
  box: Box;
  score: number;
  classIndex: number;
  label?: string;
}

/** A decoded box before NMS; `index` is its anchor position in the output, used to break ties. */
export interface Candidate extends Box {
  index: number;
  score: number;
  classIndex: number;
}

export type YoloLayout = 'v5' | 'v8';

export interface DecodeYoloOptions {
  layout: YoloLayout;
  /** Keep boxes whose score is strictly above this. Default 0.25. */
  confidenceThreshold?: number;
  /** Suppress a box whose IoU with a better box of the same class is strictly above this. Default 0.45. */
  iouThreshold?: number;
  /** Default 300. */
  maxDetections?: number;
  /** Suppress across classes too. Default false (class-aware). */
  classAgnostic?: boolean;
  labels?: readonly string[];
  /** Map boxes back to the source image through this letterbox (from preprocess). */
  letterbox?: LetterboxInfo;
  /** Or through any preprocess transform (exact per-axis scale); wins over `letterbox`. */
  transform?: ImageTransform;
}

export function iou(a: Box, b: Box): number {
  const iw = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const ih = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const union = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return union > 0 ? inter / union : 0;
}

/** Orders by score, best first; equal scores by lower index, so results never depend on sort stability. */
export function compareCandidates(a: Candidate, b: Candidate): number {
  return b.score - a.score || a.index - b.index;
}

/**
 * Greedy non-maximum suppression. Class-aware unless `classAgnostic`. Returns the kept
 * candidates best first.
 */
export function nonMaxSuppression(
  candidates: readonly Candidate[],
  options: { iouThreshold: number; classAgnostic?: boolean; maxDetections?: number },
): Candidate[] {
  const sorted = [...candidates].sort(compareCandidates);
  const limit = options.maxDetections ?? Infinity;
  const kept: Candidate[] = [];
  for (const candidate of sorted) {
    if (kept.length >= limit) break;
    let suppressed = false;
    for (const k of kept) {
      if (!options.classAgnostic && k.classIndex !== candidate.classIndex) continue;
      if (iou(k, candidate) > options.iouThreshold) {
        suppressed = true;
        break;
      }
    }
    if (!suppressed) kept.push(candidate);
  }
  return kept;
}

export function letterboxTransform(letterbox: LetterboxInfo): ImageTransform {
  return {
    srcWidth: letterbox.srcWidth,
    srcHeight: letterbox.srcHeight,
    scaleX: letterbox.scale,
    scaleY: letterbox.scale,
    offsetX: letterbox.padX,
    offsetY: letterbox.padY,
  };
}

/** Model pixels -> source pixels, clipped to the source image. */
export function mapBoxToSource(box: Box, transform: ImageTransform): Box {
  const { scaleX, scaleY, offsetX, offsetY, srcWidth, srcHeight } = transform;
  return {
    x1: clamp((box.x1 - offsetX) / scaleX, 0, srcWidth),
    y1: clamp((box.y1 - offsetY) / scaleY, 0, srcHeight),
    x2: clamp((box.x2 - offsetX) / scaleX, 0, srcWidth),
    y2: clamp((box.y2 - offsetY) / scaleY, 0, srcHeight),
  };
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

/** Reads the output's candidates above the confidence threshold, in model pixels. */
export function decodeYoloCandidates(output: RuntimeTensor, layout: YoloLayout, confidenceThreshold: number): Candidate[] {
  if (output.dtype !== 'float32' && output.dtype !== 'float64') {
    throw new PostprocessError(`detection output is ${output.dtype}; float32 or float64 expected`);
  }
  const dims = output.dims;
  if (dims.length !== 3 || dims[0] !== 1) {
    throw new PostprocessError(`detection output has shape [${dims.join(',')}]; YOLO ${layout} expects [1, ${layout === 'v5' ? 'N, 5+C' : '4+C, N'}]`);
  }
  const data = output.data as Float32Array | Float64Array;
  const attributes = layout === 'v5' ? dims[2] : dims[1];
  const anchors = layout === 'v5' ? dims[1] : dims[2];
  const firstClass = layout === 'v5' ? 5 : 4;
  const classes = attributes - firstClass;
  if (classes < 1) {
    throw new PostprocessError(`detection output has ${attributes} values per box; YOLO ${layout} needs at least ${firstClass + 1}`);
  }
  // Element (attribute a, anchor i): v5 rows are anchors, v8 rows are attributes.
  const rowStride = layout === 'v5' ? attributes : 1;
  const attributeStride = layout === 'v5' ? 1 : anchors;
  const candidates: Candidate[] = [];
  for (let i = 0; i < anchors; i++) {
    const base = i * rowStride;
    const objectness = layout === 'v5' ? data[base + 4 * attributeStride] : 1;
    if (layout === 'v5' && !(objectness > confidenceThreshold)) continue;
    let bestClass = 0;
    let bestScore = -Infinity;
    for (let c = 0; c < classes; c++) {
      const s = data[base + (firstClass + c) * attributeStride];
      if (s > bestScore) {
        bestScore = s;
        bestClass = c;
      }
    }
    const score = objectness * bestScore;
    if (!(score > confidenceThreshold)) continue;
    const cx = data[base];
    const cy = data[base + attributeStride];
    const w = data[base + 2 * attributeStride];
    const h = data[base + 3 * attributeStride];
    candidates.push({ index: i, score, classIndex: bestClass, x1: cx - w / 2, y1: cy - h / 2, x2: cx + w / 2, y2: cy + h / 2 });
  }
  return candidates;
}

/**
 * Decodes a YOLO v5/v8 output into detections in source-image pixels (model pixels when neither
 * `letterbox` nor `transform` is given). Boxes that clip to nothing (entirely in the padding)
 * are dropped.
 */
export function decodeYolo(output: RuntimeTensor, options: DecodeYoloOptions): Detection[] {
  const candidates = decodeYoloCandidates(output, options.layout, options.confidenceThreshold ?? 0.25);
  const kept = nonMaxSuppression(candidates, {
    iouThreshold: options.iouThreshold ?? 0.45,
    classAgnostic: options.classAgnostic ?? false,
  });
  const maxDetections = options.maxDetections ?? 300;
  const transform = options.transform ?? (options.letterbox ? letterboxTransform(options.letterbox) : undefined);
  const detections: Detection[] = [];
  for (const k of kept) {
    if (detections.length >= maxDetections) break;
    const modelBox: Box = { x1: k.x1, y1: k.y1, x2: k.x2, y2: k.y2 };
    const box = transform ? mapBoxToSource(modelBox, transform) : modelBox;
    if (box.x2 <= box.x1 || box.y2 <= box.y1) continue;
    const detection: Detection = { box, score: k.score, classIndex: k.classIndex };
    const label = options.labels?.[k.classIndex];
    if (label !== undefined) detection.label = label;
    detections.push(detection);
  }
  return detections;
}
