import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { encodeModel } from '../ir/serde.js';
import { NoGradientRuleError } from './errors.js';
import { DOUBLE_TOL, TinyGraph, assertGradients, randomValues } from './test-support.js';
import { buildTrainingGraph } from './training-graph.js';

function bnGraph(rank4: boolean): TinyGraph {
  const t = new TinyGraph();
  const dims = rank4 ? [3, 2, 3, 2] : [5, 4];
  const channels = dims[1];
  const x = t.weight('x', dims, -2, 2);
  const scale = t.weight('scale', [channels], 0.5, 1.5);
  const bias = t.weight('bias', [channels]);
  const mean = t.values('running_mean', new Array<number>(channels).fill(0.1), [channels]);
  const variance = t.values('running_var', new Array<number>(channels).fill(2), [channels]);
  const y = t.b.node('BatchNormalization', [x, scale, bias, mean, variance], { epsilon: 1e-3, momentum: 0.8 }, { outputs: ['bn'] });
  // A nonlinearity after BN so the weighted sum is not orthogonal to the normalization's null space.
  t.b.node('Mul', [y, y], {}, { outputs: ['sq'] });
  return t;
}

test('BatchNormalization in training mode (4-D): gradients through batch statistics', async () => {
  const model = bnGraph(true).weightedSumLoss('sq', [3, 2, 3, 2]);
  await assertGradients(model, { loss: 'objective', samplesPerWeight: 36, epsilon: 1e-5 }, DOUBLE_TOL);
});

test('BatchNormalization in training mode (2-D, after a dense layer)', async () => {
  const model = bnGraph(false).weightedSumLoss('sq', [5, 4]);
  await assertGradients(model, { loss: 'objective', samplesPerWeight: 20, epsilon: 1e-5 }, DOUBLE_TOL);
});

test('BatchNormalization frozen mode differentiates through running statistics', async () => {
  const model = bnGraph(true).weightedSumLoss('sq', [3, 2, 3, 2]);
  await assertGradients(model, { loss: 'objective', batchNorm: 'frozen', samplesPerWeight: 20, epsilon: 1e-5 }, DOUBLE_TOL);
});

test('BatchNormalization running statistics update: momentum * running + (1 - momentum) * batch (unbiased var)', async () => {
  const model = bnGraph(false).weightedSumLoss('sq', [5, 4]);
  assert.deepEqual(buildTrainingGraph(model, { loss: 'objective' }).trainable.map((p) => p.name).sort(), ['bias', 'loss_weights', 'scale', 'x']);
  const training = buildTrainingGraph(model, { loss: 'objective', trainable: ['x', 'scale', 'bias'] });
  assert.deepEqual(training.stateUpdates.map((s) => s.input).sort(), ['running_mean', 'running_var']);
  const x = randomValues(20, 3, -2, 2);
  const feeds: Record<string, ort.Tensor> = {
    x: new ort.Tensor('float32', x, [5, 4]),
    scale: new ort.Tensor('float32', new Float32Array(4).fill(1), [4]),
    bias: new ort.Tensor('float32', new Float32Array(4), [4]),
    running_mean: new ort.Tensor('float32', new Float32Array(4).fill(0.1), [4]),
    running_var: new ort.Tensor('float32', new Float32Array(4).fill(2), [4]),
  };
  const session = await ort.InferenceSession.create(encodeModel(training.model));
  const out = await session.run(feeds);
  const newMean = out['state.running_mean'].data as Float32Array;
  const newVar = out['state.running_var'].data as Float32Array;
  for (let c = 0; c < 4; c++) {
    const column = [0, 1, 2, 3, 4].map((n) => x[n * 4 + c]);
    const mean = column.reduce((a, b) => a + b, 0) / 5;
    const unbiased = column.reduce((a, b) => a + (b - mean) ** 2, 0) / 4;
    assert.ok(Math.abs(newMean[c] - (0.8 * 0.1 + 0.2 * mean)) < 1e-5);
    assert.ok(Math.abs(newVar[c] - (0.8 * 2 + 0.2 * unbiased)) < 1e-5);
  }
  await session.release();
});

test('Dropout as identity matches finite differences; with a mask the gradient is mask / (1 - ratio)', async () => {
  const t = new TinyGraph();
  const w = t.weight('w', [6, 8]);
  const ratio = t.values('ratio', [0.25], []);
  const d = t.b.node('Dropout', [w, ratio], {}, { outputs: ['dropped'] });
  const model = t.weightedSumLoss(d, [6, 8]);
  await assertGradients(model, { loss: 'objective', dropout: 'identity' }, DOUBLE_TOL);

  assert.deepEqual(buildTrainingGraph(model, { loss: 'objective' }).trainable.map((p) => p.name), ['w', 'loss_weights'], 'the ratio is not trainable');
  const training = buildTrainingGraph(model, { loss: 'objective', trainable: ['w'], dropout: 'mask', seed: 5, extraOutputs: ['dropped'] });
  const session = await ort.InferenceSession.create(encodeModel(training.model));
  const wValues = randomValues(48, 11, 0.5, 1.5);
  const out = await session.run({ w: new ort.Tensor('float32', wValues, [6, 8]) });
  const grad = out['grad.w'].data as Float32Array;
  const dropped = out.dropped.data as Float32Array;
  const r = model.graph.initializers.find((i) => i.name === 'loss_weights');
  assert.ok(r);
  const rv = new Float32Array(r.data.buffer.slice(r.data.byteOffset, r.data.byteOffset + r.data.byteLength));
  let kept = 0;
  for (let i = 0; i < 48; i++) {
    const mask = dropped[i] === 0 ? 0 : 1 / 0.75;
    if (mask) kept++;
    if (mask) assert.ok(Math.abs(dropped[i] - wValues[i] * mask) < 1e-5);
    assert.ok(Math.abs(grad[i] - rv[i] * mask) < 1e-5, `element ${i}`);
  }
  assert.ok(kept > 24 && kept < 48, `kept ${kept} of 48`);
  await session.release();
});

test('an op without a gradient rule on the path to the loss raises NoGradientRuleError naming op and node', () => {
  const t = new TinyGraph();
  const w = t.weight('w', [3]);
  t.b.node('Erf', [w], {}, { name: 'the_erf', outputs: ['e'] });
  const model = t.weightedSumLoss('e', [3]);
  assert.throws(
    () => buildTrainingGraph(model, { loss: 'objective' }),
    (err: unknown) => err instanceof NoGradientRuleError && err.opType === 'Erf' && err.nodeName === 'the_erf',
  );
});
