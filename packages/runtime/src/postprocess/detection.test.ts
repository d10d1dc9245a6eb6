import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import sharp from 'sharp';

import type { RuntimeTensor } from '../backend.js';
import { PostprocessError } from '../errors.js';
import { preprocessImage } from '../preprocess.js';
import { decodeYolo, iou, mapBoxToSource, nonMaxSuppression, type Candidate } from './detection.js';

interface Raw {
  cx: number;
  cy: number;
  w: number;
  h: number;
  scores: number[];
  objectness?: number;
}

/** [1, N, 5+C] rows. */
function v5(boxes: Raw[]): RuntimeTensor {
  const classes = boxes[0].scores.length;
  const data = new Float32Array(boxes.length * (5 + classes));
  boxes.forEach((b, i) => data.set([b.cx, b.cy, b.w, b.h, b.objectness ?? 1, ...b.scores], i * (5 + classes)));
  return { dtype: 'float32', dims: [1, boxes.length, 5 + classes], data };
}

/** [1, 4+C, N] columns. */
function v8(boxes: Raw[]): RuntimeTensor {
  const classes = boxes[0].scores.length;
  const n = boxes.length;
  const data = new Float32Array((4 + classes) * n);
  boxes.forEach((b, i) => [b.cx, b.cy, b.w, b.h, ...b.scores].forEach((v, a) => (data[a * n + i] = v)));
  return { dtype: 'float32', dims: [1, 4 + classes, n], data };
}

function candidate(index: number, score: number, classIndex: number, x1: number, y1: number, x2: number, y2: number): Candidate {
  return { index, score, classIndex, x1, y1, x2, y2 };
}

void describe('detection postprocessing', () => {
  void it('computes IoU by hand', () => {
    assert.equal(iou({ x1: 0, y1: 0, x2: 2, y2: 2 }, { x1: 1, y1: 1, x2: 3, y2: 3 }), 1 / 7);
    assert.equal(iou({ x1: 0, y1: 0, x2: 1, y2: 1 }, { x1: 1, y1: 0, x2: 2, y2: 1 }), 0);
    assert.equal(iou({ x1: 0, y1: 0, x2: 4, y2: 4 }, { x1: 0, y1: 0, x2: 4, y2: 4 }), 1);
  });

  void it('maps a box back through a letterbox: 1280x720 into 640x640', () => {
    const letterbox = { scale: 0.5, padX: 0, padY: 140, srcWidth: 1280, srcHeight: 720 };
    const output = v5([{ cx: 320, cy: 320, w: 100, h: 50, scores: [0.9] }]);
    const [d] = decodeYolo(output, { layout: 'v5', letterbox, labels: ['person'] });
    assert.deepEqual(d.box, { x1: 540, y1: 310, x2: 740, y2: 410 });
    assert.equal(d.label, 'person');
    assert.ok(Math.abs(d.score - 0.9) < 1e-6);
  });

  void it('clips boxes that reach into the padding and drops boxes entirely inside it', () => {
    const letterbox = { scale: 0.5, padX: 0, padY: 140, srcWidth: 1280, srcHeight: 720 };
    const output = v8([
      { cx: 100, cy: 150, w: 40, h: 40, scores: [0.8] }, // y 130..170 -> straddles the top padding edge
      { cx: 300, cy: 60, w: 40, h: 40, scores: [0.7] }, // y 40..80 -> all padding
      { cx: 630, cy: 400, w: 40, h: 40, scores: [0.6] }, // x 610..650 -> beyond the right edge
    ]);
    const detections = decodeYolo(output, { layout: 'v8', letterbox });
    assert.equal(detections.length, 2);
    assert.deepEqual(detections[0].box, { x1: 160, y1: 0, x2: 240, y2: 60 });
    assert.deepEqual(detections[1].box, { x1: 1220, y1: 480, x2: 1280, y2: 560 });
  });

  void it('maps with an exact per-axis transform', () => {
    const box = mapBoxToSource({ x1: 10, y1: 20, x2: 30, y2: 40 }, { srcWidth: 100, srcHeight: 100, scaleX: 2, scaleY: 0.5, offsetX: -4, offsetY: 5 });
    assert.deepEqual(box, { x1: 7, y1: 30, x2: 17, y2: 70 });
  });

  void it('letterbox geometry from preprocess feeds the box mapping', async () => {
    const png = await sharp({ create: { width: 128, height: 72, channels: 3, background: { r: 0, g: 0, b: 0 } } }).png().toBuffer();
    const pre = await preprocessImage(png, {
      width: 64, height: 64, resize: 'letterbox', colorOrder: 'RGB', layout: 'NCHW', dtype: 'float32', scale: 1 / 255, mean: [0], std: [1],
    });
    assert.deepEqual(pre.letterbox, { scale: 0.5, padX: 0, padY: 14, srcWidth: 128, srcHeight: 72 });
    const [d] = decodeYolo(v5([{ cx: 32, cy: 32, w: 10, h: 10, scores: [1] }]), { layout: 'v5', letterbox: pre.letterbox });
    assert.deepEqual(d.box, { x1: 54, y1: 26, x2: 74, y2: 46 });
    const [same] = decodeYolo(v5([{ cx: 32, cy: 32, w: 10, h: 10, scores: [1] }]), { layout: 'v5', transform: pre.transform });
    assert.deepEqual(same.box, d.box);
  });

  void it('suppresses overlapping boxes of one class, keeps other classes unless class-agnostic', () => {
    const a = candidate(0, 0.9, 0, 0, 0, 10, 10);
    const b = candidate(1, 0.8, 0, 1, 1, 11, 11); // IoU 81/119 = 0.68 with a
    const c = candidate(2, 0.7, 1, 1, 1, 11, 11); // same place, other class
    const d = candidate(3, 0.6, 0, 20, 20, 30, 30); // far away
    assert.deepEqual(nonMaxSuppression([d, c, b, a], { iouThreshold: 0.5 }).map((k) => k.index), [0, 2, 3]);
    assert.deepEqual(nonMaxSuppression([a, b, c, d], { iouThreshold: 0.5, classAgnostic: true }).map((k) => k.index), [0, 3]);
    assert.deepEqual(nonMaxSuppression([a, b, c, d], { iouThreshold: 0.7 }).map((k) => k.index), [0, 1, 2, 3]);
    assert.deepEqual(nonMaxSuppression([a, b, c, d], { iouThreshold: 0.5, maxDetections: 2 }).map((k) => k.index), [0, 2]);
  });

  void it('breaks score ties by lower index, whatever the input order', () => {
    const first = candidate(4, 0.5, 0, 0, 0, 10, 10);
    const second = candidate(7, 0.5, 0, 0, 0, 10, 10);
    assert.deepEqual(nonMaxSuppression([second, first], { iouThreshold: 0.5 }).map((k) => k.index), [4]);
    assert.deepEqual(nonMaxSuppression([first, second], { iouThreshold: 0.5 }).map((k) => k.index), [4]);
    const output = v8([
      { cx: 5, cy: 5, w: 10, h: 10, scores: [0.5, 0] },
      { cx: 5, cy: 5, w: 10, h: 10, scores: [0.5, 0] },
    ]);
    const [only, ...rest] = decodeYolo(output, { layout: 'v8' });
    assert.equal(rest.length, 0);
    assert.deepEqual(only.box, { x1: 0, y1: 0, x2: 10, y2: 10 });
  });

  void it('v5 and v8 give the same boxes for equivalent tensors', () => {
    const boxes: Raw[] = [
      { cx: 50, cy: 50, w: 20, h: 30, scores: [0.1, 0.9, 0.2] },
      { cx: 52, cy: 51, w: 20, h: 30, scores: [0.1, 0.8, 0.2] },
      { cx: 52, cy: 51, w: 20, h: 30, scores: [0.7, 0.1, 0.2] },
      { cx: 200, cy: 120, w: 60, h: 40, scores: [0.3, 0.2, 0.35] },
      { cx: 10, cy: 10, w: 4, h: 4, scores: [0.2, 0.1, 0.05] },
    ];
    const letterbox = { scale: 0.5, padX: 0, padY: 20, srcWidth: 640, srcHeight: 400 };
    const fromV5 = decodeYolo(v5(boxes), { layout: 'v5', letterbox });
    const fromV8 = decodeYolo(v8(boxes), { layout: 'v8', letterbox });
    assert.deepEqual(fromV5, fromV8);
    assert.deepEqual(fromV5.map((d) => d.classIndex), [1, 0, 2]);
    assert.deepEqual(fromV5[0].box, { x1: 80, y1: 30, x2: 120, y2: 90 });
  });

  void it('v5 multiplies objectness into the score and filters on both', () => {
    const output = v5([
      { cx: 10, cy: 10, w: 4, h: 4, scores: [0.9], objectness: 0.5 }, // 0.45
      { cx: 50, cy: 50, w: 4, h: 4, scores: [0.9], objectness: 0.2 }, // objectness below threshold
      { cx: 90, cy: 90, w: 4, h: 4, scores: [0.3], objectness: 0.9 }, // 0.27
    ]);
    const detections = decodeYolo(output, { layout: 'v5', confidenceThreshold: 0.25 });
    assert.deepEqual(detections.map((d) => Number(d.score.toFixed(4))), [0.45, 0.27]);
    assert.equal(decodeYolo(output, { layout: 'v5', confidenceThreshold: 0.3 }).length, 1);
  });

  void it('rejects outputs that do not fit the layout', () => {
    assert.throws(() => decodeYolo({ dtype: 'float32', dims: [1, 10], data: new Float32Array(10) }, { layout: 'v5' }), PostprocessError);
    assert.throws(() => decodeYolo({ dtype: 'float32', dims: [1, 3, 5], data: new Float32Array(15) }, { layout: 'v5' }), PostprocessError);
    assert.throws(() => decodeYolo({ dtype: 'int32', dims: [1, 3, 6], data: new Int32Array(18) }, { layout: 'v5' }), PostprocessError);
    assert.throws(() => decodeYolo({ dtype: 'float32', dims: [1, 4, 3], data: new Float32Array(12) }, { layout: 'v8' }), PostprocessError);
  });
});
