import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuildError } from '../errors.js';
import { GraphBuilder, attr, toAttribute } from './builder.js';
import { DataType } from './data-type.js';
import { tensorToTypedArray } from './tensor.js';

test('builds the README example into a typed model', () => {
  const b = new GraphBuilder('net');
  const x = b.input('x', 'float32', [1, 3, 32, 32]);
  const weights = Float32Array.from({ length: 8 * 3 * 3 * 3 }, (_, i) => i / 100);
  const w = b.initializer('w', weights, [8, 3, 3, 3]);
  const y = b.node('Conv', [x, w], { pads: [1, 1, 1, 1] });
  b.output(y);
  const model = b.build({ opset: 17 });
  assert.equal(model.irVersion, 8);
  assert.deepEqual(model.opsetImports, [{ domain: '', version: 17 }]);
  const g = model.graph;
  assert.equal(g.name, 'net');
  assert.deepEqual(g.nodes.map((n) => [n.name, n.opType, n.inputs, n.outputs]), [['Conv_0', 'Conv', ['x', 'w'], ['Conv_0_output']]]);
  assert.deepEqual(g.nodes[0].attributes.pads, { type: 'ints', value: [1, 1, 1, 1] });
  assert.deepEqual(g.outputs[0].type, { kind: 'tensor', elemType: DataType.FLOAT, shape: [1, 8, 32, 32] });
  // initializer data is a view over the caller's array
  assert.equal(g.initializers[0].data.buffer, weights.buffer);
  assert.deepEqual(tensorToTypedArray(g.initializers[0]), weights);
});

test('attribute types are inferred from JS values, with explicit overrides', () => {
  assert.deepEqual(toAttribute('axis', 1), { type: 'int', value: 1 });
  assert.deepEqual(toAttribute('alpha', 1), { type: 'float', value: 1 });
  assert.deepEqual(toAttribute('ratio', 0.5), { type: 'float', value: 0.5 });
  assert.deepEqual(toAttribute('perm', [0, 2, 1]), { type: 'ints', value: [0, 2, 1] });
  assert.deepEqual(toAttribute('scales', [1, 2]), { type: 'floats', value: [1, 2] });
  assert.deepEqual(toAttribute('x', [0.5, 1]), { type: 'floats', value: [0.5, 1] });
  assert.equal(toAttribute('mode', 'nearest').type, 'string');
  assert.equal(toAttribute('names', ['a', 'b']).type, 'strings');
  assert.deepEqual(toAttribute('huge', 2n ** 62n), { type: 'int', value: 2n ** 62n });
  assert.deepEqual(toAttribute('custom', attr.float(2)), { type: 'float', value: 2 });
  assert.deepEqual(toAttribute('seed', 3, 'Dropout'), { type: 'int', value: 3 });
  assert.deepEqual(toAttribute('seed', 3, 'RandomNormal'), { type: 'float', value: 3 });
  assert.deepEqual(attr.ints([1]), { type: 'ints', value: [1] });
});

test('multi-output nodes, omitted inputs, constants and subgraphs', () => {
  const body = new GraphBuilder('body');
  body.output(body.node('Identity', ['x'], {}, { outputs: ['inner'] }), 'float32', [2]);
  const b = new GraphBuilder('g');
  const x = b.input('x', 'float32', [2]);
  const cond = b.input('c', 'bool', []);
  const [y, mask] = b.nodeWithOutputs('Dropout', [x], {}, { outputs: 2 });
  const k = b.constant(Float32Array.from([1, 2]));
  const clipped = b.node('Clip', [y, null, k]);
  const branch = b.node('If', [cond], { then_branch: body.buildGraph(), else_branch: body.buildGraph() });
  b.output(clipped);
  b.output(mask);
  b.output(branch, 'float32', [2]);
  const model = b.build();
  const [dropout, constant, clip, ifNode] = model.graph.nodes;
  assert.deepEqual(dropout.outputs, ['Dropout_0_output_0', 'Dropout_0_output_1']);
  assert.equal(constant.attributes.value.type, 'tensor');
  assert.deepEqual(clip.inputs, [y, '', k]);
  assert.equal(ifNode.attributes.then_branch.type, 'graph');
  assert.deepEqual(model.graph.outputs.map((o) => o.type?.kind === 'tensor' && o.type.elemType), [DataType.FLOAT, DataType.BOOL, DataType.FLOAT]);
});

test('builder misuse is a GraphBuildError', () => {
  const b = new GraphBuilder('g');
  b.input('x', 'float32', [2]);
  assert.throws(() => b.input('x', 'float32', [2]), GraphBuildError);
  assert.throws(() => b.input('y', 'complex256' as 'float32', [2]), /unknown dtype/);
  assert.throws(() => b.initializer('w', new Float32Array(3), [2, 2]), GraphBuildError);
  assert.throws(() => b.node('Relu', ['x'], {}, { outputs: ['x'] }), /defined twice/);
  b.output(b.node('MysteryOp', ['x']));
  assert.throws(() => b.build(), /cannot infer the type of output/);
});
