// Evaluates pure ops on constant inputs, for constant folding. Op support is a table
// (opType -> evaluator); the evaluators cover what exporters emit for shape computation
// (Shape, Gather, Unsqueeze, Concat, Cast, Reshape, Slice, ...) and elementwise arithmetic.
// Values are plain numbers; float32 results are rounded to float32 after every operation so the
// folded values equal onnxruntime's.
import { DataType } from '../ir/data-type.js';
import { createTensor, tensorToTypedArray } from '../ir/tensor.js';
import type { Node, Tensor } from '../ir/types.js';
import { halfToFloat, floatToHalf, intAttr, intsAttr } from './graph-rewrite.js';

export interface ConstValue {
  dataType: number;
  dims: number[];
  values: number[];
}

/** What an evaluator sees: constant inputs (undefined when omitted) and, for Shape, the input's static shape. */
export interface EvalContext {
  node: Node;
  opset: number;
  inputs: (ConstValue | undefined)[];
  inputShape(i: number): number[] | undefined;
}

export type ConstEvaluator = (ctx: EvalContext) => ConstValue | undefined;

const FLOATS = new Set<number>([DataType.FLOAT, DataType.DOUBLE, DataType.FLOAT16]);
const INTS = new Set<number>([DataType.INT8, DataType.UINT8, DataType.INT16, DataType.UINT16, DataType.INT32, DataType.UINT32, DataType.INT64, DataType.UINT64, DataType.BOOL]);

export function constFromTensor(t: Tensor): ConstValue | undefined {
  if (!FLOATS.has(t.dataType) && !INTS.has(t.dataType)) return undefined;
  const arr = tensorToTypedArray(t);
  const values = t.dataType === DataType.FLOAT16 ? Array.from(arr as Uint16Array, halfToFloat) : Array.from(arr as ArrayLike<number | bigint>, Number);
  return { dataType: t.dataType, dims: [...t.dims], values };
}

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;
function toBigInt(v: number): bigint {
  if (!Number.isFinite(v)) return v > 0 ? INT64_MAX : INT64_MIN;
  const b = BigInt(Math.trunc(v));
  return b > INT64_MAX ? INT64_MAX : b < INT64_MIN ? INT64_MIN : b;
}

export function constToTensor(name: string, c: ConstValue): Tensor {
  const v = c.values;
  switch (c.dataType) {
    case DataType.FLOAT: return createTensor(name, Float32Array.from(v), c.dims);
    case DataType.DOUBLE: return createTensor(name, Float64Array.from(v), c.dims);
    case DataType.FLOAT16: return createTensor(name, Uint16Array.from(v, floatToHalf), c.dims, 'float16');
    case DataType.INT64: return createTensor(name, BigInt64Array.from(v, toBigInt), c.dims);
    case DataType.UINT64: return createTensor(name, BigUint64Array.from(v, (x) => BigInt(Math.max(0, Math.trunc(x)))), c.dims);
    case DataType.INT32: return createTensor(name, Int32Array.from(v), c.dims);
    case DataType.UINT32: return createTensor(name, Uint32Array.from(v), c.dims);
    case DataType.INT16: return createTensor(name, Int16Array.from(v), c.dims);
    case DataType.UINT16: return createTensor(name, Uint16Array.from(v), c.dims);
    case DataType.INT8: return createTensor(name, Int8Array.from(v), c.dims);
    case DataType.UINT8: return createTensor(name, Uint8Array.from(v), c.dims);
    case DataType.BOOL: return createTensor(name, Uint8Array.from(v, (x) => (x ? 1 : 0)), c.dims, 'bool');
    default: throw new TypeError(`cannot store data type ${c.dataType}`);
  }
}

/** Rounds to what the element type can hold (float32 rounding, integer truncation / wrap for casts). */
function convert(v: number, dataType: number): number {
  switch (dataType) {
    case DataType.FLOAT: return Math.fround(v);
    case DataType.FLOAT16: return halfToFloat(floatToHalf(v));
    case DataType.DOUBLE: return v;
    case DataType.BOOL: return v ? 1 : 0;
    case DataType.INT8: return (Math.trunc(v) << 24) >> 24;
    case DataType.UINT8: return Math.trunc(v) & 0xff;
    case DataType.INT16: return (Math.trunc(v) << 16) >> 16;
    case DataType.UINT16: return Math.trunc(v) & 0xffff;
    case DataType.INT32: return Math.trunc(v) | 0;
    case DataType.UINT32: return Math.trunc(v) >>> 0;
    default: return Number.isFinite(v) ? Math.trunc(v) : v;
  }
}

const size = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);
const strides = (dims: readonly number[]): number[] => {
  const s = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1] * dims[i + 1];
  return s;
};
const normAxis = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);

function broadcastDims(a: number[], b: number[]): number[] | undefined {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return undefined;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** Index into `dims`-shaped data for each element of the broadcast `out` shape. */
function broadcastIndex(dims: number[], out: number[]): number[] {
  const n = size(out);
  const rank = out.length;
  const s = strides(dims);
  const outStrides = strides(out);
  const idx = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    let rem = i;
    let j = 0;
    for (let d = 0; d < rank; d++) {
      const coord = Math.floor(rem / outStrides[d]);
      rem -= coord * outStrides[d];
      const k = d - (rank - dims.length);
      if (k >= 0 && dims[k] !== 1) j += coord * s[k];
    }
    idx[i] = j;
  }
  return idx;
}

function binary(fn: (x: number, y: number, dataType: number) => number, resultType?: number): ConstEvaluator {
  return ({ inputs }) => {
    const [a, b] = inputs;
    if (!a || !b) return undefined;
    const dims = broadcastDims(a.dims, b.dims);
    if (!dims) return undefined;
    const ia = broadcastIndex(a.dims, dims);
    const ib = broadcastIndex(b.dims, dims);
    const type = resultType ?? a.dataType;
    return { dataType: type, dims, values: ia.map((i, k) => convert(fn(a.values[i], b.values[ib[k]], a.dataType), type)) };
  };
}

function unary(fn: (x: number) => number): ConstEvaluator {
  return ({ inputs: [a] }) => (a ? { ...a, values: a.values.map((v) => convert(fn(v), a.dataType)) } : undefined);
}

function divide(x: number, y: number, dataType: number): number {
  return FLOATS.has(dataType) ? x / y : y === 0 ? 0 : Math.trunc(x / y);
}

function axesOf(ctx: EvalContext, inputIndex: number): number[] | undefined {
  const fromAttr = intsAttr(ctx.node, 'axes');
  if (fromAttr) return fromAttr;
  return ctx.inputs[inputIndex]?.values;
}

function transpose(a: ConstValue, perm: number[]): ConstValue {
  const dims = perm.map((p) => a.dims[p]);
  const inStrides = strides(a.dims);
  const outStrides = strides(dims);
  const values = new Array<number>(a.values.length);
  for (let i = 0; i < values.length; i++) {
    let rem = i;
    let src = 0;
    for (let d = 0; d < dims.length; d++) {
      const c = Math.floor(rem / outStrides[d]);
      rem -= c * outStrides[d];
      src += c * inStrides[perm[d]];
    }
    values[i] = a.values[src];
  }
  return { dataType: a.dataType, dims, values };
}

export const constEvaluators: Readonly<Record<string, ConstEvaluator>> = {
  Identity: ({ inputs: [a] }) => a,
  Shape: (ctx) => {
    const shape = ctx.inputs[0]?.dims ?? ctx.inputShape(0);
    if (!shape) return undefined;
    const rank = shape.length;
    const clampAxis = (v: number): number => Math.min(rank, Math.max(0, v < 0 ? v + rank : v));
    const start = clampAxis(intAttr(ctx.node, 'start', 0));
    const end = clampAxis(intAttr(ctx.node, 'end', rank));
    const values = shape.slice(start, end);
    return { dataType: DataType.INT64, dims: [values.length], values };
  },
  Size: (ctx) => {
    const shape = ctx.inputs[0]?.dims ?? ctx.inputShape(0);
    return shape ? { dataType: DataType.INT64, dims: [], values: [size(shape)] } : undefined;
  },
  Cast: ({ node, inputs: [a] }) => {
    const to = intAttr(node, 'to', 0);
    if (!a || (!FLOATS.has(to) && !INTS.has(to))) return undefined;
    return { dataType: to, dims: a.dims, values: a.values.map((v) => convert(v, to)) };
  },
  Reshape: ({ node, inputs: [a, shape] }) => {
    if (!a || !shape) return undefined;
    const allowZero = intAttr(node, 'allowzero', 0) === 1;
    const dims = shape.values.map((d, i) => (d === 0 && !allowZero ? a.dims[i] : d));
    const known = dims.filter((d) => d !== -1).reduce((x, y) => x * y, 1);
    const out = dims.map((d) => (d === -1 ? a.values.length / known : d));
    return size(out) === a.values.length && out.every(Number.isInteger) ? { ...a, dims: out } : undefined;
  },
  Flatten: ({ node, inputs: [a] }) => {
    if (!a) return undefined;
    const axis = normAxis(intAttr(node, 'axis', 1), a.dims.length);
    return { ...a, dims: [size(a.dims.slice(0, axis)), size(a.dims.slice(axis))] };
  },
  Unsqueeze: (ctx) => {
    const a = ctx.inputs[0];
    const axes = axesOf(ctx, 1);
    if (!a || !axes) return undefined;
    const rank = a.dims.length + axes.length;
    const set = new Set(axes.map((x) => normAxis(x, rank)));
    const dims: number[] = [];
    for (let i = 0, j = 0; i < rank; i++) dims.push(set.has(i) ? 1 : a.dims[j++]);
    return { ...a, dims };
  },
  Squeeze: (ctx) => {
    const a = ctx.inputs[0];
    if (!a) return undefined;
    const axes = axesOf(ctx, 1);
    const set = new Set((axes ?? a.dims.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0)).map((x) => normAxis(x, a.dims.length)));
    return { ...a, dims: a.dims.filter((_, i) => !set.has(i)) };
  },
  Concat: ({ node, inputs }) => {
    if (inputs.length === 0 || inputs.some((x) => !x)) return undefined;
    const parts = inputs as ConstValue[];
    const rank = parts[0].dims.length;
    const axis = normAxis(intAttr(node, 'axis', 0), rank);
    const outer = size(parts[0].dims.slice(0, axis));
    const values: number[] = [];
    for (let o = 0; o < outer; o++) {
      for (const p of parts) {
        const chunk = size(p.dims.slice(axis));
        values.push(...p.values.slice(o * chunk, (o + 1) * chunk));
      }
    }
    const dims = [...parts[0].dims];
    dims[axis] = parts.reduce((s, p) => s + p.dims[axis], 0);
    return { dataType: parts[0].dataType, dims, values };
  },
  Gather: ({ node, inputs: [a, idx] }) => {
    if (!a || !idx) return undefined;
    const axis = normAxis(intAttr(node, 'axis', 0), a.dims.length);
    const outer = size(a.dims.slice(0, axis));
    const inner = size(a.dims.slice(axis + 1));
    const n = a.dims[axis];
    const values: number[] = [];
    for (let o = 0; o < outer; o++) {
      for (const raw of idx.values) {
        const k = raw < 0 ? raw + n : raw;
        if (k < 0 || k >= n) return undefined;
        const base = (o * n + k) * inner;
        values.push(...a.values.slice(base, base + inner));
      }
    }
    return { dataType: a.dataType, dims: [...a.dims.slice(0, axis), ...idx.dims, ...a.dims.slice(axis + 1)], values };
  },
  Slice: (ctx) => {
    const a = ctx.inputs[0];
    if (!a) return undefined;
    const legacy = ctx.opset < 10;
    const starts = legacy ? intsAttr(ctx.node, 'starts') : ctx.inputs[1]?.values;
    const ends = legacy ? intsAttr(ctx.node, 'ends') : ctx.inputs[2]?.values;
    if (!starts || !ends) return undefined;
    const rank = a.dims.length;
    const axes = (legacy ? intsAttr(ctx.node, 'axes') : ctx.inputs[3]?.values) ?? starts.map((_, i) => i);
    if (!legacy && ctx.node.inputs[3] && !ctx.inputs[3]) return undefined;
    if (!legacy && ctx.node.inputs[4] && !ctx.inputs[4]) return undefined;
    const steps = (legacy ? undefined : ctx.inputs[4]?.values) ?? starts.map(() => 1);
    const begin = a.dims.map(() => 0);
    const step = a.dims.map(() => 1);
    const count = [...a.dims];
    axes.forEach((rawAxis, i) => {
      const axis = normAxis(rawAxis, rank);
      const dim = a.dims[axis];
      const st = steps[i];
      const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));
      let s = starts[i] < 0 ? starts[i] + dim : starts[i];
      let e = ends[i] < 0 ? ends[i] + dim : ends[i];
      if (st > 0) {
        s = clamp(s, 0, dim);
        e = clamp(e, 0, dim);
        count[axis] = Math.max(0, Math.ceil((e - s) / st));
      } else {
        s = clamp(s, -1, dim - 1);
        e = clamp(e, -1, dim - 1);
        count[axis] = Math.max(0, Math.ceil((s - e) / -st));
      }
      begin[axis] = s;
      step[axis] = st;
    });
    const inStrides = strides(a.dims);
    const outStrides = strides(count);
    const values = new Array<number>(size(count));
    for (let i = 0; i < values.length; i++) {
      let rem = i;
      let src = 0;
      for (let d = 0; d < rank; d++) {
        const c = Math.floor(rem / outStrides[d]);
        rem -= c * outStrides[d];
        src += (begin[d] + c * step[d]) * inStrides[d];
      }
      values[i] = a.values[src];
    }
    return { dataType: a.dataType, dims: count, values };
  },
  Transpose: ({ node, inputs: [a] }) => {
    if (!a) return undefined;
    const perm = intsAttr(node, 'perm') ?? a.dims.map((_, i) => a.dims.length - 1 - i);
    return transpose(a, perm);
  },
  ConstantOfShape: ({ node, inputs: [shape] }) => {
    if (!shape) return undefined;
    const v = node.attributes.value;
    const fill = v?.type === 'tensor' ? constFromTensor(v.value) : { dataType: DataType.FLOAT, dims: [1], values: [0] };
    if (!fill) return undefined;
    return { dataType: fill.dataType, dims: shape.values, values: new Array<number>(size(shape.values)).fill(fill.values[0]) };
  },
  Range: ({ inputs: [start, limit, delta] }) => {
    if (!start || !limit || !delta) return undefined;
    const s = start.values[0];
    const d = delta.values[0];
    const n = Math.max(Math.ceil((limit.values[0] - s) / d), 0);
    return { dataType: start.dataType, dims: [n], values: Array.from({ length: n }, (_, i) => convert(s + i * d, start.dataType)) };
  },
  Where: ({ inputs: [c, x, y] }) => {
    if (!c || !x || !y) return undefined;
    const dims = broadcastDims(c.dims, x.dims);
    const all = dims && broadcastDims(dims, y.dims);
    if (!all) return undefined;
    const ic = broadcastIndex(c.dims, all);
    const ix = broadcastIndex(x.dims, all);
    const iy = broadcastIndex(y.dims, all);
    return { dataType: x.dataType, dims: all, values: ic.map((i, k) => (c.values[i] ? x.values[ix[k]] : y.values[iy[k]])) };
  },
  Add: binary((x, y) => x + y),
  Sub: binary((x, y) => x - y),
  Mul: binary((x, y) => x * y),
  Div: binary(divide),
  Min: binary((x, y) => Math.min(x, y)),
  Max: binary((x, y) => Math.max(x, y)),
  Equal: binary((x, y) => (x === y ? 1 : 0), DataType.BOOL),
  Less: binary((x, y) => (x < y ? 1 : 0), DataType.BOOL),
  Greater: binary((x, y) => (x > y ? 1 : 0), DataType.BOOL),
  Neg: unary((x) => -x),
  Abs: unary(Math.abs),
  Sqrt: unary(Math.sqrt),
  Floor: unary(Math.floor),
  Ceil: unary(Math.ceil),
  Reciprocal: unary((x) => 1 / x),
};
