import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../ir/builder.js';
import { removeDeadCode } from './remove-dead-code.js';

test('removes nodes and initializers that do not reach an output, without mutating', () => {
  const b = new GraphBuilder('g');
  const x = b.input('x', 'float32', [2]);
  const w = b.initializer('w', Float32Array.from([1, 2]), [2]);
  const unused = b.initializer('unused', Float32Array.from([3, 4]), [2]);
  const live = b.node('Add', [x, w], {}, { name: 'live' });
  const dead1 = b.node('Mul', [x, unused], {}, { name: 'dead1' });
  b.node('Relu', [dead1], {}, { name: 'dead2' });
  b.output(live);
  const model = b.build();
  const { model: out, modified } = removeDeadCode(model);
  assert.equal(modified, true);
  assert.deepEqual(out.graph.nodes.map((n) => n.name), ['live']);
  assert.deepEqual(out.graph.initializers.map((t) => t.name), ['w']);
  assert.ok(out.graph.valueInfo.every((v) => v.name !== dead1));
  assert.equal(model.graph.nodes.length, 3);
  assert.equal(removeDeadCode(out).modified, false);
});

test('values read only inside a subgraph stay alive; dead nodes inside subgraphs go', () => {
  const then = new GraphBuilder('then');
  then.node('Neg', ['captured'], {}, { name: 'then_dead', outputs: ['td'] });
  then.output(then.node('Identity', ['captured'], {}, { name: 'then_id', outputs: ['then_out'] }), 'float32', [2]);
  const otherwise = new GraphBuilder('else');
  otherwise.output(otherwise.node('Identity', ['w'], {}, { name: 'else_id', outputs: ['else_out'] }), 'float32', [2]);
  const b = new GraphBuilder('g');
  const x = b.input('x', 'float32', [2]);
  const cond = b.input('cond', 'bool', []);
  b.initializer('w', Float32Array.from([1, 2]), [2]);
  b.node('Relu', [x], {}, { name: 'feeds_subgraph', outputs: ['captured'] });
  const branch = b.node('If', [cond], { then_branch: then.buildGraph(), else_branch: otherwise.buildGraph() }, { name: 'if' });
  b.output(branch, 'float32', [2]);
  const { model, modified } = removeDeadCode(b.build());
  assert.equal(modified, true);
  assert.deepEqual(model.graph.nodes.map((n) => n.name), ['feeds_subgraph', 'if']);
  assert.deepEqual(model.graph.initializers.map((t) => t.name), ['w']);
  const thenAttr = model.graph.nodes[1].attributes.then_branch;
  assert.ok(thenAttr.type === 'graph');
  assert.deepEqual(thenAttr.value.nodes.map((n) => n.name), ['then_id']);
});

test('initializers that are also graph inputs are kept', () => {
  const b = new GraphBuilder('g');
  const x = b.input('x', 'float32', [2]);
  b.input('overridable', 'float32', [2]);
  b.output(b.node('Relu', [x]));
  const model = b.build();
  model.graph.initializers.push({ name: 'overridable', dataType: 1, dims: [2], data: new Uint8Array(8) });
  assert.equal(removeDeadCode(model).model.graph.initializers.length, 1);
});
