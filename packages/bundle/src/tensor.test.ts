import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { TensorFormatError } from './errors.js';
import {
  TENSOR_DTYPES,
  decodeTensor,
  elementCount,
  encodeTensor,
  float16BitsToFloat32,
  float32ToFloat16Bits,
  tensorByteLength,
} from './tensor.js';

describe('tensor encoding', () => {
  it('round-trips every dtype as little-endian bytes', () => {
    assert.deepEqual(Array.from(decodeTensor('float32', encodeTensor('float32', [1.5, -2, 0.25]))), [1.5, -2, 0.25]);
    assert.deepEqual(Array.from(decodeTensor('float16', encodeTensor('float16', [1.5, -2, 65504]))), [1.5, -2, 65504]);
    assert.deepEqual(Array.from(decodeTensor('int8', encodeTensor('int8', [-128, 0, 127]))), [-128, 0, 127]);
    assert.deepEqual(Array.from(decodeTensor('uint8', encodeTensor('uint8', [0, 255]))), [0, 255]);
    assert.deepEqual(Array.from(decodeTensor('int32', encodeTensor('int32', [-5, 2 ** 31 - 1]))), [-5, 2 ** 31 - 1]);
    assert.deepEqual(Array.from(decodeTensor('int64', encodeTensor('int64', [-1n, 2n ** 40n, 7]))), [-1n, 2n ** 40n, 7n]);
    assert.deepEqual(Array.from(decodeTensor('bool', encodeTensor('bool', [true, false, true]))), [1, 0, 1]);
  });

  it('writes little-endian regardless of host', () => {
    assert.deepEqual(Array.from(encodeTensor('int32', [1])), [1, 0, 0, 0]);
    assert.deepEqual(Array.from(encodeTensor('float32', [1])), [0, 0, 0x80, 0x3f]);
    assert.deepEqual(Array.from(encodeTensor('float16', [1])), [0, 0x3c]);
  });

  it('converts float16 with rounding, subnormals, overflow and NaN', () => {
    assert.equal(float32ToFloat16Bits(1), 0x3c00);
    assert.equal(float32ToFloat16Bits(-0), 0x8000);
    assert.equal(float32ToFloat16Bits(65520), 0x7c00, 'rounds to infinity past the largest half');
    assert.equal(float32ToFloat16Bits(2 ** -24), 0x0001, 'smallest subnormal');
    assert.equal(float32ToFloat16Bits(2 ** -26), 0, 'underflows to zero');
    assert.equal(float32ToFloat16Bits(1 + 2 ** -11), 0x3c00, 'ties round to even');
    assert.ok(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits(NaN))));
    assert.equal(float16BitsToFloat32(0x7bff), 65504);
    assert.equal(float16BitsToFloat32(0x0001), 2 ** -24);
  });

  it('checks bytes against dims', () => {
    assert.equal(tensorByteLength('float32', [1, 3, 2]), 24);
    assert.equal(elementCount([]), 1);
    assert.throws(() => decodeTensor('float32', new Uint8Array(6)), TensorFormatError);
    assert.throws(() => decodeTensor('float32', new Uint8Array(8), [3]), /do not match dims \[3\]/);
    assert.throws(() => encodeTensor('uint8', [1, 2], [3]), TensorFormatError);
    assert.throws(() => elementCount([2, -1]), TensorFormatError);
    for (const dtype of TENSOR_DTYPES) assert.equal(decodeTensor(dtype, new Uint8Array(0)).length, 0);
  });

  it('never aliases the input bytes', () => {
    const bytes = encodeTensor('uint8', [1, 2, 3]);
    const decoded = decodeTensor('uint8', bytes);
    bytes[0] = 9;
    assert.equal(decoded[0], 1);
  });
});
