import { test } from 'node:test';
import { DOUBLE_TOL, FLOAT_TOL, TinyGraph, assertGradients } from './test-support.js';

test('Add/Sub/Mul/Div with broadcasting match finite differences', async () => {
  const t = new TinyGraph();
  const a = t.weight('a', [2, 3, 4]);
  const b = t.weight('b', [3, 1]);
  const c = t.weight('c', [4]);
  const d = t.weight('d', [1, 3, 1], 0.5, 1.5);
  const s = t.b.node('Add', [a, b]);
  const m = t.b.node('Mul', [s, c]);
  const u = t.b.node('Sub', [m, b]);
  const y = t.b.node('Div', [u, d]);
  const z = t.b.node('Mul', [y, a]); // fan-out: a is read twice
  await assertGradients(t.weightedSumLoss(z, [2, 3, 4]), { loss: 'objective', samplesPerWeight: 24 }, DOUBLE_TOL);
});

test('Div gradient with respect to a broadcast scalar divisor', async () => {
  const t = new TinyGraph();
  const a = t.weight('a', [3, 2]);
  const d = t.weight('d', [], 1, 2);
  await assertGradients(t.weightedSumLoss(t.b.node('Div', [a, d]), [3, 2]), { loss: 'objective' }, DOUBLE_TOL);
});

test('Relu, Clip (ReLU6), Sigmoid, Tanh, LeakyRelu, Exp, Sqrt match finite differences', async () => {
  const t = new TinyGraph();
  const x = t.weight('x', [4, 6], -3, 8);
  const lo = t.values('lo', [0], []);
  const hi = t.values('hi', [6], []);
  const relu6 = t.b.node('Clip', [x, lo, hi]);
  const relu = t.b.node('Relu', [t.b.node('Sub', [x, t.values('shift', [2], [])])]);
  const sig = t.b.node('Sigmoid', [t.b.node('Mul', [relu6, relu])]);
  const tanh = t.b.node('Tanh', [t.b.node('Mul', [x, t.values('scale', [0.3], [])])]);
  const leaky = t.b.node('LeakyRelu', [tanh], { alpha: 0.1 });
  const exp = t.b.node('Exp', [leaky]);
  const sq = t.b.node('Sqrt', [t.b.node('Add', [sig, exp])]);
  await assertGradients(
    t.weightedSumLoss(sq, [4, 6]),
    { loss: 'objective', trainable: ['x'], samplesPerWeight: 24, epsilon: 1e-6 },
    DOUBLE_TOL,
  );
});

test('HardSigmoid and HardSwish match finite differences (float32, away from kinks)', async () => {
  const t = new TinyGraph();
  // Values spread over [-5, 5] but at least 0.1 from the kinks at +-3 (HardSwish) and +-2.5 (HardSigmoid).
  const raw = Array.from({ length: 24 }, (_, i) => -5 + (10 * (i + 0.5)) / 24);
  const safe = raw.map((v) => ([-3, 3, -2.5, 2.5].some((k) => Math.abs(v - k) < 0.1) ? v + 0.2 : v));
  const x = t.values('x', safe, [4, 6]);
  const hs = t.b.node('HardSigmoid', [x], { alpha: 0.2, beta: 0.5 });
  const hw = t.b.node('HardSwish', [x]);
  const y = t.b.node('Add', [hs, hw]);
  await assertGradients(
    t.weightedSumLoss(y, [4, 6]),
    { loss: 'objective', trainable: ['x'], numericType: 'float32', epsilon: 1e-2, samplesPerWeight: 24 },
    FLOAT_TOL,
  );
});

test('Log, Reciprocal, Neg and Identity match finite differences', async () => {
  const t = new TinyGraph();
  const x = t.weight('x', [3, 4], 0.5, 2);
  const log = t.b.node('Log', [x]);
  const rec = t.b.node('Reciprocal', [t.b.node('Identity', [x])]);
  const y = t.b.node('Neg', [t.b.node('Mul', [log, rec])]);
  await assertGradients(t.weightedSumLoss(y, [3, 4]), { loss: 'objective', trainable: ['x'], samplesPerWeight: 12 }, DOUBLE_TOL);
});
