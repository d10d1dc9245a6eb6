import { test } from 'node:test';
import { DOUBLE_TOL, TinyGraph, assertGradients } from './test-support.js';

for (const [transA, transB] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
  test(`Gemm transA=${transA} transB=${transB} with alpha, beta and a broadcast bias`, async () => {
    const t = new TinyGraph();
    const a = t.weight('a', transA ? [4, 3] : [3, 4]);
    const b = t.weight('b', transB ? [5, 4] : [4, 5]);
    const c = t.weight('c', [5]);
    const y = t.b.node('Gemm', [a, b, c], { transA, transB, alpha: 0.7, beta: 1.3 });
    await assertGradients(t.weightedSumLoss(y, [3, 5]), { loss: 'objective', samplesPerWeight: 20 }, DOUBLE_TOL);
  });
}

test('MatMul batched with broadcast batch dims and a shared 2-D weight', async () => {
  const t = new TinyGraph();
  const a = t.weight('a', [2, 1, 3, 4]);
  const b = t.weight('b', [3, 4, 2]);
  const y = t.b.node('MatMul', [a, b]);
  const w = t.weight('w', [2, 5]);
  const z = t.b.node('MatMul', [y, w]);
  await assertGradients(t.weightedSumLoss(z, [2, 3, 3, 5]), { loss: 'objective', samplesPerWeight: 20 }, DOUBLE_TOL);
});

test('Flatten, Reshape, Transpose, Concat, Squeeze/Unsqueeze route gradients back', async () => {
  const t = new TinyGraph();
  const a = t.weight('a', [2, 3, 2, 2]);
  const b = t.weight('b', [2, 1, 2, 2]);
  const cat = t.b.node('Concat', [a, b, a], { axis: 1 });
  const tr = t.b.node('Transpose', [cat], { perm: [0, 2, 3, 1] });
  const flat = t.b.node('Flatten', [tr], { axis: 1 });
  const re = t.b.node('Reshape', [flat, t.b.initializer('shape', BigInt64Array.from([4n, -1n]), [2])]);
  const un = t.b.node('Unsqueeze', [re, t.b.initializer('axes', BigInt64Array.from([0n]), [1])]);
  const sq = t.b.node('Squeeze', [un, t.b.initializer('axes0', BigInt64Array.from([0n]), [1])]);
  const w = t.weight('w', [14, 3]);
  const y = t.b.node('MatMul', [sq, w]);
  await assertGradients(t.weightedSumLoss(y, [4, 3]), { loss: 'objective', samplesPerWeight: 30 }, DOUBLE_TOL);
});

test('Softmax, LogSoftmax (axis 1 and -1), ReduceMean and ReduceSum with and without keepdims', async () => {
  const t = new TinyGraph();
  const x = t.weight('x', [2, 3, 4], -2, 2);
  const sm = t.b.node('Softmax', [x], { axis: 1 });
  const lsm = t.b.node('LogSoftmax', [x], { axis: -1 });
  const mix = t.b.node('Mul', [sm, lsm]);
  const mean = t.b.node('ReduceMean', [mix], { axes: [2], keepdims: 1 });
  const sum = t.b.node('ReduceSum', [mix, t.b.initializer('axes', BigInt64Array.from([0n]), [1])], { keepdims: 0 });
  const y = t.b.node('Add', [mean, sum]);
  await assertGradients(t.weightedSumLoss(y, [2, 3, 4]), { loss: 'objective', samplesPerWeight: 24 }, DOUBLE_TOL);
});
