// Tensor helpers: create tensors from typed arrays (as views) and read them back as typed arrays.
import { GraphBuildError } from '../errors.js';
import { DataType, dataTypeBits, dataTypeByteLength, dataTypeFromName, dataTypeName } from './data-type.js';
import type { DTypeName } from './data-type.js';
import type { Tensor } from './types.js';

export type TypedArray =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array
  | BigInt64Array | BigUint64Array;

/** Element type for a typed array: Uint16Array is read as uint16 (pass 'float16' explicitly). */
function dataTypeOfArray(a: TypedArray): number {
  if (a instanceof Float32Array) return DataType.FLOAT;
  if (a instanceof Float64Array) return DataType.DOUBLE;
  if (a instanceof Int8Array) return DataType.INT8;
  if (a instanceof Int16Array) return DataType.INT16;
  if (a instanceof Uint16Array) return DataType.UINT16;
  if (a instanceof Int32Array) return DataType.INT32;
  if (a instanceof Uint32Array) return DataType.UINT32;
  if (a instanceof BigInt64Array) return DataType.INT64;
  if (a instanceof BigUint64Array) return DataType.UINT64;
  return DataType.UINT8;
}

/** Number of elements (1 for a scalar). */
export function tensorElementCount(t: { dims: readonly number[] }): number {
  return t.dims.reduce((a, b) => a * b, 1);
}

/**
 * Makes a tensor whose `data` is a view over `values` (no copy). Strings are stored UTF-8 encoded.
 * `dtype` overrides the element type implied by the array (e.g. 'float16' for a Uint16Array, 'bool').
 */
export function createTensor(
  name: string,
  values: TypedArray | readonly string[],
  dims: readonly number[],
  dtype?: DTypeName | number,
): Tensor {
  const count = dims.reduce((a, b) => a * b, 1);
  if (!Array.isArray(values) && !ArrayBuffer.isView(values)) throw new GraphBuildError(`tensor '${name}': unsupported data`);
  if (Array.isArray(values)) {
    const strings = (values as readonly string[]).map((s) => new TextEncoder().encode(s));
    if (strings.length !== count) throw new GraphBuildError(`tensor '${name}': ${strings.length} strings for shape [${dims.join(',')}]`);
    return { name, dataType: DataType.STRING, dims: [...dims], data: new Uint8Array(0), strings };
  }
  const arr = values as TypedArray;
  const dataType = dtype === undefined ? dataTypeOfArray(arr) : dataTypeFromName(dtype);
  if (dataType === undefined) throw new GraphBuildError(`tensor '${name}': unknown dtype '${String(dtype)}'`);
  const data = new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
  const expected = dataTypeByteLength(dataType, count);
  if (data.byteLength !== expected) {
    throw new GraphBuildError(
      `tensor '${name}': ${data.byteLength} bytes of data, shape [${dims.join(',')}] of ${dataTypeName(dataType)} needs ${expected}`,
    );
  }
  return { name, dataType, dims: [...dims], data };
}

const CTORS: Record<number, new (buffer: ArrayBuffer, byteOffset: number, length: number) => TypedArray> = {
  [DataType.FLOAT]: Float32Array, [DataType.DOUBLE]: Float64Array, [DataType.INT8]: Int8Array,
  [DataType.UINT8]: Uint8Array, [DataType.BOOL]: Uint8Array, [DataType.INT16]: Int16Array,
  [DataType.UINT16]: Uint16Array, [DataType.FLOAT16]: Uint16Array, [DataType.BFLOAT16]: Uint16Array,
  [DataType.INT32]: Int32Array, [DataType.UINT32]: Uint32Array, [DataType.INT64]: BigInt64Array,
  [DataType.UINT64]: BigUint64Array, [DataType.COMPLEX64]: Float32Array, [DataType.COMPLEX128]: Float64Array,
};

/**
 * The tensor's elements as a typed array (float16/bfloat16 as raw Uint16Array bits, bool as
 * Uint8Array, complex as interleaved floats). A view when the bytes are aligned, else a copy.
 */
export function tensorToTypedArray(t: Tensor): TypedArray {
  const Ctor = CTORS[t.dataType];
  if (!Ctor) throw new TypeError(`tensor '${t.name}': no typed array for ${dataTypeName(t.dataType)}`);
  const width = dataTypeBits(t.dataType) / 8 / (t.dataType === DataType.COMPLEX64 || t.dataType === DataType.COMPLEX128 ? 2 : 1);
  let bytes = t.data;
  // Buffer#slice is a view, so copy through the Uint8Array constructor.
  if (bytes.byteOffset % width !== 0) bytes = new Uint8Array(bytes);
  return new Ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength / width);
}

/** A STRING tensor's elements decoded as UTF-8. */
export function tensorStrings(t: Tensor): string[] {
  const decoder = new TextDecoder();
  return (t.strings ?? []).map((s) => decoder.decode(s));
}

/** Element values as plain numbers (int64 via Number); for small constant tensors (shapes, axes). */
export function tensorToNumbers(t: Tensor): number[] {
  return Array.from(tensorToTypedArray(t) as ArrayLike<number | bigint>, (v) => Number(v));
}
