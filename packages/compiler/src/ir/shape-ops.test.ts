// Shape handlers for the ops PyTorch exports use beyond plain CNN layers: Slice, Split, Gather,
// reductions, Upsample, Expand, Where, comparisons, Tile, Range, ... (one-node models, strict mode).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ShapeInferenceError } from '../errors.js';
import { DataType } from './data-type.js';
import { c, f, floats, inferOne, inferTypes, scalar } from './shape-test-support.js';

// Exports write INT64_MAX for "to the end"; 2^62 stands in for it (a float64 INT64_MAX would wrap in BigInt64Array).
const INT64_MAX = 2 ** 62;

test('Slice (opset 10+ inputs): negative indices, clamping, axes, steps, symbolic dims', () => {
  const x = f('x', [2, 10, 'H', 'W']);
  assert.deepEqual(inferOne('Slice', [x, c('s', [1]), c('e', [4]), c('a', [1])]), [2, 3, 'H', 'W']);
  assert.deepEqual(inferOne('Slice', [x, c('s', [-3]), c('e', [INT64_MAX]), c('a', [-3])]), [2, 3, 'H', 'W']);
  assert.deepEqual(inferOne('Slice', [x, c('s', [0, 0]), c('e', [100, -1])]), [2, 9, 'H', 'W']);
  assert.deepEqual(inferOne('Slice', [x, c('s', [-1]), c('e', [-INT64_MAX]), c('a', [1]), c('st', [-1])]), [2, 10, 'H', 'W']);
  assert.deepEqual(inferOne('Slice', [x, c('s', [8]), c('e', [1]), c('a', [1]), c('st', [-3])]), [2, 3, 'H', 'W']);
  assert.deepEqual(inferOne('Slice', [x, c('s', [0]), c('e', [10]), c('a', [1]), c('st', [4])]), [2, 3, 'H', 'W']);
  assert.deepEqual(inferOne('Slice', [x, c('s', [5]), c('e', [2]), c('a', [1])]), [2, 0, 'H', 'W']);
  // a whole-axis slice keeps a symbolic dim; a partial one makes it unknown
  assert.deepEqual(inferOne('Slice', [x, c('s', [0, 1]), c('e', [INT64_MAX, 3]), c('a', [2, 3])]), [2, 10, 'H', null]);
  // starts not known: the sliced axis is unknown, the rank is kept
  assert.deepEqual(inferOne('Slice', [x, f('s', [1]), c('e', [4]), c('a', [1])]), [2, null, 'H', 'W']);
  assert.throws(() => inferOne('Slice', [x, c('s', [0]), c('e', [1]), c('a', [1]), c('st', [0])]), ShapeInferenceError);
});

test('Slice (before opset 10): starts / ends / axes attributes', () => {
  assert.deepEqual(inferOne('Slice', [f('x', [4, 6])], { starts: [1, -4], ends: [3, 1000] }, { opset: 9 }), [2, 4]);
  assert.deepEqual(inferOne('Slice', [f('x', [4, 6])], { starts: [2], ends: [5], axes: [1] }, { opset: 9 }), [4, 3]);
});

test('Split: attribute, input, equal parts, uneven num_outputs (opset 18)', () => {
  const x = f('x', ['N', 10, 4]);
  assert.deepEqual(inferTypes('Split', [x], { axis: 1, split: [3, 7] }, { opset: 11, outputs: 2 }).map((t) => t?.kind === 'tensor' && t.shape), [['N', 3, 4], ['N', 7, 4]]);
  assert.deepEqual(inferOne('Split', [x, c('sp', [4, 6])], { axis: 1 }, { opset: 13, outputs: 2, index: 1 }), ['N', 6, 4]);
  assert.deepEqual(inferOne('Split', [x], { axis: -1 }, { outputs: 2, index: 0 }), ['N', 10, 2]);
  assert.deepEqual(inferOne('Split', [x], { axis: 1, num_outputs: 3 }, { opset: 18, outputs: 3, index: 2 }), ['N', 2, 4]);
  assert.deepEqual(inferOne('Split', [x], { axis: 1, num_outputs: 3 }, { opset: 18, outputs: 3, index: 0 }), ['N', 4, 4]);
  assert.throws(() => inferOne('Split', [x, c('sp', [4, 5])], { axis: 1 }, { outputs: 2 }), /add up to 9/);
  assert.throws(() => inferOne('Split', [x], { axis: 1 }, { outputs: 3 }), ShapeInferenceError);
});

test('Gather on data: any axis, scalar and N-D indices', () => {
  assert.deepEqual(inferOne('Gather', [f('x', ['N', 5, 3]), c('i', [0, 4])], { axis: 1 }), ['N', 2, 3]);
  assert.deepEqual(inferOne('Gather', [f('x', ['N', 5, 3]), scalar('i', 2)], { axis: -1 }), ['N', 5]);
  assert.deepEqual(inferOne('Gather', [f('x', [100, 16]), ['i', 'int64', ['B', 'T']]]), ['B', 'T', 16]);
  assert.deepEqual(inferOne('GatherElements', [f('x', [4, 5]), ['i', 'int64', [4, 2]]], { axis: 1 }), [4, 2]);
});

test('reductions: axes attribute (< 18, ReduceSum < 13) or input, keepdims, noop_with_empty_axes', () => {
  const x = f('x', ['N', 8, 6, 6]);
  assert.deepEqual(inferOne('ReduceMean', [x], { axes: [2, 3] }), ['N', 8, 1, 1]);
  assert.deepEqual(inferOne('ReduceMean', [x], { axes: [-1, -2], keepdims: 0 }), ['N', 8]);
  assert.deepEqual(inferOne('ReduceMax', [x], { keepdims: 0 }), []);
  assert.deepEqual(inferOne('ReduceSum', [x], { axes: [1] }, { opset: 11 }), ['N', 1, 6, 6]);
  assert.deepEqual(inferOne('ReduceSum', [x, c('axes', [1])], { keepdims: 0 }, { opset: 13 }), ['N', 6, 6]);
  assert.deepEqual(inferOne('ReduceMean', [x, c('axes', [0, 2])], {}, { opset: 18 }), [1, 8, 1, 6]);
  assert.deepEqual(inferOne('ReduceMax', [x, c('axes', [])], { noop_with_empty_axes: 1 }, { opset: 18 }), ['N', 8, 6, 6]);
  assert.deepEqual(inferOne('ReduceSum', [x, f('axes', [1])], {}, { opset: 13 }), [null, null, null, null]);
  assert.deepEqual(inferOne('ReduceSum', [x, f('axes', [1])], { keepdims: 0 }, { opset: 13 }), null);
  const [argmax] = inferTypes('ArgMax', [x], { axis: 1, keepdims: 0 });
  assert.deepEqual(argmax, { kind: 'tensor', elemType: DataType.INT64, shape: ['N', 6, 6] });
});

test('Upsample (scales attribute before opset 9, input from 9) and Resize opset 10', () => {
  assert.deepEqual(inferOne('Upsample', [f('x', ['N', 3, 4, 5])], { scales: [1, 1, 2, 3] }, { opset: 7 }), ['N', 3, 8, 15]);
  assert.deepEqual(inferOne('Upsample', [f('x', ['N', 3, 4, 5]), floats('s', [1, 1, 2, 2])], {}, { opset: 9 }), ['N', 3, 8, 10]);
  assert.deepEqual(inferOne('Resize', [f('x', [1, 3, 4, 5]), floats('s', [1, 1, 0.5, 2])], {}, { opset: 10 }), [1, 3, 2, 10]);
});

test('Expand, Tile, Where, comparisons, Not, Cast', () => {
  assert.deepEqual(inferOne('Expand', [f('x', [3, 1]), c('s', [2, 1, 4])]), [2, 3, 4]);
  assert.deepEqual(inferOne('Expand', [f('x', ['N', 1]), c('s', [1, 5])]), ['N', 5]);
  assert.deepEqual(inferOne('Expand', [f('x', [3, 1]), ['s', 'int64', [3]]]), [null, null, null]);
  assert.deepEqual(inferOne('Tile', [f('x', ['N', 2, 3]), c('r', [1, 2, 3])]), ['N', 4, 9]);
  assert.deepEqual(inferOne('Tile', [f('x', ['N', 2]), c('r', [2, 1])]), [null, 2]);
  assert.deepEqual(inferTypes('Where', [['c', 'bool', [4, 1]], ['a', 'int64', [1, 3]], ['b', 'int64', []]])[0], { kind: 'tensor', elemType: DataType.INT64, shape: [4, 3] });
  for (const op of ['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual']) {
    assert.deepEqual(inferTypes(op, [f('a', ['N', 3]), f('b', [3])])[0], { kind: 'tensor', elemType: DataType.BOOL, shape: ['N', 3] }, op);
  }
  assert.deepEqual(inferTypes('Not', [['b', 'bool', [2, 2]]])[0], { kind: 'tensor', elemType: DataType.BOOL, shape: [2, 2] });
  assert.deepEqual(inferTypes('Cast', [f('x', ['N', 3])], { to: DataType.INT32 })[0], { kind: 'tensor', elemType: DataType.INT32, shape: ['N', 3] });
});

test('Shape (start / end), Size, ConstantOfShape, Range', () => {
  assert.deepEqual(inferTypes('Shape', [f('x', ['N', 3, 4, 5])], { start: 1, end: -1 }, { opset: 15 })[0], { kind: 'tensor', elemType: DataType.INT64, shape: [2] });
  assert.deepEqual(inferOne('Shape', [f('x', ['N', 3])], { start: 5 }, { opset: 15 }), [0]);
  assert.deepEqual(inferTypes('Size', [f('x', ['N', 3])])[0], { kind: 'tensor', elemType: DataType.INT64, shape: [] });
  assert.deepEqual(inferOne('ConstantOfShape', [c('s', [2, 3])]), [2, 3]);
  assert.deepEqual(inferOne('ConstantOfShape', [['s', 'int64', [3]]]), [null, null, null]);
  assert.deepEqual(inferOne('Range', [scalar('a', 2), scalar('b', 11), scalar('d', 3)]), [3]);
  assert.deepEqual(inferOne('Range', [scalar('a', 5), scalar('b', 0), scalar('d', -2)]), [3]);
  assert.deepEqual(inferOne('Range', [scalar('a', 5), scalar('b', 0), scalar('d', 1)]), [0]);
  assert.deepEqual(inferOne('Range', [scalar('a', 0), ['b', 'int64', []], scalar('d', 1)]), [null]);
});

test('element-wise math, activations and softmax keep the shape', () => {
  for (const op of ['Sqrt', 'Exp', 'Log', 'Neg', 'Abs', 'Erf', 'LeakyRelu', 'Softmax', 'LogSoftmax', 'Sin', 'Gelu']) {
    assert.deepEqual(inferOne(op, [f('x', ['N', 4, 7])]), ['N', 4, 7], op);
  }
  assert.deepEqual(inferOne('Pow', [f('x', ['N', 4]), f('p', [])]), ['N', 4]);
  assert.deepEqual(inferTypes('IsNaN', [f('x', [2])])[0], { kind: 'tensor', elemType: DataType.BOOL, shape: [2] });
});

test('batched MatMul broadcasts batch dims; TopK; DepthToSpace / SpaceToDepth', () => {
  assert.deepEqual(inferOne('MatMul', [f('a', ['B', 8, 'T', 64]), f('b', ['B', 8, 64, 'T'])]), ['B', 8, 'T', 'T']);
  assert.deepEqual(inferOne('MatMul', [f('a', [2, 1, 4, 8]), f('b', [1, 3, 8, 5])]), [2, 3, 4, 5]);
  assert.deepEqual(inferOne('TopK', [f('x', ['N', 10]), c('k', [3])], {}, { outputs: 2, index: 1 }), ['N', 3]);
  assert.deepEqual(inferOne('DepthToSpace', [f('x', ['N', 8, 3, 3])], { blocksize: 2 }), ['N', 2, 6, 6]);
  assert.deepEqual(inferOne('SpaceToDepth', [f('x', ['N', 2, 6, 6])], { blocksize: 2 }), ['N', 8, 3, 3]);
});

test('LayerNormalization statistics, losses, and ops shaped like an input but typed otherwise', () => {
  const x = f('x', ['N', 4, 6]);
  const [y, mean, invStd] = inferTypes('LayerNormalization', [x, f('w', [6])], { axis: -1 }, { outputs: 3 });
  assert.deepEqual(y, { kind: 'tensor', elemType: DataType.FLOAT, shape: ['N', 4, 6] });
  assert.deepEqual(mean, { kind: 'tensor', elemType: DataType.FLOAT, shape: ['N', 4, 1] });
  assert.deepEqual(invStd, mean);
  const scores = f('scores', ['N', 5, 7]);
  const labels: [string, 'int64', (string | number)[]] = ['labels', 'int64', ['N', 7]];
  assert.deepEqual(inferOne('NegativeLogLikelihoodLoss', [scores, labels]), []);
  assert.deepEqual(inferOne('NegativeLogLikelihoodLoss', [scores, labels], { reduction: 'none' }), ['N', 7]);
  assert.deepEqual(inferOne('SoftmaxCrossEntropyLoss', [scores, labels], {}, { outputs: 2, index: 1 }), ['N', 5, 7]);
  assert.deepEqual(inferTypes('CastLike', [x, ['t', 'float16', [1]]])[0], { kind: 'tensor', elemType: DataType.FLOAT16, shape: ['N', 4, 6] });
  assert.deepEqual(inferTypes('QuantizeLinear', [x, f('s', []), ['z', 'int8', []]])[0], { kind: 'tensor', elemType: DataType.INT8, shape: ['N', 4, 6] });
  assert.deepEqual(inferTypes('DequantizeLinear', [['q', 'uint8', [2, 3]], f('s', [])], {}, { opset: 13 })[0], { kind: 'tensor', elemType: DataType.FLOAT, shape: [2, 3] });
  assert.deepEqual(inferTypes('EyeLike', [f('e', [3, 3])], { dtype: DataType.INT32 })[0], { kind: 'tensor', elemType: DataType.INT32, shape: [3, 3] });
  assert.deepEqual(inferOne('ScatterElements', [x, ['i', 'int64', ['N', 1, 6]], f('u', ['N', 1, 6])], { axis: 1 }), ['N', 4, 6]);
  // Unsqueeze with axes of unknown value but known count: the rank is known
  assert.deepEqual(inferOne('Unsqueeze', [f('x', [2, 3]), ['a', 'int64', [2]]]), [null, null, null, null]);
});
