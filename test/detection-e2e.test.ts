// A detection bundle end to end, as a user builds and runs one: `edgeloop bundle create` with
// --task detection --output-format yolov8 on a YOLOv8-layout model, then `edgeloop run --json` on
// a wide image that the bundle letterboxes. The model's head is fixed (its output does not depend
// on the pixels), so the boxes the CLI prints can be computed by hand: letterbox undone, low scores
// filtered, class-aware NMS.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { GraphBuilder, saveModel } from '@edgeloop/compiler';

const ROOT = new URL('../../', import.meta.url).pathname;
const CLI = join(ROOT, 'packages/cli/dist/main.js');

function edgeloop(args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: { ...process.env, EDGELOOP_DEBUG: '' }, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// YOLOv8 head [1, 4 + classes, anchors]: rows cx, cy, w, h, then one score per class (64x64 model pixels).
const ANCHORS: [cx: number, cy: number, w: number, h: number, cat: number, dog: number][] = [
  [32, 32, 20, 10, 0.9, 0.1], // kept: cat
  [33, 32, 20, 10, 0.8, 0.05], // same class, IoU with the first ~0.9: suppressed
  [33, 32, 20, 10, 0.05, 0.7], // same place, other class: kept (NMS is per class)
  [10, 10, 4, 4, 0.1, 0.2], // below the confidence threshold
];

async function writeModel(path: string): Promise<void> {
  const b = new GraphBuilder('yolo-fixed');
  const images = b.input('images', 'float32', [1, 3, 64, 64]);
  const head = new Float32Array(6 * ANCHORS.length);
  ANCHORS.forEach((a, n) => a.forEach((v, row) => (head[row * ANCHORS.length + n] = v)));
  // head + 0 * sum(images): a real graph over the input whose output is the fixed head.
  const zero = b.node('Mul', [b.node('ReduceSum', [images], { keepdims: 0 }), b.initializer('zero', Float32Array.of(0), [])]);
  b.output(b.node('Add', [b.initializer('head', head, [1, 6, ANCHORS.length]), zero], {}, { outputs: ['output0'] }));
  await saveModel(b.build(), path);
}

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgeloop-detection-'));
  const keys = edgeloop(['keys', 'generate', '--out', join(dir, 'release')], dir);
  assert.equal(keys.status, 0, keys.stderr);
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('a detection bundle through the CLI', () => {
  it('bundle create --task detection --output-format yolov8; run --json prints boxes in source pixels', async () => {
    await writeModel(join(dir, 'yolo.onnx'));
    const created = edgeloop([
      'bundle', 'create', join(dir, 'yolo.onnx'), '-o', join(dir, 'yolo.bundle'), '-k', join(dir, 'release.key'),
      '--task', 'detection', '--labels', 'cat,dog', '--output-format', 'yolov8', '--conf-threshold', '0.3', '--iou-threshold', '0.5',
      '--resize', 'letterbox', '--layout', 'NCHW', '--color', 'RGB', '--mean', '0,0,0', '--std', '1,1,1', '--json',
    ], dir);
    assert.equal(created.status, 0, created.stderr);
    const manifest = (JSON.parse(created.stdout) as { manifest: { task: string; model: { outputs: { name: string; postprocessing?: object }[] } } }).manifest;
    assert.equal(manifest.task, 'detection');
    assert.deepEqual(manifest.model.outputs[0].postprocessing, { format: 'yolov8', confThreshold: 0.3, iouThreshold: 0.5 });

    // 128x64 source -> letterboxed into 64x64: scale 0.5, 16 rows of padding above.
    await sharp({ create: { width: 128, height: 64, channels: 3, background: { r: 90, g: 120, b: 30 } } }).png().toFile(join(dir, 'wide.png'));
    const run = edgeloop(['run', '--bundle', join(dir, 'yolo.bundle'), '--trust', join(dir, 'release.pub'), '--source', join(dir, 'wide.png'), '--json', '--summary-interval', '0'], dir);
    assert.equal(run.status, 0, run.stderr);
    const frames = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; prediction?: { task: string; detections: { box: Record<string, number>; score: number; label?: string; classIndex: number }[] } });
    const frame = frames.find((f) => f.type === 'frame');
    assert.ok(frame?.prediction, run.stdout);
    assert.equal(frame.prediction.task, 'detection');
    const found = frame.prediction.detections.map((d) => ({ label: d.label, score: Number(d.score.toFixed(3)), box: Object.fromEntries(Object.entries(d.box).map(([k, v]) => [k, Number(v.toFixed(3))])) }));
    // Model box (cx 32, cy 32, w 20, h 10) = x 22..42, y 27..37; source x = x / 0.5, y = (y - 16) / 0.5.
    assert.deepEqual(found, [
      { label: 'cat', score: 0.9, box: { x1: 44, y1: 22, x2: 84, y2: 42 } },
      { label: 'dog', score: 0.7, box: { x1: 46, y1: 22, x2: 86, y2: 42 } },
    ]);
  });

  it('--output-format on an output the model does not have is a one-line error', async () => {
    await writeModel(join(dir, 'yolo2.onnx'));
    const r = edgeloop(['bundle', 'create', join(dir, 'yolo2.onnx'), '-o', join(dir, 'x.bundle'), '-k', join(dir, 'release.key'), '--output-format', 'yolov8', '--output', 'boxes'], dir);
    assert.notEqual(r.status, 0);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^edgeloop: .*output 'boxes'.*output0/);
  });
});
