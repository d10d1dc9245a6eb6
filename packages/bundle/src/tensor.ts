// Raw tensor members: little-endian, row-major, no header. dtype and dims live in the manifest's
// TensorRef, so a member file is exactly elementCount(dims) * bytesPerElement(dtype) bytes.
import { TensorFormatError } from './errors.js';

export const TENSOR_DTYPES = ['float32', 'float16', 'int8', 'uint8', 'int32', 'int64', 'bool'] as const;
export type TensorDtype = (typeof TENSOR_DTYPES)[number];

export type TensorValues =
  | Float32Array
  | Int8Array
  | Uint8Array
  | Int32Array
  | BigInt64Array;

/** The typed array decodeTensor returns for each dtype. */
export interface TensorArrayOf {
  float32: Float32Array;
  float16: Float32Array;
  int8: Int8Array;
  uint8: Uint8Array;
  int32: Int32Array;
  int64: BigInt64Array;
  bool: Uint8Array;
}

const BYTES_PER_ELEMENT: Record<TensorDtype, number> = {
  float32: 4,
  float16: 2,
  int8: 1,
  uint8: 1,
  int32: 4,
  int64: 8,
  bool: 1,
};

export function bytesPerElement(dtype: TensorDtype): number {
  return BYTES_PER_ELEMENT[dtype];
}

/** Number of elements for concrete dims (an empty dims list is a scalar: 1 element). */
export function elementCount(dims: readonly number[]): number {
  let count = 1;
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0) throw new TensorFormatError(`invalid tensor dim ${d} in [${dims.join(', ')}]`);
    count *= d;
  }
  return count;
}

export function tensorByteLength(dtype: TensorDtype, dims: readonly number[]): number {
  return elementCount(dims) * bytesPerElement(dtype);
}

/**
 * Encode values as a raw little-endian tensor member. Numbers are converted to the dtype
 * (float16 rounds to nearest even; int64 accepts numbers or bigints; bool is 0/1).
 */
export function encodeTensor(
  dtype: TensorDtype,
  values: ArrayLike<number | bigint | boolean>,
  dims?: readonly number[],
): Uint8Array {
  if (dims !== undefined && elementCount(dims) !== values.length) {
    throw new TensorFormatError(
      `encodeTensor: ${values.length} values do not fill dims [${dims.join(', ')}] (${elementCount(dims)} elements)`,
    );
  }
  const out = new Uint8Array(values.length * bytesPerElement(dtype));
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    switch (dtype) {
      case 'float32':
        view.setFloat32(i * 4, Number(v), true);
        break;
      case 'float16':
        view.setUint16(i * 2, float32ToFloat16Bits(Number(v)), true);
        break;
      case 'int8':
        view.setInt8(i, Number(v));
        break;
      case 'uint8':
        view.setUint8(i, Number(v));
        break;
      case 'int32':
        view.setInt32(i * 4, Number(v), true);
        break;
      case 'int64':
        view.setBigInt64(i * 8, typeof v === 'bigint' ? v : BigInt(Math.trunc(Number(v))), true);
        break;
      case 'bool':
        view.setUint8(i, v ? 1 : 0);
        break;
    }
  }
  return out;
}

/**
 * Decode a raw little-endian tensor member into a typed array (float16 widens to Float32Array,
 * bool is a Uint8Array of 0/1). The result never aliases `bytes`.
 */
export function decodeTensor<D extends TensorDtype>(dtype: D, bytes: Uint8Array, dims?: readonly number[]): TensorArrayOf[D] {
  return decodeTensorValues(dtype, bytes, dims) as TensorArrayOf[D];
}

function decodeTensorValues(dtype: TensorDtype, bytes: Uint8Array, dims?: readonly number[]): TensorValues {
  const size = bytesPerElement(dtype);
  if (bytes.byteLength % size !== 0) {
    throw new TensorFormatError(`decodeTensor: ${bytes.byteLength} bytes is not a whole number of ${dtype} elements`);
  }
  const count = bytes.byteLength / size;
  if (dims !== undefined && elementCount(dims) !== count) {
    throw new TensorFormatError(
      `decodeTensor: ${count} ${dtype} elements do not match dims [${dims.join(', ')}] (${elementCount(dims)} elements)`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'float32': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
      return out;
    }
    case 'float16': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = float16BitsToFloat32(view.getUint16(i * 2, true));
      return out;
    }
    case 'int8':
      return new Int8Array(bytes.slice().buffer);
    case 'uint8':
      return bytes.slice();
    case 'bool': {
      const out = new Uint8Array(count);
      for (let i = 0; i < count; i++) out[i] = bytes[i] === 0 ? 0 : 1;
      return out;
    }
    case 'int32': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4, true);
      return out;
    }
    case 'int64': {
      const out = new BigInt64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getBigInt64(i * 8, true);
      return out;
    }
  }
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE 754 binary32 → binary16 bits, round to nearest even, with overflow to ±Infinity. */
export function float32ToFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0); // Inf / NaN
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow
  if (e <= 0) {
    if (e < -10) return sign; // underflow to zero
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1)) half++;
  e = half >>> 10;
  return sign | (e >= 0x1f ? 0x7c00 : half);
}

/** IEEE 754 binary16 bits → number. */
export function float16BitsToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}
