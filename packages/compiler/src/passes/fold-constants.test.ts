import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../ir/builder.js';
import { tensorToNumbers } from '../ir/tensor.js';
import { foldConstants } from './fold-constants.js';
import { removeDeadCode } from './remove-dead-code.js';
import { assertCheckerPasses, assertSameOutputs, floatTensorOf, runModel, seededFloats } from './test-support.js';

test('folds the Shape -> Gather -> Unsqueeze -> Concat -> Reshape chain exporters emit', async () => {
  const b = new GraphBuilder('g');
  const x = b.input('x', 'float32', [2, 3, 4]);
  const shape = b.node('Shape', [x], {}, { name: 'shape' });
  const zero = b.initializer('zero', BigInt64Array.of(0n), []);
  const batch = b.node('Gather', [shape, zero], { axis: 0 }, { name: 'gather' });
  const axes = b.initializer('axes', BigInt64Array.of(0n), [1]);
  const unsq = b.node('Unsqueeze', [batch, axes], {}, { name: 'unsq' });
  const minusOne = b.initializer('minus_one', BigInt64Array.of(-1n), [1]);
  const target = b.node('Concat', [unsq, minusOne], { axis: 0 }, { name: 'concat' });
  const flat = b.node('Reshape', [x, target], {}, { name: 'reshape' });
  // Float arithmetic on constants, then a cast and a slice.
  const w = b.initializer('w', seededFloats(12, 3), [12]);
  const w2 = b.node('Div', [b.node('Mul', [w, b.initializer('k', Float32Array.of(3.3), [])]), b.initializer('d', Float32Array.of(7), [])]);
  const sliced = b.node('Slice', [w2, b.initializer('s0', BigInt64Array.of(0n), [1]), b.initializer('s1', BigInt64Array.of(9223372036854775807n), [1])]);
  const castBack = b.node('Cast', [b.node('Cast', [sliced], { to: 10 }), ], { to: 1 });
  b.output(b.node('Add', [flat, castBack], {}, { name: 'out', outputs: ['y'] }));
  const model = b.build();
  const { model: folded, modified } = foldConstants(model);
  assert.equal(modified, true);
  const cleaned = removeDeadCode(folded).model;
  assert.deepEqual(cleaned.graph.nodes.map((n) => n.opType), ['Reshape', 'Add']);
  assert.deepEqual(tensorToNumbers(cleaned.graph.initializers.find((t) => t.name === target)!), [2, -1]);
  const feeds = { x: floatTensorOf(seededFloats(24, 4), [2, 3, 4]) };
  assertSameOutputs(await runModel(cleaned, feeds, { graphOptimizationLevel: 'disabled' }), await runModel(model, feeds, { graphOptimizationLevel: 'disabled' }));
  assertCheckerPasses(cleaned);
  assert.equal(foldConstants(cleaned).modified, false);
});

test('leaves Shape of a dynamic dimension alone', () => {
  const b = new GraphBuilder('g');
  const x = b.input('x', 'float32', ['N', 4]);
  b.output(b.node('Shape', [x]));
  assert.equal(foldConstants(b.build()).modified, false);
});
