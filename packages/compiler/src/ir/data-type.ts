// ONNX TensorProto.DataType codes and the short names used across edgeloop ('float32', 'int64', ...).

/** ONNX element type codes (TensorProto.DataType). */
export const DataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
  FLOAT8E4M3FN: 17,
  FLOAT8E4M3FNUZ: 18,
  FLOAT8E5M2: 19,
  FLOAT8E5M2FNUZ: 20,
  UINT4: 21,
  INT4: 22,
  FLOAT4E2M1: 23,
} as const;

/** An ONNX element type code; codes this table does not know are kept as plain numbers. */
export type DataTypeCode = number;

export type DTypeName =
  | 'float32' | 'uint8' | 'int8' | 'uint16' | 'int16' | 'int32' | 'int64' | 'string' | 'bool'
  | 'float16' | 'float64' | 'uint32' | 'uint64' | 'complex64' | 'complex128' | 'bfloat16'
  | 'float8e4m3fn' | 'float8e4m3fnuz' | 'float8e5m2' | 'float8e5m2fnuz' | 'uint4' | 'int4' | 'float4e2m1';

const NAMES: Record<number, DTypeName> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string',
  9: 'bool', 10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64', 14: 'complex64', 15: 'complex128',
  16: 'bfloat16', 17: 'float8e4m3fn', 18: 'float8e4m3fnuz', 19: 'float8e5m2', 20: 'float8e5m2fnuz',
  21: 'uint4', 22: 'int4', 23: 'float4e2m1',
};
const CODES = new Map<string, number>(Object.entries(NAMES).map(([code, name]) => [name, Number(code)]));
CODES.set('float', 1).set('double', 11);

/** Bits per element; 0 for STRING/UNDEFINED (variable or none). */
const BITS: Record<number, number> = {
  1: 32, 2: 8, 3: 8, 4: 16, 5: 16, 6: 32, 7: 64, 8: 0, 9: 8, 10: 16, 11: 64, 12: 32, 13: 64, 14: 64,
  15: 128, 16: 16, 17: 8, 18: 8, 19: 8, 20: 8, 21: 4, 22: 4, 23: 4,
};

/** 'float32' for 1, ...; `dtype<code>` for codes this table does not know. */
export function dataTypeName(code: DataTypeCode): string {
  return NAMES[code] ?? `dtype${code}`;
}

/** Code for a name ('float32', 'float', 'int64', ...) or a code passed through; undefined if unknown. */
export function dataTypeFromName(name: string | DataTypeCode): DataTypeCode | undefined {
  if (typeof name === 'number') return NAMES[name] !== undefined ? name : undefined;
  return CODES.get(name.toLowerCase());
}

/** Bits per element (4 for int4, 0 for string / unknown codes). */
export function dataTypeBits(code: DataTypeCode): number {
  return BITS[code] ?? 0;
}

/** Bytes needed for `count` elements of `code` (sub-byte types round up). */
export function dataTypeByteLength(code: DataTypeCode, count: number): number {
  return Math.ceil((dataTypeBits(code) * count) / 8);
}
