import { test } from 'node:test';
import { FLOAT_TOL, TinyGraph, assertGradients } from './test-support.js';

// onnxruntime's CPU provider has no double Conv / ConvTranspose / AveragePool kernels, so these
// checks run the numeric side in float32 (see FLOAT_TOL); the losses are linear in every weight.
const floatCheck = { loss: 'objective', numericType: 'float32' as const, epsilon: 1e-2, samplesPerWeight: 20 };

function outSize(size: number, kernel: number, stride: number, padBegin: number, padEnd: number, dilation: number): number {
  return Math.floor((size + padBegin + padEnd - ((kernel - 1) * dilation + 1)) / stride) + 1;
}

test('Conv 3x3, stride 1, pad 1, with bias: weight, bias and input gradients', async () => {
  const t = new TinyGraph();
  const x = t.weight('x', [2, 3, 6, 5]);
  const w = t.weight('w', [4, 3, 3, 3]);
  const bias = t.weight('bias', [4]);
  const y = t.b.node('Conv', [x, w, bias], { pads: [1, 1, 1, 1] });
  await assertGradients(t.weightedSumLoss(y, [2, 4, 6, 5]), floatCheck, FLOAT_TOL);
});

test('Conv strided, asymmetric padding, dilated, odd sizes', async () => {
  const t = new TinyGraph();
  const x = t.weight('x', [2, 2, 9, 8]);
  const w = t.weight('w', [3, 2, 3, 2]);
  const y = t.b.node('Conv', [x, w], { strides: [2, 3], pads: [1, 0, 2, 1], dilations: [2, 1] });
  const dims = [2, 3, outSize(9, 3, 2, 1, 2, 2), outSize(8, 2, 3, 0, 1, 1)];
  await assertGradients(t.weightedSumLoss(y, dims), floatCheck, FLOAT_TOL);
});

test('Conv with stride 2 whose windows leave a remainder (output_padding path)', async () => {
  const t = new TinyGraph();
  const x = t.weight('x', [1, 2, 8, 8]);
  const w = t.weight('w', [2, 2, 3, 3]);
  const y = t.b.node('Conv', [x, w], { strides: [2, 2] });
  await assertGradients(t.weightedSumLoss(y, [1, 2, 3, 3]), floatCheck, FLOAT_TOL);
});

test('grouped Conv (group 2) with padding', async () => {
  const t = new TinyGraph();
  const x = t.weight('x', [2, 4, 5, 5]);
  const w = t.weight('w', [6, 2, 3, 3]);
  const bias = t.weight('bias', [6]);
  const y = t.b.node('Conv', [x, w, bias], { group: 2, pads: [1, 1, 1, 1] });
  await assertGradients(t.weightedSumLoss(y, [2, 6, 5, 5]), floatCheck, FLOAT_TOL);
});

test('depthwise Conv with channel multiplier 2, stride 2, pad 1', async () => {
  const t = new TinyGraph();
  const x = t.weight('x', [3, 3, 7, 7]);
  const w = t.weight('w', [6, 1, 3, 3]);
  const y = t.b.node('Conv', [x, w], { group: 3, strides: [2, 2], pads: [1, 1, 1, 1] });
  await assertGradients(t.weightedSumLoss(y, [3, 6, 4, 4]), floatCheck, FLOAT_TOL);
});

test('depthwise Conv with auto_pad SAME_UPPER / SAME_LOWER and stride 2', async () => {
  const t = new TinyGraph();
  const x = t.weight('x', [2, 4, 6, 5]);
  const w = t.weight('w', [4, 1, 3, 3]);
  const y = t.b.node('Conv', [x, w], { group: 4, auto_pad: 'SAME_UPPER', strides: [2, 2] });
  const w2 = t.weight('w2', [4, 1, 2, 2]);
  const z = t.b.node('Conv', [y, w2], { group: 4, auto_pad: 'SAME_LOWER' });
  await assertGradients(t.weightedSumLoss(z, [2, 4, 3, 3]), floatCheck, FLOAT_TOL);
});

test('pointwise 1x1 Conv and 1-D Conv', async () => {
  const t = new TinyGraph();
  const x = t.weight('x', [2, 3, 4, 4]);
  const w = t.weight('w', [5, 3, 1, 1]);
  const y = t.b.node('Conv', [x, w]);
  const seq = t.b.node('Reshape', [y, t.b.initializer('shape', BigInt64Array.from([2n, 5n, 16n]), [3])]);
  const w1 = t.weight('w1', [2, 5, 3]);
  const z = t.b.node('Conv', [seq, w1], { strides: [2], pads: [1, 1] });
  await assertGradients(t.weightedSumLoss(z, [2, 2, 8]), floatCheck, FLOAT_TOL);
});

test('MaxPool 3x3 stride 2 pad 1 (overlapping windows), input gradient', async () => {
  const t = new TinyGraph();
  const x = t.weight('x', [2, 3, 7, 7]);
  const y = t.b.node('MaxPool', [x], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
  // Double kernels exist for MaxPool and ScatterElements: numeric side in float64.
  await assertGradients(t.weightedSumLoss(y, [2, 3, 4, 4]), { loss: 'objective', samplesPerWeight: 40, epsilon: 1e-6 }, { rel: 2e-3 });
});

test('MaxPool 2x2 stride 2 feeding from a Conv (weight gradient through the scatter)', async () => {
  const t = new TinyGraph();
  const x = t.weight('x', [2, 2, 6, 6]);
  const w = t.weight('w', [3, 2, 3, 3]);
  const y = t.b.node('MaxPool', [t.b.node('Conv', [x, w], { pads: [1, 1, 1, 1] })], { kernel_shape: [2, 2], strides: [2, 2] });
  await assertGradients(t.weightedSumLoss(y, [2, 3, 3, 3]), { ...floatCheck, epsilon: 1e-3 }, FLOAT_TOL);
});

test('AveragePool: 2x2 stride 2, and 3x3 stride 1 pad 1 with and without count_include_pad', async () => {
  const t = new TinyGraph();
  const x = t.weight('x', [2, 3, 6, 5]);
  const a = t.b.node('AveragePool', [x], { kernel_shape: [2, 2], strides: [2, 2] });
  const b = t.b.node('AveragePool', [a], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  const c = t.b.node('AveragePool', [b], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], count_include_pad: 1 });
  await assertGradients(t.weightedSumLoss(c, [2, 3, 3, 2]), floatCheck, FLOAT_TOL);
});

test('GlobalAveragePool after a Conv', async () => {
  const t = new TinyGraph();
  const x = t.weight('x', [2, 3, 5, 4]);
  const w = t.weight('w', [4, 3, 3, 3]);
  const y = t.b.node('GlobalAveragePool', [t.b.node('Conv', [x, w])]);
  await assertGradients(t.weightedSumLoss(y, [2, 4, 1, 1]), floatCheck, FLOAT_TOL);
});
