// Data propagation: shapes computed inside the graph (the way PyTorch exports write view / reshape /
// interpolate / expand) are known to the ops that consume them, symbolic dims included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from './builder.js';
import { DataType } from './data-type.js';
import { inferShapes } from './shape-inference.js';
import { outputShape } from './shape-test-support.js';
import type { Dim } from './types.js';

const i64 = (...values: number[]): BigInt64Array => BigInt64Array.from(values.map(BigInt));

function graph(inputShape: Dim[]): { b: GraphBuilder; x: string } {
  const b = new GraphBuilder('g');
  return { b, x: b.input('x', 'float32', inputShape) };
}

/** x.view(x.size(0), -1, 4): Shape -> Gather -> Unsqueeze -> Concat -> Reshape. */
test('a Reshape target built from Shape keeps the symbolic batch dim', () => {
  for (const opset of [11, 13]) {
    const { b, x } = graph(['batch', 16, 8, 8]);
    const batch = b.node('Gather', [b.node('Shape', [x]), b.constant(i64(0), [])], { axis: 0 });
    const unsqueeze = (v: string): string => (opset >= 13 ? b.node('Unsqueeze', [v, b.constant(i64(0), [1])]) : b.node('Unsqueeze', [v], { axes: [0] }));
    const target = b.node('Concat', [unsqueeze(batch), unsqueeze(b.constant(i64(-1), [])), unsqueeze(b.constant(i64(4), []))], { axis: 0 });
    b.output(b.node('Reshape', [b.node('Transpose', [x], { perm: [0, 2, 3, 1] }), target]));
    assert.deepEqual(outputShape(b.build({ opset, inferShapes: false })), ['batch', 256, 4], `opset ${opset}`);
  }
});

/** ShuffleNet's channel split and shuffle: arithmetic on a gathered dim feeds Slice and Reshape. */
test('Slice bounds and Reshape dims computed with Add / Div / Mul on a shape', () => {
  const { b, x } = graph(['N', 48, 8, 8]);
  const shape = b.node('Shape', [x]);
  const channels = b.node('Gather', [shape, b.constant(i64(1), [1])], { axis: 0 });
  const half = b.node('Div', [b.node('Add', [channels, b.constant(i64(1), [1])]), b.constant(i64(2), [1])]);
  const end = b.node('Mul', [half, b.constant(i64(2), [1])]);
  const axis = b.constant(i64(1), [1]);
  const right = b.node('Slice', [x, half, end, axis]);
  b.output(right);
  const batch = b.node('Gather', [shape, b.constant(i64(0), [1])], { axis: 0 });
  const groups = b.node('Concat', [batch, b.constant(i64(2), [1]), b.node('Div', [half, b.constant(i64(2), [1])]), b.constant(i64(8, 8), [2])], { axis: 0 });
  b.output(b.node('Reshape', [right, groups]));
  const model = b.build({ inferShapes: false });
  assert.deepEqual(outputShape(model, 0), ['N', 24, 8, 8]);
  assert.deepEqual(outputShape(model, 1), ['N', 2, 12, 8, 8]);
});

test('Shape start / end, Size, Squeeze and Slice on shape vectors', () => {
  const { b, x } = graph(['N', 3, 'H', 'W']);
  const spatial = b.node('Shape', [x], { start: 2 });
  b.output(b.node('ConstantOfShape', [spatial]));
  const size = b.node('Unsqueeze', [b.node('Size', [b.node('Shape', [x])]), b.constant(i64(0), [1])]);
  b.output(b.node('Reshape', [x, b.node('Concat', [size, b.constant(i64(1), [1])], { axis: 0 })]));
  const first = b.node('Squeeze', [b.node('Slice', [b.node('Shape', [x]), b.constant(i64(0), [1]), b.constant(i64(1), [1])]), b.constant(i64(0), [1])]);
  b.output(b.node('Range', [b.constant(i64(0), []), first, b.constant(i64(1), [])]));
  const model = b.build({ opset: 15, inferShapes: false });
  assert.deepEqual(outputShape(model, 0), ['H', 'W']);
  assert.deepEqual(outputShape(model, 1), [4, 1]);
  assert.deepEqual(outputShape(model, 2), [null]);
  const typed = inferShapes(model).model.graph.outputs[0].type;
  assert.equal(typed?.kind === 'tensor' && typed.elemType, DataType.FLOAT);
});

/** F.interpolate(x, scale_factor=2) as exported: sizes = shape[:2] ++ int(float(shape[2:]) * 2). */
test('Resize sizes computed through Cast and float Mul; symbolic dims pass unchanged', () => {
  const { b, x } = graph(['N', 3, 8, 10]);
  const shape = b.node('Shape', [x]);
  const head = b.node('Slice', [shape, b.constant(i64(0), [1]), b.constant(i64(2), [1])]);
  const spatial = b.node('Cast', [b.node('Slice', [shape, b.constant(i64(2), [1]), b.constant(i64(4), [1])])], { to: DataType.FLOAT });
  const scaled = b.node('Cast', [b.node('Mul', [spatial, b.constant(Float32Array.of(2.5), [1])])], { to: DataType.INT64 });
  const sizes = b.node('Concat', [head, scaled], { axis: 0 });
  b.output(b.node('Resize', [x, null, null, sizes], { mode: 'nearest' }));
  assert.deepEqual(outputShape(b.build({ opset: 13, inferShapes: false })), ['N', 3, 20, 25]);
});

/** x.expand(-1, 4, -1) as exported: Where(Equal(shape, -1), ConstantOfShape(1), shape) -> Expand. */
test('the Equal / Where / ConstantOfShape pattern of expand(-1, ...) resolves -1 to the input dims', () => {
  const { b, x } = graph(['N', 1, 6]);
  const requested = b.constant(i64(-1, 4, -1), [3]);
  const isMinusOne = b.node('Equal', [requested, b.constant(i64(-1), [])]);
  const ones = b.node('ConstantOfShape', [b.constant(i64(3), [1])], { value: { name: 'one', dataType: DataType.INT64, dims: [1], data: new Uint8Array(i64(1).buffer) } });
  const target = b.node('Where', [isMinusOne, ones, requested]);
  b.output(b.node('Expand', [x, target]));
  // A shape entry tested against -1: a symbolic dim is a size, never -1.
  const shape = b.node('Shape', [x]);
  const kept = b.node('Where', [b.node('Equal', [shape, b.constant(i64(-1), [])]), b.constant(i64(7, 7, 7), [3]), shape]);
  b.output(b.node('Reshape', [x, kept]));
  const model = b.build({ inferShapes: false });
  assert.deepEqual(outputShape(model, 0), ['N', 4, 6]);
  assert.deepEqual(outputShape(model, 1), ['N', 1, 6]);
});

test('unknown elements stay unknown; symbolic arithmetic other than identities is unknown', () => {
  const { b, x } = graph(['N', 3, 4]);
  const y = b.input('y', 'int64', [1]);
  const shape = b.node('Shape', [x]);
  const batch = b.node('Gather', [shape, b.constant(i64(0), [1])], { axis: 0 });
  // [N, y, 4]: y's value is not known, but its length is
  b.output(b.node('Reshape', [x, b.node('Concat', [batch, y, b.constant(i64(4), [1])], { axis: 0 })]));
  // [N * 1, N + 1, 12 / 4]
  const target = b.node('Concat', [
    b.node('Mul', [batch, b.constant(i64(1), [1])]),
    b.node('Add', [batch, b.constant(i64(1), [1])]),
    b.node('Div', [b.constant(i64(12), [1]), b.constant(i64(4), [1])]),
  ], { axis: 0 });
  b.output(b.node('ConstantOfShape', [target]));
  const model = b.build({ inferShapes: false });
  assert.deepEqual(outputShape(model, 0), ['N', null, 4]);
  assert.deepEqual(outputShape(model, 1), ['N', null, 3]);
});

test('values of initializers flow through Gather (any axis), Reshape, Cast and Concat to Tile and Pad', () => {
  const { b, x } = graph([2, 3]);
  const table = b.initializer('table', i64(1, 2, 3, 4), [2, 2]);
  const flat = (v: string): string => b.node('Reshape', [v, b.constant(i64(-1), [1])]);
  // Gather(table, [0], axis 1) = [[1], [3]]
  const repeats = flat(b.node('Gather', [table, b.constant(i64(0), [1])], { axis: 1 }));
  b.output(b.node('Tile', [x, b.node('Cast', [b.node('Cast', [repeats], { to: DataType.FLOAT })], { to: DataType.INT64 })]));
  // pads [0, 1] ++ Gather(table, [1], axis 0) = [0, 1, 3, 4]
  const pads = b.node('Concat', [b.constant(i64(0, 1), [2]), flat(b.node('Gather', [table, b.constant(i64(1), [1])], { axis: 0 }))], { axis: 0 });
  b.output(b.node('Pad', [x, pads]));
  const model = b.build({ inferShapes: false });
  assert.deepEqual(outputShape(model, 0), [2, 9]);
  assert.deepEqual(outputShape(model, 1), [5, 8]);
});

/** LayerNormalization's expanded function: the reduced-axes count is Neg(axis) for a negative axis. */
test('Neg on a shape vector feeds ConstantOfShape', () => {
  const { b, x } = graph([3, 4, 5]);
  const axis = b.constant(i64(-2), [1]);
  const prefix = b.node('Slice', [b.node('Shape', [x]), b.constant(i64(0), [1]), axis]);
  const suffix = b.node('ConstantOfShape', [b.node('Neg', [axis])], { value: { name: 'one', dataType: DataType.INT64, dims: [1], data: new Uint8Array(i64(1).buffer) } });
  b.output(b.node('Reshape', [b.node('ReduceMean', [x], { axes: [1, 2] }), b.node('Concat', [prefix, suffix], { axis: 0 })]));
  assert.deepEqual(outputShape(b.build({ opset: 17, inferShapes: false })), [3, 1, 1]);
});
