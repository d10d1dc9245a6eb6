import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../ir/builder.js';
import { encodeModel } from '../ir/serde.js';
import { GradientGraphError } from './errors.js';
import { TinyGraph } from './test-support.js';
import { buildTrainingGraph } from './training-graph.js';

function student(): GraphBuilder {
  const b = new GraphBuilder('s');
  const x = b.input('x', 'float32', ['batch', 2, 4, 4]);
  const conv = b.node('Conv', [x, b.initializer('conv.w', new Float32Array(3 * 2 * 9).fill(0.1), [3, 2, 3, 3])], { pads: [1, 1, 1, 1] });
  const bn = b.node('BatchNormalization', [
    conv, b.initializer('bn.scale', new Float32Array(3).fill(1), [3]), b.initializer('bn.bias', new Float32Array(3), [3]),
    b.initializer('bn.mean', new Float32Array(3), [3]), b.initializer('bn.var', new Float32Array(3).fill(1), [3]),
  ]);
  const act = b.node('Clip', [bn, b.initializer('lo', Float32Array.of(0), []), b.initializer('hi', Float32Array.of(6), [])]);
  const pooled = b.node('Flatten', [b.node('GlobalAveragePool', [act])]);
  const dropped = b.node('Dropout', [pooled, b.initializer('ratio', Float32Array.of(0.1), [])]);
  b.node('Gemm', [dropped, b.initializer('fc.w', new Float32Array(12).fill(0.2), [4, 3]), b.initializer('fc.b', new Float32Array(4), [4])], { transB: 1 }, { outputs: ['logits'] });
  b.output('logits');
  return b;
}

test('default trainables are the weights; running stats are state; bounds and ratios are neither', () => {
  const training = buildTrainingGraph(student().build(), { loss: { kind: 'softmaxCrossEntropy', logits: 'logits' }, batchSize: 8 });
  assert.deepEqual(training.trainable.map((p) => p.name), ['conv.w', 'bn.scale', 'bn.bias', 'fc.w', 'fc.b']);
  assert.deepEqual(training.stateUpdates, [{ input: 'bn.mean', output: 'state.bn.mean' }, { input: 'bn.var', output: 'state.bn.var' }]);
  assert.deepEqual(training.dataInputs.map((v) => [v.name, v.shape]), [['x', [8, 2, 4, 4]], ['labels', [8]]]);
  const outputs = training.model.graph.outputs.map((o) => o.name);
  for (const name of ['loss', 'loss.ce', 'grad.conv.w', 'grad.fc.b', 'state.bn.var']) assert.ok(outputs.includes(name), name);
  const inputs = training.model.graph.inputs.map((v) => v.name);
  for (const name of ['conv.w', 'bn.mean', 'bn.var']) assert.ok(inputs.includes(name), name);
  assert.ok(!training.model.graph.initializers.some((t) => t.name === 'conv.w'), 'trainables are fed, not baked in');
  assert.ok(!training.model.graph.nodes.some((n) => n.opType === 'BatchNormalization'), 'training-mode BN is lowered to batch statistics');
});

test('a symbolic batch dim needs batchSize or inputShapes', () => {
  assert.throws(() => buildTrainingGraph(student().build(), { loss: { kind: 'softmaxCrossEntropy', logits: 'logits' } }), GradientGraphError);
  assert.throws(() => buildTrainingGraph(student().build(), { loss: 'nope', batchSize: 2 }), GradientGraphError);
});

test('max-pool gradient splits evenly between tied maxima and keeps the total', async () => {
  const t = new TinyGraph();
  const x = t.values('x', [1, 1, 0, 0, 0, 0, 2, 0, 5, 5, 5, 5, -1, -2, -3, -4], [1, 1, 4, 4]);
  const pooled = t.b.node('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] });
  t.b.output(t.b.node('ReduceSum', [pooled], { keepdims: 0 }, { outputs: ['objective'] }), 'float32', []);
  const training = buildTrainingGraph(t.b.build({ opset: 17 }), { loss: 'objective', trainable: ['x'] });
  const session = await ort.InferenceSession.create(encodeModel(training.model));
  const x0 = new Float32Array([1, 1, 0, 0, 0, 0, 2, 0, 5, 5, 5, 5, -1, -2, -3, -4]);
  const out = await session.run({ x: new ort.Tensor('float32', x0, [1, 1, 4, 4]) });
  const grad = Array.from(out['grad.x'].data as Float32Array);
  assert.deepEqual(grad, [0.5, 0.5, 0, 0, 0, 0, 1, 0, 0.5, 0.5, 0.5, 0.5, 0, 0, 0, 0]);
  await session.release();
});

test('the training graph runs repeatedly with fresh weights fed each step', async () => {
  const training = buildTrainingGraph(student().build(), { loss: { kind: 'softmaxCrossEntropy', logits: 'logits' }, batchSize: 2, seed: 3 });
  const session = await ort.InferenceSession.create(encodeModel(training.model));
  const feeds: Record<string, ort.Tensor> = {
    x: new ort.Tensor('float32', Float32Array.from({ length: 64 }, (_, i) => Math.sin(i)), [2, 2, 4, 4]),
    labels: new ort.Tensor('int64', BigInt64Array.from([1n, 3n]), [2]),
  };
  for (const p of training.trainable) feeds[p.name] = new ort.Tensor('float32', new Float32Array(p.shape.reduce((a, b) => a * b, 1)).fill(0.1), p.shape);
  for (const s of training.stateUpdates) feeds[s.input] = new ort.Tensor('float32', new Float32Array(3).fill(s.input.endsWith('var') ? 1 : 0), [3]);
  const first = await session.run(feeds);
  assert.ok(Number.isFinite((first.loss.data as Float32Array)[0]));
  assert.equal((first['grad.fc.w'].data as Float32Array).length, 12);
  await session.release();
});
