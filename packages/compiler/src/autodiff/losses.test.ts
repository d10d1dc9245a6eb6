import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../ir/builder.js';
import { encodeModel } from '../ir/serde.js';
import type { Model } from '../ir/types.js';
import type { FeedValue } from './gradient-check.js';
import { DOUBLE_TOL, FLOAT_TOL, assertGradients, randomValues } from './test-support.js';
import { buildTrainingGraph } from './training-graph.js';

/** x [4, 5] -> Gemm -> logits [4, 3]. */
function classifier(batch: number | string = 4): Model {
  const b = new GraphBuilder('clf');
  const x = b.input('x', 'float32', [batch, 5]);
  const w = b.initializer('w', randomValues(15, 3), [5, 3]);
  const c = b.initializer('c', randomValues(3, 4), [3]);
  b.node('Gemm', [x, w, c], {}, { outputs: ['logits'] });
  b.output('logits');
  return b.build({ opset: 17 });
}

const x: FeedValue = { data: randomValues(20, 5, -2, 2), dims: [4, 5] };
const labels: FeedValue = { data: BigInt64Array.from([0n, 2n, 1n, 2n]), dims: [4] };
const teacher: FeedValue = { data: randomValues(12, 6, -3, 3), dims: [4, 3] };

test('softmax cross-entropy with integer labels matches finite differences', async () => {
  await assertGradients(classifier(), { loss: { kind: 'softmaxCrossEntropy', logits: 'logits' }, feeds: { x, labels } }, DOUBLE_TOL);
});

test('softmax cross-entropy with one-hot / soft labels matches finite differences', async () => {
  const soft: FeedValue = { data: Float32Array.from([1, 0, 0, 0.2, 0.3, 0.5, 0, 1, 0, 0, 0, 1]), dims: [4, 3] };
  await assertGradients(
    classifier(), { loss: { kind: 'softmaxCrossEntropy', logits: 'logits', labels: 'onehot' }, feeds: { x, labels: soft } }, DOUBLE_TOL,
  );
});

test('Hinton distillation loss matches finite differences and its value', async () => {
  const spec = { kind: 'distillation' as const, logits: 'logits', temperature: 3, alpha: 0.7 };
  await assertGradients(classifier('batch'), { loss: spec, batchSize: 4, feeds: { x, labels, teacher_logits: teacher } }, DOUBLE_TOL);

  const training = buildTrainingGraph(classifier(), { loss: spec, extraOutputs: ['logits'] });
  assert.deepEqual(training.dataInputs.map((v) => v.name), ['x', 'teacher_logits', 'labels']);
  const session = await ort.InferenceSession.create(encodeModel(training.model));
  const model = classifier();
  const weight = (name: string): Float32Array => {
    const t = model.graph.initializers.find((i) => i.name === name);
    assert.ok(t);
    return new Float32Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.byteLength));
  };
  const out = await session.run({
    x: new ort.Tensor('float32', x.data as Float32Array, x.dims),
    labels: new ort.Tensor('int64', labels.data as BigInt64Array, labels.dims),
    teacher_logits: new ort.Tensor('float32', teacher.data as Float32Array, teacher.dims),
    w: new ort.Tensor('float32', weight('w'), [5, 3]),
    c: new ort.Tensor('float32', weight('c'), [3]),
  });
  const s = out.logits.data as Float32Array;
  const t = teacher.data as Float32Array;
  const softmax = (row: number[], temp: number): number[] => {
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp((v - m) / temp));
    const z = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / z);
  };
  let kl = 0;
  let ce = 0;
  for (let n = 0; n < 4; n++) {
    const sRow = Array.from(s.subarray(n * 3, n * 3 + 3));
    const tRow = Array.from(t.subarray(n * 3, n * 3 + 3));
    const p = softmax(tRow, 3);
    const q = softmax(sRow, 3);
    kl += p.reduce((a, pi, k) => a + pi * Math.log(pi / q[k]), 0) / 4;
    ce += -Math.log(softmax(sRow, 1)[Number((labels.data as BigInt64Array)[n])]) / 4;
  }
  const expected = 0.7 * 9 * kl + 0.3 * ce;
  const loss = (out.loss.data as Float32Array)[0];
  assert.ok(Math.abs(loss - expected) < 1e-4, `loss ${loss}, expected ${expected}`);
  assert.ok(Math.abs((out['loss.kd'].data as Float32Array)[0] - kl) < 1e-5);
  assert.ok(Math.abs((out['loss.ce'].data as Float32Array)[0] - ce) < 1e-5);
  await session.release();
});

test('MSE loss matches finite differences', async () => {
  const target: FeedValue = { data: randomValues(12, 8), dims: [4, 3] };
  await assertGradients(classifier(), { loss: { kind: 'mse', output: 'logits' }, feeds: { x, target } }, DOUBLE_TOL);
});

test('a small CNN (Conv-BN-Relu-MaxPool-depthwise Conv-ReLU6-GAP-Gemm) with cross-entropy', async () => {
  const b = new GraphBuilder('cnn');
  const input = b.input('image', 'float32', ['batch', 2, 8, 8]);
  const w1 = b.initializer('conv1.w', randomValues(4 * 2 * 9, 21, -0.5, 0.5), [4, 2, 3, 3]);
  const c1 = b.node('Conv', [input, w1], { pads: [1, 1, 1, 1] });
  const bn = b.node('BatchNormalization', [
    c1, b.initializer('bn.scale', randomValues(4, 22, 0.8, 1.2), [4]), b.initializer('bn.bias', randomValues(4, 23, -0.1, 0.1), [4]),
    b.initializer('bn.mean', new Float32Array(4), [4]), b.initializer('bn.var', new Float32Array(4).fill(1), [4]),
  ]);
  const pooled = b.node('MaxPool', [b.node('Relu', [bn])], { kernel_shape: [2, 2], strides: [2, 2] });
  const dw = b.node('Conv', [pooled, b.initializer('dw.w', randomValues(4 * 9, 24, -0.5, 0.5), [4, 1, 3, 3])], { group: 4, pads: [1, 1, 1, 1] });
  const relu6 = b.node('Clip', [dw, b.initializer('zero', Float32Array.of(0), []), b.initializer('six', Float32Array.of(6), [])]);
  const flat = b.node('Flatten', [b.node('GlobalAveragePool', [relu6])]);
  b.node('Gemm', [flat, b.initializer('fc.w', randomValues(12, 25), [3, 4]), b.initializer('fc.b', randomValues(3, 26), [3])], { transB: 1 }, { outputs: ['logits'] });
  b.output('logits');
  const model = b.build({ opset: 17 });
  const image: FeedValue = { data: randomValues(2 * 2 * 64, 30, -1, 1), dims: [2, 2, 8, 8] };
  const cls: FeedValue = { data: BigInt64Array.from([1n, 2n]), dims: [2] };
  await assertGradients(
    model,
    {
      loss: { kind: 'softmaxCrossEntropy', logits: 'logits' }, batchSize: 2, feeds: { image, labels: cls },
      numericType: 'float32', epsilon: 1e-3, samplesPerWeight: 12,
    },
    FLOAT_TOL,
  );
});
