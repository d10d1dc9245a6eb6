import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphCycleError } from '../errors.js';
import { GraphBuilder } from '../ir/builder.js';
import type { Model } from '../ir/types.js';
import { topologicalSort } from './topological-sort.js';

function chain(): Model {
  const b = new GraphBuilder('g');
  const x = b.input('x', 'float32', [2]);
  const a = b.node('Relu', [x], {}, { name: 'a' });
  const c = b.node('Neg', [x], {}, { name: 'c' });
  const d = b.node('Add', [a, c], {}, { name: 'd' });
  b.output(d);
  return b.build();
}

test('a sorted graph comes back unchanged (same object, modified false)', () => {
  const model = chain();
  const result = topologicalSort(model);
  assert.equal(result.modified, false);
  assert.equal(result.model, model);
});

test('sorts a shuffled graph stably and does not mutate the input', () => {
  const model = chain();
  const [a, c, d] = model.graph.nodes;
  model.graph.nodes = [d, c, a];
  const result = topologicalSort(model);
  assert.equal(result.modified, true);
  // c and a are both ready at the start; c came first in the input, so it stays first.
  assert.deepEqual(result.model.graph.nodes.map((n) => n.name), ['c', 'a', 'd']);
  assert.deepEqual(model.graph.nodes.map((n) => n.name), ['d', 'c', 'a']);
});

test('values captured by subgraphs are ordering dependencies; subgraphs are sorted too', () => {
  const body = new GraphBuilder('body');
  const inner1 = body.node('Neg', ['t'], {}, { name: 'inner1', outputs: ['i1'] });
  const inner2 = body.node('Relu', [inner1], {}, { name: 'inner2', outputs: ['i2'] });
  body.output(inner2, 'float32', [2]);
  const bodyGraph = body.buildGraph();
  bodyGraph.nodes.reverse();
  const b = new GraphBuilder('g');
  const x = b.input('x', 'float32', [2]);
  const cond = b.input('cond', 'bool', []);
  const branch = b.node('If', [cond], { then_branch: bodyGraph, else_branch: bodyGraph }, { name: 'if' });
  b.node('Relu', [x], {}, { name: 'producer', outputs: ['t'] });
  b.output(branch, 'float32', [2]);
  const { model } = topologicalSort(b.build({ inferShapes: false }));
  assert.deepEqual(model.graph.nodes.map((n) => n.name), ['producer', 'if']);
  const then = model.graph.nodes[1].attributes.then_branch;
  assert.ok(then.type === 'graph');
  assert.deepEqual(then.value.nodes.map((n) => n.name), ['inner1', 'inner2']);
});

test('a cycle raises GraphCycleError naming the nodes on it', () => {
  const b = new GraphBuilder('loop');
  const x = b.input('x', 'float32', [2]);
  b.node('Add', [x, 'q'], {}, { name: 'p', outputs: ['p_out'] });
  b.node('Relu', ['p_out'], {}, { name: 'q', outputs: ['q'] });
  b.output(b.node('Neg', [x], {}, { name: 'free' }));
  const model = b.build();
  assert.throws(() => topologicalSort(model), (e: unknown) => {
    assert.ok(e instanceof GraphCycleError);
    assert.equal(e.cycle.length, 3);
    assert.deepEqual(new Set(e.cycle), new Set(['p', 'q']));
    assert.match(e.message, /graph 'loop' has a cycle: (p -> q -> p|q -> p -> q)/);
    return true;
  });
});
