import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder, attr } from '../ir/builder.js';
import { tensorToNumbers } from '../ir/tensor.js';
import { constantToInitializer } from './constant-to-initializer.js';
import { assertCheckerPasses, assertSameOutputs, floatTensorOf, runModel } from './test-support.js';

test('Constant nodes become initializers with the same values', async () => {
  const b = new GraphBuilder('g');
  const x = b.input('x', 'float32', [3]);
  const c = b.constant(Float32Array.from([1, 2, 3]), [3], { name: 'c' });
  const f = b.node('Constant', [], { value_float: attr.float(0.5) }, { name: 'f' });
  const ints = b.node('Constant', [], { value_ints: attr.ints([3]) }, { name: 'ints' });
  const y = b.node('Mul', [b.node('Add', [x, c]), f]);
  b.output(b.node('Reshape', [y, ints]));
  const model = b.build();
  const { model: out, modified } = constantToInitializer(model);
  assert.equal(modified, true);
  assert.equal(out.graph.nodes.filter((n) => n.opType === 'Constant').length, 0);
  assert.deepEqual(tensorToNumbers(out.graph.initializers.find((t) => t.name === ints)!), [3]);
  const feeds = { x: floatTensorOf(Float32Array.from([1, -1, 2]), [3]) };
  assertSameOutputs(await runModel(out, feeds), await runModel(model, feeds));
  assertCheckerPasses(out);
  assert.equal(constantToInitializer(out).modified, false);
});
