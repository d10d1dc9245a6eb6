import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../ir/builder.js';
import { GradientGraphError } from './errors.js';
import { staticShapes } from './static-shapes.js';

test('static shapes follow the batch given, float scales and shape arithmetic included', () => {
  const b = new GraphBuilder('g');
  const x = b.input('x', 'float32', ['N', 2, 3, 3]);
  const up = b.node('Resize', [x, '', b.initializer('scales', Float32Array.of(1, 1, 2, 2), [4])], { mode: 'nearest' }, { name: 'up' });
  const shape = b.node('Shape', [up]);
  const batch = b.node('Gather', [shape, b.initializer('i0', BigInt64Array.of(0n), [1])], { axis: 0 });
  const rest = b.node('Mul', [b.node('Gather', [shape, b.initializer('i1', BigInt64Array.of(1n), [1])], { axis: 0 }), b.initializer('k', BigInt64Array.of(36n), [1])]);
  const flat = b.node('Reshape', [up, b.node('Concat', [batch, rest], { axis: 0 })], {}, { name: 'flat', outputs: ['flat'] });
  b.output(flat, 'float32', [1, 72]);
  const model = b.build({ opset: 13 });
  const shapes = staticShapes(model, { x: [4, 2, 3, 3] });
  assert.deepEqual(shapes.get(up)?.shape, [4, 2, 6, 6]);
  assert.deepEqual(shapes.get('flat')?.shape, [4, 72], 'the declared [1, 72] output type is for another batch');
  assert.throws(() => staticShapes(model), (e: unknown) => e instanceof GradientGraphError && /input 'x' has no static shape/.test(e.message));
});

test('an op without a shape rule is a GradientGraphError naming node and op', () => {
  const b = new GraphBuilder('g');
  const x = b.input('x', 'float32', [1, 4]);
  b.output(b.node('MyOp', [x], {}, { name: 'custom', domain: 'com.example' }), 'float32', [1, 4]);
  assert.throws(() => staticShapes(b.build({ opset: 13 })), (e: unknown) => e instanceof GradientGraphError && /custom.*MyOp|MyOp.*custom/.test(e.message));
});
