import assert from 'node:assert/strict';
import { test } from 'node:test';
import { augmentBatch } from './augment.js';
import { createOptimizer } from './optimizers.js';
import type { Parameter } from './optimizers.js';
import { Rng } from './random.js';
import { learningRateAt } from './schedules.js';

const close = (a: number, b: number, tol = 1e-6): void => assert.ok(Math.abs(a - b) < tol, `${a} != ${b}`);

test('SGD with momentum and L2 decay on matrices only, as PyTorch', () => {
  const w: Parameter = { name: 'w', shape: [1, 2], values: Float32Array.from([1, -2]) };
  const b: Parameter = { name: 'b', shape: [1], values: Float32Array.from([0.5]) };
  const opt = createOptimizer({ kind: 'sgd', momentum: 0.9, weightDecay: 0.1 });
  const grads = new Map([['w', Float32Array.from([0.5, 0.5])], ['b', Float32Array.from([1])]]);
  opt.step([w, b], grads, 0.1);
  close(w.values[0], 1 - 0.1 * (0.5 + 0.1 * 1));
  close(b.values[0], 0.5 - 0.1 * 1);
  opt.step([w, b], grads, 0.1);
  const v1 = 0.5 + 0.1 * 1;
  const w1 = 1 - 0.1 * v1;
  close(w.values[0], w1 - 0.1 * (0.9 * v1 + 0.5 + 0.1 * w1), 1e-6);
  assert.equal(opt.state().step, 2);
});

test('Adam bias-corrected first step moves each weight by lr; decoupled decay', () => {
  const w: Parameter = { name: 'w', shape: [2, 1], values: Float32Array.from([1, 1]) };
  const opt = createOptimizer({ kind: 'adam', weightDecay: 0.5 });
  opt.step([w], new Map([['w', Float32Array.from([3, -0.01])]]), 0.01);
  close(w.values[0], 1 - 0.01 * (1 + 0.5), 1e-5);
  close(w.values[1], 1 - 0.01 * (-1 + 0.5), 1e-5);
  const copy = createOptimizer({ kind: 'adam', weightDecay: 0.5 });
  copy.load(opt.state());
  assert.equal(copy.state().step, 1);
});

test('cosine and step schedules', () => {
  close(learningRateAt({ kind: 'cosine' }, 0.1, 0, 10), 0.1);
  close(learningRateAt({ kind: 'cosine' }, 0.1, 5, 10), 0.05);
  close(learningRateAt({ kind: 'cosine', minLr: 0.01 }, 0.1, 10, 10), 0.01);
  assert.ok(learningRateAt({ kind: 'cosine', warmupEpochs: 1 }, 0.1, 0.5, 10) < 0.06);
  close(learningRateAt({ kind: 'step', everyEpochs: 2, gamma: 0.5 }, 0.1, 3.5, 10), 0.05);
  close(learningRateAt({ kind: 'step', milestones: [1, 3], gamma: 0.1 }, 1, 3, 10), 0.01);
});

test('augmentation: integer shifts move content, flips mirror, photometric ops change statistics, all seeded', () => {
  const side = 6;
  const image = new Float32Array(side * side);
  image[2 * side + 2] = 1;
  const shifted = Float32Array.from(image);
  augmentBatch(shifted, 1, [1, side, side], { shift: 2 }, new Rng(3));
  assert.equal(shifted.reduce((a, b) => a + b, 0), 1, 'an integer shift keeps the single pixel whole');
  const again = Float32Array.from(image);
  augmentBatch(again, 1, [1, side, side], { shift: 2 }, new Rng(3));
  assert.deepEqual(again, shifted);

  const ramp = Float32Array.from({ length: side * side }, (_, i) => i % side);
  let flipped = Float32Array.from(ramp);
  for (let seed = 0; seed < 20 && flipped[0] === 0; seed++) {
    flipped = Float32Array.from(ramp);
    augmentBatch(flipped, 1, [1, side, side], { flip: true }, new Rng(seed));
  }
  assert.equal(flipped[0], side - 1);

  const rotated = Float32Array.from(ramp);
  augmentBatch(rotated, 1, [1, side, side], { rotate: 15 }, new Rng(1));
  assert.notDeepEqual(rotated, ramp);
  const noisy = new Float32Array(400);
  augmentBatch(noisy, 1, [1, 20, 20], { noise: 0.5, brightness: 0.2, contrast: 0.3 }, new Rng(2));
  const mean = noisy.reduce((a, b) => a + b, 0) / 400;
  const std = Math.sqrt(noisy.reduce((a, b) => a + (b - mean) ** 2, 0) / 400);
  assert.ok(std > 0.3 && std < 0.8, `noise std ${std}`);
});
