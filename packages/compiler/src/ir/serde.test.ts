import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder, attr } from './builder.js';
import { DataType } from './data-type.js';
import { decodeModel, decodeTensor, encodeModel, encodeTensor } from './serde.js';
import { createTensor, tensorToTypedArray } from './tensor.js';
import type { Model } from './types.js';

function sampleModel(): Model {
  const then = new GraphBuilder('then');
  then.node('Identity', ['w'], {}, { name: 'then_id', outputs: ['then_out'] });
  then.output('then_out', 'float32', [2]);
  const otherwise = new GraphBuilder('else');
  otherwise.node('Neg', ['w'], {}, { name: 'else_neg', outputs: ['else_out'] });
  otherwise.output('else_out', 'float32', [2]);

  const b = new GraphBuilder('net');
  const x = b.input('x', 'float32', ['batch', 2]);
  const cond = b.input('cond', 'bool', []);
  b.initializer('w', Float32Array.from([1.5, -2]), [2]);
  b.initializer('big', BigInt64Array.from([9007199254740993n, -9223372036854775808n]), [2]);
  b.initializer('names', ['α', 'beta'], [2]);
  const y = b.node('Add', [x, 'w']);
  const branch = b.node('If', [cond], { then_branch: then.buildGraph(), else_branch: otherwise.buildGraph() });
  const z = b.node('Mul', [y, branch], { note: attr.string('ok'), huge: 9223372036854775807n, alpha: 1, list: [1, 2, 3] });
  b.output(z, 'float32', ['batch', 2]);
  const model = b.build({ opset: 17, docString: 'doc' });
  model.metadataProps.push({ key: 'k', value: 'v' });
  return model;
}

test('encode -> decode round trip preserves the model exactly', () => {
  const model = sampleModel();
  const back = decodeModel(encodeModel(model));
  // Decoded bytes are Buffer views, built ones plain Uint8Arrays: compare them as Uint8Arrays.
  const plain = (v: unknown): unknown => {
    if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength).slice();
    if (Array.isArray(v)) return v.map(plain);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
    return v;
  };
  assert.deepEqual(plain(back), plain(model));
  const mul = back.graph.nodes[2];
  assert.deepEqual(mul.attributes.huge, { type: 'int', value: 9223372036854775807n });
  assert.deepEqual(mul.attributes.alpha, { type: 'float', value: 1 });
  assert.equal(mul.attributes.list.type, 'ints');
  const big = back.graph.initializers[1];
  assert.deepEqual(Array.from(tensorToTypedArray(big) as BigInt64Array), [9007199254740993n, -9223372036854775808n]);
  assert.deepEqual(back.graph.inputs[0].type, { kind: 'tensor', elemType: DataType.FLOAT, shape: ['batch', 2] });
});

test('loaded initializers are views into the file buffer, not copies', () => {
  const b = new GraphBuilder('g');
  b.input('x', 'float32', [1024]);
  b.initializer('w', new Float32Array(1024).fill(3), [1024]);
  b.output(b.node('Add', ['x', 'w']));
  const bytes = Buffer.from(encodeModel(b.build()));
  const model = decodeModel(bytes);
  const w = model.graph.initializers[0];
  assert.equal(w.data.buffer, bytes.buffer);
  assert.equal(w.data.byteLength, 4096);
  assert.ok(w.data.byteOffset >= bytes.byteOffset && w.data.byteOffset + 4096 <= bytes.byteOffset + bytes.byteLength);
});

test('typed data fields (float_data, int64_data, ...) become little-endian bytes', () => {
  // TensorProto{dims:[2], data_type:INT64, int64_data:[5, -1] packed} written by hand.
  const varint = (n: bigint): number[] => {
    let v = BigInt.asUintN(64, n);
    const out: number[] = [];
    do {
      const byte = Number(v & 0x7fn);
      v >>= 7n;
      out.push(v ? byte | 0x80 : byte);
    } while (v);
    return out;
  };
  const payload = [...varint(5n), ...varint(-1n)];
  const bytes = Uint8Array.from([0x08, 2, 0x10, 7, 0x3a, payload.length, ...payload]);
  const t = decodeTensor(bytes);
  assert.deepEqual(t.dims, [2]);
  assert.deepEqual(Array.from(tensorToTypedArray(t) as BigInt64Array), [5n, -1n]);
  // float_data: dims [2], FLOAT, packed floats 1.5, -2
  const f = new Uint8Array(Float32Array.from([1.5, -2]).buffer);
  const t2 = decodeTensor(Uint8Array.from([0x08, 2, 0x10, 1, 0x22, 8, ...f]));
  assert.deepEqual(Array.from(tensorToTypedArray(t2) as Float32Array), [1.5, -2]);
  // and encodeTensor writes raw_data that decodes to the same values
  assert.deepEqual(Array.from(tensorToTypedArray(decodeTensor(encodeTensor(t2))) as Float32Array), [1.5, -2]);
});

test('createTensor rejects data that does not fit the shape', () => {
  assert.throws(() => createTensor('t', new Float32Array(3), [2, 2]), /needs 16/);
});

test('functions and training info are preserved opaquely', () => {
  const fn = [0x0a, 1, 0x66, 0x52, 6, ...new TextEncoder().encode('custom')]; // FunctionProto{name:'f', domain:'custom'}
  const base = encodeModel(sampleModel());
  // Appending a length-delimited field 25 (ModelProto.functions) to an encoded message adds one function.
  const bytes = Uint8Array.from([...base, 0xca, 0x01, fn.length, ...fn]);
  const model = decodeModel(bytes);
  assert.equal(model.functions.length, 1);
  assert.equal(model.functions[0].kind, 'FunctionProto');
  assert.deepEqual(Array.from(model.functions[0].bytes), fn);
  const again = decodeModel(encodeModel(model));
  assert.deepEqual(Array.from(again.functions[0].bytes), fn);
});
