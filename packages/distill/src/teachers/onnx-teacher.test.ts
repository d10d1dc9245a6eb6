// ONNX and ensemble teachers on real onnxruntime: batching must not change outputs, images are
// preprocessed as the device runtime does, and sizes that do not fit fail by name.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Preprocessing } from '@edgeloop/bundle';
import { encodeModel } from '@edgeloop/compiler';
import { Preprocessor } from '@edgeloop/runtime';
import sharp from 'sharp';
import { TeacherOutputError } from '../errors.js';
import { exportInferenceModel } from '../export.js';
import { Rng } from '../random.js';
import { convStudent } from '../students.js';
import { EnsembleTeacher } from './ensemble-teacher.js';
import { labelSamples } from './label.js';
import { OnnxTeacher } from './onnx-teacher.js';
import type { TeacherSample } from './teacher.js';
import { softmaxRows } from './teacher.js';

const PRE: Preprocessing = { width: 8, height: 8, resize: 'stretch', colorOrder: 'GRAY', layout: 'NCHW', dtype: 'float32', scale: 1 / 255, mean: [0.5], std: [0.25] };

function teacherModel(seed: number, classes = 3) {
  return exportInferenceModel(convStudent({ inputShape: [1, 8, 8], classes, channels: [4], hidden: 8, seed }), new Map(), { preprocessing: PRE, labels: ['a', 'b', 'c', 'd'].slice(0, classes) });
}

async function pngSamples(n: number, seed: number): Promise<TeacherSample[]> {
  const rng = new Rng(seed);
  const out: TeacherSample[] = [];
  for (let i = 0; i < n; i++) {
    // Mixed sizes: the teacher resizes to its 8x8 input.
    const [w, h] = i % 3 === 0 ? [12, 10] : [8, 8];
    const pixels = Uint8Array.from({ length: w * h }, () => rng.int(256));
    out.push({ image: await sharp(pixels, { raw: { width: w, height: h, channels: 1 } }).png().toBuffer() });
  }
  return out;
}

describe('OnnxTeacher', () => {
  it('gives the same outputs batched and one by one, from images and from tensors', async () => {
    const model = teacherModel(3);
    const batched = await OnnxTeacher.open(model, { batchSize: 4 });
    const single = await OnnxTeacher.open(model, { batchSize: 1 });
    try {
      assert.equal(batched.id, createHash('sha256').update(encodeModel(model)).digest('hex'));
      assert.equal(batched.numClasses, 3);
      assert.deepEqual(batched.labels, ['a', 'b', 'c']);
      assert.equal(batched.outputKind, 'logits');
      assert.deepEqual(batched.sampleShape, [1, 8, 8]);
      const images = await pngSamples(10, 5);
      const a = await batched.predict(images);
      const b = await single.predict(images);
      assert.equal(a.values.length, 30);
      for (let i = 0; i < a.values.length; i++) assert.ok(Math.abs(a.values[i] - b.values[i]) < 1e-5, `value ${i}: ${a.values[i]} vs ${b.values[i]}`);
      // Tensors preprocessed by the runtime's Preprocessor give the same answer as the image path.
      const pre = new Preprocessor(PRE);
      const tensors = await Promise.all(images.map(async (s) => ({ tensor: Float32Array.from((await pre.run(s.image as Uint8Array)).tensor.data as Float32Array) })));
      const c = await batched.predict(tensors);
      assert.deepEqual(Array.from(c.values), Array.from(a.values));
      // Samples differ, so the outputs do too (not a constant model).
      assert.notDeepEqual(Array.from(a.values.subarray(0, 3)), Array.from(a.values.subarray(3, 6)));
    } finally {
      await batched.close();
      await single.close();
    }
  });

  it('names the teacher when its output size does not match the student', async () => {
    const teacher = await OnnxTeacher.open(teacherModel(3, 4));
    try {
      await assert.rejects(labelSamples(teacher, await pngSamples(2, 1), { expectedClasses: 3 }), (error: unknown) => {
        assert.ok(error instanceof TeacherOutputError);
        assert.equal(error.teacherId, teacher.id);
        assert.match(error.message, /outputs 4 classes but the student has 3/);
        return true;
      });
    } finally {
      await teacher.close();
    }
  });

  it('caches ONNX labels too: the second run reads every row from disk', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'edgeloop-onnx-cache-'));
    const teacher = await OnnxTeacher.open(teacherModel(4));
    try {
      const images = await pngSamples(7, 2);
      const first = await labelSamples(teacher, images, { cacheDir: dir, batchSize: 3 });
      const second = await labelSamples(teacher, images, { cacheDir: dir });
      assert.equal(first.predicted, 7);
      assert.equal(second.fromCache, 7);
      assert.equal(second.predicted, 0);
      assert.deepEqual(Array.from(second.logits), Array.from(first.logits));
    } finally {
      await teacher.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('EnsembleTeacher', () => {
  it('averages member probabilities with normalised weights', async () => {
    const t1 = await OnnxTeacher.open(teacherModel(1));
    const t2 = await OnnxTeacher.open(teacherModel(2));
    const ensemble = new EnsembleTeacher([{ teacher: t1, weight: 3 }, { teacher: t2, weight: 1 }]);
    try {
      const images = await pngSamples(5, 9);
      const p1 = softmaxRows((await t1.predict(images)).values, 3);
      const p2 = softmaxRows((await t2.predict(images)).values, 3);
      const e = await ensemble.predict(images);
      assert.equal(e.kind, 'probabilities');
      for (let i = 0; i < e.values.length; i++) assert.ok(Math.abs(e.values[i] - (0.75 * p1[i] + 0.25 * p2[i])) < 1e-6);
      assert.notEqual(ensemble.id, t1.id);
      assert.equal(ensemble.numClasses, 3);
    } finally {
      await ensemble.close();
    }
  });

  it('refuses members with different class counts', async () => {
    const t1 = await OnnxTeacher.open(teacherModel(1, 3));
    const t2 = await OnnxTeacher.open(teacherModel(2, 4));
    try {
      assert.throws(() => new EnsembleTeacher([{ teacher: t1 }, { teacher: t2 }]), TeacherOutputError);
    } finally {
      await t1.close();
      await t2.close();
    }
  });
});
