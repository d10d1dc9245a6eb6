// Shape handlers for the ops exports use to compute shapes at run time: Constant, Shape, Size,
// ConstantOfShape, Range, Cast and the element-wise arithmetic and logic on shape vectors. Besides
// the output type they give the output's value (shape-values.ts) whenever it follows from the inputs'.
import { DataType } from './data-type.js';
import { broadcastShapes, dimProduct, isNum, one, staticCount, unknownDims } from './shape-dims.js';
import type { ShapeHandler, TensorInfo } from './shape-inference.js';
import { arithmetic, asElemType, combineValues, compareDims, inputValue, MAX_TRACKED_ELEMENTS, withValue } from './shape-values.js';
import type { ArithmeticOp } from './shape-values.js';
import { tensorToNumbers } from './tensor.js';
import type { Dim, Tensor } from './types.js';

function smallTensorValues(t: Tensor): number[] | undefined {
  if (t.dataType === DataType.STRING || t.external || staticCount(t.dims) === undefined) return undefined;
  if (t.dims.reduce((a, b) => a * b, 1) > MAX_TRACKED_ELEMENTS) return undefined;
  try {
    return tensorToNumbers(t);
  } catch {
    return undefined; // element types without a typed array (float8, int4) are not tracked
  }
}

export const constant: ShapeHandler = (ctx) => {
  const t = ctx.attrTensor('value');
  if (t) return withValue({ elemType: t.dataType, shape: [...t.dims] }, smallTensorValues(t));
  const ints = ctx.attrInts('value_ints');
  if (ints) return withValue({ elemType: DataType.INT64, shape: [ints.length] }, ints);
  const floats = ctx.attrFloats('value_floats');
  if (floats) return withValue({ elemType: DataType.FLOAT, shape: [floats.length] }, floats);
  if (ctx.node.attributes.value_int) return withValue({ elemType: DataType.INT64, shape: [] }, [ctx.attrInt('value_int', 0)]);
  if (ctx.node.attributes.value_float) return withValue({ elemType: DataType.FLOAT, shape: [] }, [ctx.attrFloat('value_float', 0)]);
  if (ctx.node.attributes.value_string) return one({ elemType: DataType.STRING, shape: [] });
  if (ctx.node.attributes.value_strings?.type === 'strings') {
    return one({ elemType: DataType.STRING, shape: [ctx.node.attributes.value_strings.value.length] });
  }
  return one(undefined);
};

/** Shape (start / end from opset 15): its value is the input's dims, symbolic ones included. */
export const shapeOp: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  if (!x?.shape) return one({ elemType: DataType.INT64, shape: [null] });
  const rank = x.shape.length;
  const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + rank : v, 0), rank);
  const start = clamp(ctx.attrInt('start', 0));
  const dims = x.shape.slice(start, Math.max(start, clamp(ctx.attrInt('end', rank))));
  return withValue({ elemType: DataType.INT64, shape: [dims.length] }, dims);
};

export const size: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  return withValue({ elemType: DataType.INT64, shape: [] }, x?.shape ? [dimProduct(x.shape)] : undefined);
};

/** ConstantOfShape: the output's dims are the input's value; the fill value is the attribute's. */
export const constantOfShape: ShapeHandler = (ctx) => {
  const fill = ctx.attrTensor('value');
  const elemType = fill?.dataType ?? DataType.FLOAT;
  const dims = inputValue(ctx, 0);
  if (!dims) {
    const rank = ctx.input(0)?.shape?.[0];
    return one(isNum(rank ?? null) ? unknownDims(elemType, rank as number) : { elemType, shape: null });
  }
  if (dims.some((d) => isNum(d) && d < 0)) ctx.fail(`negative dimension in [${dims.join(',')}]`);
  const count = staticCount(dims);
  const fillValue = fill ? smallTensorValues(fill)?.[0] : 0;
  const value = count !== undefined && count <= MAX_TRACKED_ELEMENTS && fillValue !== undefined ? new Array<Dim>(count).fill(fillValue) : undefined;
  return withValue({ elemType, shape: dims }, value);
};

/** Range: a 1-D tensor of max(ceil((limit - start) / delta), 0) elements. */
export const range: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  const elemType = x?.elemType ?? ctx.input(1)?.elemType ?? ctx.input(2)?.elemType;
  if (elemType === undefined) return one(undefined);
  const [start, limit, delta] = [0, 1, 2].map((i) => ctx.constantInput(i)?.[0]);
  if (start === undefined || limit === undefined || delta === undefined) return one({ elemType, shape: [null] });
  if (delta === 0) ctx.fail('delta must not be 0');
  const count = Math.max(Math.ceil((limit - start) / delta), 0);
  const value = count <= MAX_TRACKED_ELEMENTS ? Array.from({ length: count }, (_, i) => asElemType(start + i * delta, elemType)) : undefined;
  return withValue({ elemType, shape: [count] }, value);
};

export const cast: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  const to = ctx.attrInt('to', DataType.UNDEFINED);
  return withValue({ elemType: to, shape: x ? x.shape : null }, inputValue(ctx, 0)?.map((v) => asElemType(v, to)));
};

/** Output type of a broadcasting op: element type from input `typeFrom` (or bool), broadcast shape. */
function broadcastType(ctx: Parameters<ShapeHandler>[0], typeFrom: number | 'bool'): TensorInfo | undefined {
  const inputs = ctx.node.inputs.map((_, i) => ctx.input(i));
  const elemType = typeFrom === 'bool' ? DataType.BOOL : inputs[typeFrom]?.elemType;
  if (elemType === undefined) return undefined;
  if (inputs.some((x) => !x || !x.shape)) return { elemType, shape: null };
  return { elemType, shape: broadcastShapes(ctx, inputs.map((x) => x?.shape as Dim[])) };
}

/** Element-wise op without value propagation; element type from input `typeFrom` or bool. */
export const broadcasting = (typeFrom: number | 'bool'): ShapeHandler => (ctx) => one(broadcastType(ctx, typeFrom));

/** Add, Sub, Mul, Div, Max, Min, Mod: broadcast type, and values computed on shape vectors. */
export const arithmeticOp = (op: ArithmeticOp): ShapeHandler => (ctx) => {
  const out = broadcastType(ctx, 0);
  const [a, b] = [inputValue(ctx, 0), inputValue(ctx, 1)];
  const variadic = ctx.node.inputs.length !== 2; // Max / Min may take any number of inputs
  const value = out && a && b && !variadic ? combineValues([a, b], ([x, y]) => arithmetic(op, x, y, out.elemType)) : undefined;
  return withValue(out, value);
};

type Comparison = 'Equal' | 'Less' | 'Greater' | 'LessOrEqual' | 'GreaterOrEqual';
const COMPARISONS: Record<Comparison, (order: -1 | 0 | 1) => boolean> = {
  Equal: (o) => o === 0, Less: (o) => o < 0, Greater: (o) => o > 0, LessOrEqual: (o) => o <= 0, GreaterOrEqual: (o) => o >= 0,
};

/** Comparisons give bool; on shape vectors (Equal(shape, -1) in exports) their value is computed. */
export const comparison = (op: Comparison): ShapeHandler => (ctx) => {
  const out = broadcastType(ctx, 'bool');
  const [a, b] = [inputValue(ctx, 0), inputValue(ctx, 1)];
  const value = a && b ? combineValues([a, b], ([x, y]) => {
    const order = compareDims(x, y);
    return order === null ? null : Number(COMPARISONS[op](order));
  }) : undefined;
  return withValue(out, value);
};

/** Where(condition, x, y): type of x; with a known condition, picks values. */
export const where: ShapeHandler = (ctx) => {
  const out = broadcastType(ctx, 1);
  const [c, x, y] = [0, 1, 2].map((i) => inputValue(ctx, i));
  const value = c && x && y ? combineValues([c, x, y], ([ci, xi, yi]) => (ci === null ? null : ci !== 0 ? xi : yi)) : undefined;
  return withValue(out, value);
};

export const not: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  const value = inputValue(ctx, 0)?.map((v) => (isNum(v) ? Number(v === 0) : null));
  return withValue(x && { elemType: x.elemType, shape: x.shape }, value);
};

/** Neg and Abs, which shape vectors go through when exports flip a negative axis. */
export const signOp = (op: 'Neg' | 'Abs'): ShapeHandler => (ctx) => {
  const x = ctx.input(0);
  const value = inputValue(ctx, 0)?.map((v) => (isNum(v) ? (op === 'Neg' ? -v : Math.abs(v)) : op === 'Abs' ? v : null));
  return withValue(x && { elemType: x.elemType, shape: x.shape }, value);
};
