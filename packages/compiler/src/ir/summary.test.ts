import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from './builder.js';
import { summarizeModel } from './summary.js';

test('summarizeModel counts ops, parameters and bytes', () => {
  const b = new GraphBuilder('net');
  const x = b.input('x', 'float32', ['N', 3, 8, 8]);
  const w = b.initializer('w', new Float32Array(4 * 3 * 3 * 3), [4, 3, 3, 3]);
  const bias = b.initializer('b', new Float32Array(4), [4]);
  const y = b.node('Relu', [b.node('Conv', [x, w, bias], { pads: [1, 1, 1, 1] })]);
  const shape = b.constant(BigInt64Array.from([0n, -1n]), [2]);
  b.output(b.node('Relu', [b.node('Reshape', [y, shape])]));
  const s = summarizeModel(b.build({ opset: 13, producerName: 'test', producerVersion: '1' }), 1234);
  assert.equal(s.irVersion, 8);
  assert.deepEqual(s.producer, { name: 'test', version: '1' });
  assert.deepEqual(s.opsets, [{ domain: 'ai.onnx', version: 13 }]);
  assert.deepEqual(s.inputs, [{ name: 'x', dtype: 'float32', shape: ['N', 3, 8, 8] }]);
  assert.deepEqual(s.outputs[0].shape, ['N', 256]);
  assert.deepEqual(s.nodeCountByOpType, { Conv: 1, Relu: 2, Constant: 1, Reshape: 1 });
  assert.equal(s.nodeCount, 5);
  assert.equal(s.parameterCount, 108 + 4 + 2);
  assert.equal(s.initializerBytes, (108 + 4) * 4);
  assert.equal(s.fileSize, 1234);
});
