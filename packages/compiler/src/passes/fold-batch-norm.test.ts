import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../ir/builder.js';
import { foldBatchNorm } from './fold-batch-norm.js';
import { assertCheckerPasses, assertSameOutputs, floatTensorOf, runModel, seededFloats } from './test-support.js';

function bn(b: GraphBuilder, x: string, c: number, seed: number): string {
  const gamma = b.initializer(`g${seed}`, seededFloats(c, seed).map((v) => 1 + v / 2), [c]);
  const beta = b.initializer(`b${seed}`, seededFloats(c, seed + 1), [c]);
  const mean = b.initializer(`m${seed}`, seededFloats(c, seed + 2), [c]);
  const variance = b.initializer(`v${seed}`, seededFloats(c, seed + 3).map((v) => 1.5 + v), [c]);
  return b.node('BatchNormalization', [x, gamma, beta, mean, variance], { epsilon: 1e-3 });
}

test('folds BatchNormalization into Conv (with and without bias) and Gemm', async () => {
  const b = new GraphBuilder('g');
  const x = b.input('x', 'float32', ['N', 3, 8, 8]);
  let y = b.node('Conv', [x, b.initializer('w1', seededFloats(8 * 27, 5), [8, 3, 3, 3])], { pads: [1, 1, 1, 1] });
  y = b.node('Relu', [bn(b, y, 8, 10)]);
  y = b.node('Conv', [y, b.initializer('w2', seededFloats(8 * 9, 6), [8, 1, 3, 3]), b.initializer('c2', seededFloats(8, 7), [8])], { group: 8 });
  y = bn(b, y, 8, 20);
  y = b.node('Flatten', [b.node('GlobalAveragePool', [y])]);
  y = b.node('Gemm', [y, b.initializer('fc', seededFloats(5 * 8, 8), [5, 8]), b.initializer('fcb', seededFloats(5, 9), [5])], { transB: 1, alpha: 0.5, beta: 2 });
  b.output(bn(b, y, 5, 30));
  const model = b.build();
  const { model: out, modified } = foldBatchNorm(model);
  assert.equal(modified, true);
  assert.equal(out.graph.nodes.filter((n) => n.opType === 'BatchNormalization').length, 0);
  const feeds = { x: floatTensorOf(seededFloats(2 * 3 * 64, 11), [2, 3, 8, 8]) };
  const opts = { graphOptimizationLevel: 'disabled' } as const;
  assertSameOutputs(await runModel(out, feeds, opts), await runModel(model, feeds, opts), 1e-5);
  assertCheckerPasses(out);
  assert.equal(foldBatchNorm(out).modified, false);
});

test('keeps a BatchNormalization whose input has other readers', () => {
  const b = new GraphBuilder('g');
  const x = b.input('x', 'float32', [1, 2, 4, 4]);
  const y = b.node('Conv', [x, b.initializer('w', seededFloats(4, 1), [2, 2, 1, 1])]);
  b.output(bn(b, y, 2, 3));
  b.output(b.node('Relu', [y]));
  assert.equal(foldBatchNorm(b.build()).modified, false);
});
