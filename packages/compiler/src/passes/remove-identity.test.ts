import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder, attr } from '../ir/builder.js';
import { removeIdentity } from './remove-identity.js';
import { assertCheckerPasses, assertSameOutputs, floatTensorOf, runModel, seededFloats } from './test-support.js';

test('removes Identity and inference Dropout, keeps graph output names, same outputs on onnxruntime', async () => {
  const b = new GraphBuilder('g');
  const x = b.input('x', 'float32', [2, 4]);
  const w = b.initializer('w', seededFloats(4, 1), [4]);
  const a = b.node('Add', [x, w], {}, { name: 'add' });
  const i1 = b.node('Identity', [a], {}, { name: 'id1' });
  const [d] = b.nodeWithOutputs('Dropout', [i1], { seed: attr.int(1) }, { name: 'drop', outputs: ['d'] });
  const r = b.node('Relu', [d], {}, { name: 'relu' });
  b.output(b.node('Identity', [r], {}, { name: 'id_out', outputs: ['y'] }));
  b.output(b.node('Identity', [x], {}, { name: 'copy', outputs: ['x_copy'] }));
  const model = b.build();
  const { model: out, modified } = removeIdentity(model);
  assert.equal(modified, true);
  assert.deepEqual(out.graph.nodes.map((n) => n.opType), ['Add', 'Relu', 'Identity']);
  assert.equal(out.graph.nodes[1].outputs[0], 'y');
  assert.equal(model.graph.nodes.length, 6, 'input not mutated');
  assert.equal(removeIdentity(out).modified, false);
  const feeds = { x: floatTensorOf(seededFloats(8, 2), [2, 4]) };
  assertSameOutputs(await runModel(out, feeds), await runModel(model, feeds));
  assertCheckerPasses(out);
});

test('keeps a Dropout whose mask is read', () => {
  const b = new GraphBuilder('g');
  const x = b.input('x', 'float32', [2]);
  const [y, mask] = b.nodeWithOutputs('Dropout', [x], {}, { name: 'drop', outputs: ['y', 'mask'] });
  b.output(y, 'float32', [2]);
  b.output(mask, 'bool', [2]);
  assert.equal(removeIdentity(b.build()).modified, false);
});
