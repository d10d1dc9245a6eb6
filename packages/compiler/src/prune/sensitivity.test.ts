import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../ir/builder.js';
import { seededFloats } from '../passes/test-support.js';
import { analyzePruningSensitivity } from './sensitivity.js';

test('ranks channel groups by how much pruning each alone changes the outputs', async () => {
  const b = new GraphBuilder('g');
  const x = b.input('x', 'float32', [1, 3, 8, 8]);
  // conv_a feeds the head strongly, conv_b barely (its consumer's weights are tiny).
  const a = b.node('Relu', [b.node('Conv', [x, b.initializer('wa', seededFloats(8 * 3, 1), [8, 3, 1, 1])], {}, { name: 'conv_a' })]);
  const c = b.node('Relu', [b.node('Conv', [a, b.initializer('wb', seededFloats(8 * 8, 2), [8, 8, 1, 1])], {}, { name: 'conv_b' })]);
  const wc = seededFloats(6 * 8, 3).map((v) => v * 1e-3);
  const head = b.node('Conv', [c, b.initializer('wc', wc, [6, 8, 1, 1])], {}, { name: 'conv_c' });
  const skip = b.node('Conv', [a, b.initializer('wd', seededFloats(6 * 8, 4), [6, 8, 1, 1])], {}, { name: 'conv_d' });
  const flat = b.node('Flatten', [b.node('GlobalAveragePool', [b.node('Add', [head, skip])])]);
  b.output(b.node('Gemm', [flat, b.initializer('fc', seededFloats(4 * 6, 5), [4, 6])], { transB: 1 }, { outputs: ['y'] }));
  const samples = Array.from({ length: 6 }, (_, i) => ({ x: { data: seededFloats(192, 10 + i, 2), dims: [1, 3, 8, 8] } }));
  const result = await analyzePruningSensitivity(b.build({ opset: 13 }), samples, { ratio: 0.5 });
  assert.deepEqual(result.map((r) => r.convs.join('+')).sort(), ['conv_a', 'conv_b', 'conv_c+conv_d']);
  assert.equal(result[0].convs.join('+'), 'conv_b', 'the group whose consumer barely matters is the least sensitive');
  assert.ok(result[0].relativeError < 0.01, JSON.stringify(result[0]));
  for (let i = 1; i < result.length; i++) {
    assert.ok(result[i - 1].agreement > result[i].agreement || result[i - 1].relativeError <= result[i].relativeError, 'sorted most robust first');
  }
  for (const r of result) assert.equal(r.kept, r.channels / 2);
});
