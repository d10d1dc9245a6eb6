// Data propagation: the element values of small tensors (shapes, axes, sizes, scales) flow through
// the ops that compute them, as in ONNX shape inference with data propagation, so that Reshape,
// Resize, Slice or ConstantOfShape see the target a PyTorch export computes at run time from Shape.
// A value lists the tensor's elements in row-major order; an element is a number, a symbolic dim
// name (the run-time size of that dim, as Shape of a ['batch', 3] tensor gives) or null (unknown).
import { DataType } from './data-type.js';
import { isNum, staticCount } from './shape-dims.js';
import type { ShapeContext, ShapeResult, TensorInfo } from './shape-inference.js';
import type { Dim } from './types.js';

/** Values are tracked for tensors of at most this many elements: shape vectors, not activations. */
export const MAX_TRACKED_ELEMENTS = 64;

/** Known elements of input `i`: propagated values when the context tracks them, else constants. */
export function inputValue(ctx: ShapeContext, i: number): Dim[] | undefined {
  return ctx.inputValue ? ctx.inputValue(i) : ctx.constantInput(i);
}

/** A value worth keeping for `out`: small, not all unknown, and as long as the output has elements. */
export function trackableValue(out: TensorInfo | undefined, value: Dim[] | undefined): Dim[] | undefined {
  if (!value || value.length > MAX_TRACKED_ELEMENTS) return undefined;
  if (value.length > 0 && value.every((d) => d === null)) return undefined;
  const count = staticCount(out?.shape);
  return count === undefined || count === value.length ? value : undefined;
}

/** One output and its value; `constants` carries the value as well when every element is known. */
export function withValue(out: TensorInfo | undefined, value: Dim[] | undefined): ShapeResult {
  const kept = trackableValue(out, value);
  return { outputs: [out], values: [kept], constants: [kept && kept.every(isNum) ? kept : undefined] };
}

const INTEGER_TYPES = new Set<number>([
  DataType.INT8, DataType.INT16, DataType.INT32, DataType.INT64, DataType.UINT8, DataType.UINT16, DataType.UINT32, DataType.UINT64,
]);

export const isIntegerType = (elemType: number): boolean => INTEGER_TYPES.has(elemType);

/**
 * A number as the element type stores it: integers truncate, float32 rounds, bool is 0/1. Types
 * whose rounding is not modelled (float16, ...) give null; symbolic dims stay for integer and
 * float32/64 types (a dim converted to float is still that dim's size).
 */
export function asElemType(v: Dim, elemType: number): Dim {
  if (v === null) return null;
  if (elemType === DataType.BOOL) return isNum(v) ? Number(v !== 0) : null;
  if (!isNum(v)) return isIntegerType(elemType) || elemType === DataType.FLOAT || elemType === DataType.DOUBLE ? v : null;
  if (isIntegerType(elemType)) return Number.isFinite(v) ? Math.trunc(v) : null;
  if (elemType === DataType.FLOAT) return Math.fround(v);
  if (elemType === DataType.DOUBLE) return v;
  return Number.isInteger(v) && Math.abs(v) <= 2048 ? v : null; // exact in float16 and bfloat16
}

/**
 * Element-wise combination of values with the broadcasting shape values have in practice: equal
 * lengths, or one side a single element. Anything else is left to the caller (undefined).
 */
export function combineValues(values: Dim[][], f: (xs: Dim[]) => Dim): Dim[] | undefined {
  const length = Math.max(...values.map((v) => v.length));
  if (values.some((v) => v.length !== length && v.length !== 1)) return undefined;
  return Array.from({ length }, (_, i) => f(values.map((v) => v[v.length === 1 ? 0 : i])));
}

export type ArithmeticOp = 'Add' | 'Sub' | 'Mul' | 'Div' | 'Max' | 'Min' | 'Mod';

/** One arithmetic step on dims: numbers compute; symbols survive identities (x+0, x*1, x/1). */
export function arithmetic(op: ArithmeticOp, x: Dim, y: Dim, elemType: number): Dim {
  if (isNum(x) && isNum(y)) {
    const integer = isIntegerType(elemType);
    switch (op) {
      case 'Add': return asElemType(x + y, elemType);
      case 'Sub': return asElemType(x - y, elemType);
      case 'Mul': return asElemType(x * y, elemType);
      case 'Div': return integer && y === 0 ? null : asElemType(x / y, elemType);
      case 'Max': return Math.max(x, y);
      case 'Min': return Math.min(x, y);
      // Integer Mod (fmod=0) takes the divisor's sign, like Python's %.
      case 'Mod': return !integer || y === 0 ? null : ((x % y) + y) % y;
    }
  }
  if (op === 'Add' && y === 0) return x;
  if (op === 'Add' && x === 0) return y;
  if (op === 'Sub' && y === 0) return x;
  if (op === 'Mul' && y === 1) return x;
  if (op === 'Mul' && x === 1) return y;
  if (op === 'Mul' && (x === 0 || y === 0) && isIntegerType(elemType)) return 0;
  if (op === 'Div' && y === 1) return x;
  if ((op === 'Max' || op === 'Min') && x !== null && x === y) return x;
  return null;
}

/**
 * Order of two dims: -1, 0, 1, or null when unknown. A symbolic dim is a size, so it is at least 0:
 * it is greater than any negative number (how exports test a shape entry against -1).
 */
export function compareDims(x: Dim, y: Dim): -1 | 0 | 1 | null {
  if (isNum(x) && isNum(y)) return x < y ? -1 : x > y ? 1 : 0;
  if (x !== null && x === y) return 0;
  if (typeof x === 'string' && isNum(y) && y < 0) return 1;
  if (isNum(x) && x < 0 && typeof y === 'string') return -1;
  return null;
}

/** Values of a Gather along `axis` of a static-shaped tensor with known numeric indices. */
export function gatherValues(data: Dim[], dataShape: number[], axis: number, indices: number[]): Dim[] | undefined {
  const n = dataShape[axis];
  const inner = dataShape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = dataShape.slice(0, axis).reduce((a, b) => a * b, 1);
  if (indices.some((k) => k < -n || k >= n)) return undefined;
  const out: Dim[] = [];
  for (let o = 0; o < outer; o++) {
    for (const k of indices) {
      const base = (o * n + (k < 0 ? k + n : k)) * inner;
      for (let j = 0; j < inner; j++) out.push(data[base + j]);
    }
  }
  return out;
}
