import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ShapeInferenceError, UnsupportedOpError } from '../errors.js';
import { GraphBuilder } from './builder.js';
import { inferShapes } from './shape-inference.js';
import { c, f, inferOne } from './shape-test-support.js';
import type { InputSpec } from './shape-test-support.js';
import type { Model } from './types.js';

const X: InputSpec = ['x', 'float32', [1, 3, 32, 32]];

test('Conv: pads, strides, dilations, groups, auto_pad, symbolic batch', () => {
  assert.deepEqual(inferOne('Conv', [X, f('w', [8, 3, 3, 3])], { pads: [1, 1, 1, 1] }), [1, 8, 32, 32]);
  assert.deepEqual(inferOne('Conv', [X, f('w', [8, 3, 3, 3])], { strides: [2, 2] }), [1, 8, 15, 15]);
  assert.deepEqual(inferOne('Conv', [X, f('w', [8, 3, 3, 3])], { dilations: [2, 2] }), [1, 8, 28, 28]);
  assert.deepEqual(inferOne('Conv', [X, f('w', [6, 1, 3, 3])], { group: 3, auto_pad: 'SAME_UPPER', strides: [2, 2] }), [1, 6, 16, 16]);
  assert.deepEqual(inferOne('Conv', [X, f('w', [8, 3, 5, 5])], { auto_pad: 'VALID', strides: [3, 3] }), [1, 8, 10, 10]);
  assert.deepEqual(inferOne('Conv', [f('x', ['N', 3, 'H', 32]), f('w', [8, 3, 1, 1])]), ['N', 8, 'H', 32]);
  assert.throws(() => inferOne('Conv', [X, f('w', [8, 4, 3, 3])]), ShapeInferenceError);
});

test('ConvTranspose: strides, output_padding, output_shape, groups', () => {
  assert.deepEqual(inferOne('ConvTranspose', [f('x', [1, 4, 8, 8]), f('w', [4, 2, 3, 3])], { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] }), [1, 2, 16, 16]);
  assert.deepEqual(inferOne('ConvTranspose', [f('x', [1, 4, 8, 8]), f('w', [4, 2, 3, 3])], { group: 2, auto_pad: 'SAME_UPPER', strides: [2, 2] }), [1, 4, 16, 16]);
  assert.deepEqual(inferOne('ConvTranspose', [f('x', [1, 4, 8, 8]), f('w', [4, 2, 3, 3])], { output_shape: [20, 20], strides: [2, 2] }), [1, 2, 20, 20]);
});

test('Gemm and MatMul', () => {
  assert.deepEqual(inferOne('Gemm', [f('a', [4, 8]), f('b', [10, 8])], { transB: 1 }), [4, 10]);
  assert.deepEqual(inferOne('Gemm', [f('a', [8, 'M']), f('b', [8, 10])], { transA: 1 }), ['M', 10]);
  assert.deepEqual(inferOne('MatMul', [f('a', ['B', 1, 4, 8]), f('b', [3, 8, 5])]), ['B', 3, 4, 5]);
  assert.deepEqual(inferOne('MatMul', [f('a', [8]), f('b', [8, 5])]), [5]);
  assert.deepEqual(inferOne('MatMul', [f('a', [2, 4, 8]), f('b', [8])]), [2, 4]);
  assert.throws(() => inferOne('MatMul', [f('a', [4, 8]), f('b', [7, 5])]), ShapeInferenceError);
});

test('broadcasting elementwise ops', () => {
  for (const op of ['Add', 'Sub', 'Mul', 'Div']) {
    assert.deepEqual(inferOne(op, [f('a', ['N', 3, 1, 5]), f('b', [4, 1])]), ['N', 3, 4, 5]);
  }
  assert.deepEqual(inferOne('Add', [f('a', ['N', 1]), f('b', [1, 'N'])]), ['N', 'N']);
  assert.deepEqual(inferOne('Add', [f('a', ['N']), f('b', ['M'])]), [null]);
  assert.deepEqual(inferOne('Add', [f('a', []), f('b', [2, 3])]), [2, 3]);
  assert.throws(() => inferOne('Add', [f('a', [3]), f('b', [4])]), /cannot broadcast 3 with 4/);
});

test('unary ops keep the shape', () => {
  for (const op of ['Relu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Identity', 'Softmax']) {
    assert.deepEqual(inferOne(op, [f('x', ['N', 10])]), ['N', 10], op);
  }
  assert.deepEqual(inferOne('Clip', [f('x', [2, 3]), null, null]), [2, 3]);
  assert.deepEqual(inferOne('Dropout', [f('x', [2, 3])], {}, { outputs: 2, index: 1 }), [2, 3]);
  assert.deepEqual(inferOne('BatchNormalization', [X, f('s', [3]), f('b', [3]), f('m', [3]), f('v', [3])], { epsilon: 1e-5 }), [1, 3, 32, 32]);
});

test('pooling: kernel, strides, pads, ceil_mode, auto_pad, global', () => {
  assert.deepEqual(inferOne('MaxPool', [X], { kernel_shape: [2, 2], strides: [2, 2] }), [1, 3, 16, 16]);
  assert.deepEqual(inferOne('MaxPool', [f('x', [1, 3, 7, 7])], { kernel_shape: [2, 2], strides: [2, 2] }), [1, 3, 3, 3]);
  assert.deepEqual(inferOne('MaxPool', [f('x', [1, 3, 7, 7])], { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 }), [1, 3, 4, 4]);
  // ceil_mode: a window starting in the right padding is dropped
  assert.deepEqual(inferOne('MaxPool', [f('x', [1, 1, 5, 5])], { kernel_shape: [2, 2], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 }), [1, 1, 3, 3]);
  assert.deepEqual(inferOne('AveragePool', [X], { kernel_shape: [3, 3], auto_pad: 'SAME_LOWER', strides: [2, 2] }), [1, 3, 16, 16]);
  assert.deepEqual(inferOne('AveragePool', [X], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }), [1, 3, 32, 32]);
  assert.deepEqual(inferOne('MaxPool', [X], { kernel_shape: [3, 3], dilations: [2, 2] }), [1, 3, 28, 28]);
  assert.deepEqual(inferOne('GlobalAveragePool', [f('x', ['N', 16, 7, 7])]), ['N', 16, 1, 1]);
});

test('Flatten, Reshape (0, -1, symbolic), Transpose, Concat', () => {
  assert.deepEqual(inferOne('Flatten', [f('x', ['N', 3, 4, 5])]), ['N', 60]);
  assert.deepEqual(inferOne('Flatten', [f('x', [2, 3, 4, 5])], { axis: -1 }), [24, 5]);
  assert.deepEqual(inferOne('Reshape', [f('x', [2, 3, 4]), c('s', [0, -1])]), [2, 12]);
  assert.deepEqual(inferOne('Reshape', [f('x', ['N', 3, 4]), c('s', [0, -1])]), ['N', 12]);
  assert.deepEqual(inferOne('Reshape', [f('x', ['N', 3, 4]), c('s', [-1, 4])]), [null, 4]);
  assert.deepEqual(inferOne('Reshape', [f('x', [2, 3, 4]), c('s', [4, 6])]), [4, 6]);
  assert.throws(() => inferOne('Reshape', [f('x', [2, 3, 4]), c('s', [5, 5])]), ShapeInferenceError);
  assert.deepEqual(inferOne('Transpose', [f('x', ['N', 3, 4])], { perm: [0, 2, 1] }), ['N', 4, 3]);
  assert.deepEqual(inferOne('Transpose', [f('x', [2, 3, 4])]), [4, 3, 2]);
  assert.deepEqual(inferOne('Concat', [f('a', ['N', 3, 8]), f('b', ['N', 5, 8])], { axis: 1 }), ['N', 8, 8]);
  assert.deepEqual(inferOne('Concat', [f('a', ['N', 3]), f('b', ['M', 3])], { axis: 0 }), [null, 3]);
});

test('Resize with constant scales or sizes, Pad, Squeeze/Unsqueeze in both forms', () => {
  const b = new GraphBuilder('g');
  const x = b.input('x', 'float32', ['N', 3, 8, 8]);
  const scales = b.initializer('scales', Float32Array.from([1, 1, 2, 2]), [4]);
  b.output(b.node('Resize', [x, null, scales], { mode: 'nearest' }));
  const sizes = b.initializer('sizes', BigInt64Array.from([1n, 3n, 5n, 7n]), [4]);
  b.output(b.node('Resize', [x, null, null, sizes]));
  const [m1, m2] = inferShapes(b.build({ inferShapes: false }), { strict: true }).model.graph.outputs;
  assert.deepEqual(m1.type?.kind === 'tensor' && m1.type.shape, ['N', 3, 16, 16]);
  assert.deepEqual(m2.type?.kind === 'tensor' && m2.type.shape, [1, 3, 5, 7]);

  assert.deepEqual(inferOne('Pad', [X, c('pads', [0, 0, 1, 2, 0, 0, 3, 4])]), [1, 3, 36, 38]);
  assert.deepEqual(inferOne('Pad', [X], { pads: [0, 0, 1, 1, 0, 0, 1, 1] }, { opset: 10 }), [1, 3, 34, 34]);
  assert.deepEqual(inferOne('Squeeze', [f('x', [1, 3, 1, 5]), c('axes', [0, -2])]), [3, 5]);
  assert.deepEqual(inferOne('Squeeze', [f('x', [1, 3, 1, 5])]), [3, 5]);
  assert.deepEqual(inferOne('Squeeze', [f('x', [1, 3, 1, 5])], { axes: [2] }, { opset: 11 }), [1, 3, 5]);
  assert.deepEqual(inferOne('Unsqueeze', [f('x', ['N', 3]), c('axes', [0, -1])]), [1, 'N', 3, 1]);
  assert.deepEqual(inferOne('Unsqueeze', [f('x', ['N', 3])], { axes: [1] }, { opset: 11 }), ['N', 1, 3]);
  assert.throws(() => inferOne('Squeeze', [f('x', [1, 3]), c('axes', [1])]), /cannot squeeze axis 1 of size 3/);
});

test('shapes flow through a network and land in valueInfo; Constant and Shape feed Reshape', () => {
  const b = new GraphBuilder('net');
  const x = b.input('x', 'float32', ['N', 3, 32, 32]);
  const w = b.initializer('w', new Float32Array(8 * 3 * 3 * 3), [8, 3, 3, 3]);
  const y = b.node('Relu', [b.node('Conv', [x, w], { pads: [1, 1, 1, 1] })]);
  const p = b.node('MaxPool', [y], { kernel_shape: [2, 2], strides: [2, 2] });
  const shape = b.constant(BigInt64Array.from([0n, -1n]), [2]);
  const flat = b.node('Reshape', [p, shape]);
  const fc = b.initializer('fc', new Float32Array(2048 * 10), [10, 2048]);
  b.output(b.node('Gemm', [flat, fc], { transB: 1, alpha: 1 }));
  const model: Model = b.build();
  const types = new Map(model.graph.valueInfo.map((v) => [v.name, v.type?.kind === 'tensor' ? v.type.shape : undefined]));
  assert.deepEqual(types.get(p), ['N', 8, 16, 16]);
  assert.deepEqual(types.get(flat), ['N', 2048]);
  const out = model.graph.outputs[0].type;
  assert.deepEqual(out, { kind: 'tensor', elemType: 1, shape: ['N', 10] });
  assert.equal(model.graph.nodes.at(-1)?.attributes.alpha.type, 'float');
});

test('unknown ops: left unknown by default, UnsupportedOpError when strict', () => {
  const b = new GraphBuilder('g');
  const x = b.input('x', 'float32', [2]);
  b.output(b.node('FancyOp', [x], {}, { name: 'fancy', domain: 'com.example' }), 'float32', [2]);
  b.output(b.node('Relu', [b.node('NonMaxSuppression', [x], {}, { name: 'nms' })]), 'float32', null);
  const model = b.build({ inferShapes: false });
  const lenient = inferShapes(model);
  assert.equal(lenient.issues.length, 2);
  assert.throws(
    () => inferShapes(model, { strict: true }),
    (e: unknown) => e instanceof UnsupportedOpError && e.opType === 'FancyOp' && e.nodeName === 'fancy' && /FancyOp.*fancy/.test(e.message),
  );
});
