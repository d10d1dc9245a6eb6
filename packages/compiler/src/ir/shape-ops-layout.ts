// Shape handlers for ops that rearrange elements without computing on them: Reshape, Flatten,
// Transpose, Concat, Squeeze/Unsqueeze, Gather, Expand, DepthToSpace. Those that keep the element
// order (or pick elements) also carry the input's value, so a shape vector survives them.
import { broadcastShapes, isNum, mergeDim, normalizeAxis, one, product, staticCount, unknownDims, unknownShape } from './shape-dims.js';
import type { ShapeContext, ShapeHandler } from './shape-inference.js';
import { gatherValues, inputValue, MAX_TRACKED_ELEMENTS, withValue } from './shape-values.js';
import type { Dim } from './types.js';

/** Size of Reshape's -1 dim: input elements / other output dims, cancelling shared symbols. */
function inferredDim(input: Dim[], others: Dim[]): Dim {
  if (input.includes(null) || others.includes(null)) return null;
  const symbols = input.filter((d): d is string => typeof d === 'string');
  for (const s of others.filter((d): d is string => typeof d === 'string')) {
    const at = symbols.indexOf(s);
    if (at < 0) return null;
    symbols.splice(at, 1);
  }
  const ratio = (product(input.filter(isNum)) as number) / (product(others.filter(isNum)) as number);
  if (symbols.length === 0) return Number.isInteger(ratio) ? ratio : null;
  return symbols.length === 1 && ratio === 1 ? symbols[0] : null;
}

/** The rank a shape-vector input implies when its value is unknown (its own length, if static). */
function vectorLength(ctx: ShapeContext, i: number): number | undefined {
  const length = ctx.input(i)?.shape?.[0];
  return isNum(length ?? null) ? (length as number) : undefined;
}

/**
 * Reshape: the target may be computed in the graph (Shape -> Gather -> Concat); its entries are
 * numbers (0 copies the input dim unless allowzero, -1 is inferred), symbolic dims, or unknown.
 */
export const reshape: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  if (!x) return one(undefined);
  const target = ctx.opset >= 5 ? inputValue(ctx, 1) : ctx.attrInts('shape');
  if (!target) {
    const rank = vectorLength(ctx, 1);
    return one(rank === undefined ? { elemType: x.elemType, shape: null } : unknownDims(x.elemType, rank));
  }
  const allowZero = ctx.attrInt('allowzero', 0) === 1;
  const dims: Dim[] = target.map((d, i) => {
    if (d !== 0 || allowZero) return d;
    if (!x.shape) return null;
    if (i >= x.shape.length) ctx.fail(`shape[${i}] = 0 copies a dim the input lacks`);
    return x.shape[i];
  });
  const minusOne = target.indexOf(-1);
  if (minusOne >= 0) {
    if (target.lastIndexOf(-1) !== minusOne) ctx.fail('shape has more than one -1');
    dims[minusOne] = x.shape ? inferredDim(x.shape, dims.filter((_, i) => i !== minusOne)) : null;
  } else if (x.shape && x.shape.every(isNum) && dims.every(isNum) && product(x.shape) !== product(dims)) {
    ctx.fail(`cannot reshape [${x.shape.join(',')}] to [${dims.join(',')}]`);
  }
  if (dims.some((d) => isNum(d) && d < 0)) ctx.fail(`invalid target shape [${target.join(',')}]`);
  return withValue({ elemType: x.elemType, shape: dims }, inputValue(ctx, 0));
};

export const flatten: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  if (!x) return one(undefined);
  if (!x.shape) return one(unknownDims(x.elemType, 2));
  const rank = x.shape.length;
  let axis = ctx.attrInt('axis', 1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis > rank) ctx.fail(`axis out of range for rank ${rank}`);
  const outer = axis === 1 ? x.shape[0] : product(x.shape.slice(0, axis));
  const inner = axis === rank - 1 ? x.shape[rank - 1] : product(x.shape.slice(axis));
  return withValue({ elemType: x.elemType, shape: [outer, inner] }, inputValue(ctx, 0));
};

/** Identity: same type, same value. */
export const identity: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  return withValue(x && { elemType: x.elemType, shape: x.shape }, inputValue(ctx, 0));
};

export const transpose: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  if (!x?.shape) return unknownShape(x);
  const shape = x.shape;
  const perm = ctx.attrInts('perm') ?? shape.map((_, i) => shape.length - 1 - i);
  if (perm.length !== shape.length) ctx.fail(`perm has ${perm.length} entries for rank ${shape.length}`);
  const out = { elemType: x.elemType, shape: perm.map((p) => shape[normalizeAxis(ctx, p, shape.length)]) };
  // Transposing a vector (or anything with at most one non-unit dim) keeps the element order.
  return withValue(out, shape.filter((d) => d !== 1).length <= 1 ? inputValue(ctx, 0) : undefined);
};

/** Concat; along axis 0 values concatenate, and a static input of unknown value adds unknowns. */
export const concat: ShapeHandler = (ctx) => {
  const inputs = ctx.node.inputs.map((_, i) => ctx.input(i));
  const first = inputs.find((x) => x);
  if (!first) return one(undefined);
  if (inputs.some((x) => !x?.shape)) return one({ elemType: first.elemType, shape: null });
  const shapes = inputs.map((x) => x?.shape as Dim[]);
  const rank = shapes[0].length;
  if (shapes.some((s) => s.length !== rank)) ctx.fail('inputs have different ranks');
  const axis = normalizeAxis(ctx, ctx.attrInt('axis', 0), rank);
  const shape = shapes[0].map((_, i) =>
    i !== axis ? shapes.map((s) => s[i]).reduce((a, b) => mergeDim(ctx, a, b))
      : shapes.every((s) => isNum(s[i])) ? shapes.reduce((sum, s) => sum + (s[i] as number), 0) : null,
  );
  let value: Dim[] | undefined;
  if (axis === 0) {
    const parts = shapes.map((s, i) => {
      const count = staticCount(s);
      const known = count !== undefined && count <= MAX_TRACKED_ELEMENTS;
      return inputValue(ctx, i) ?? (known ? new Array<Dim>(count).fill(null) : undefined);
    });
    if (parts.every((p) => p)) value = parts.flatMap((p) => p as Dim[]);
  }
  return withValue({ elemType: first.elemType, shape }, value);
};

export const squeeze: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  if (!x?.shape) return unknownShape(x);
  const shape = x.shape;
  const axes = ctx.opset >= 13 ? ctx.constantInput(1) : ctx.attrInts('axes');
  if (ctx.opset >= 13 && ctx.hasInput(1) && !axes) return unknownShape(x);
  if (!axes) {
    if (!shape.every(isNum)) return unknownShape(x);
    return withValue({ elemType: x.elemType, shape: shape.filter((d) => d !== 1) }, inputValue(ctx, 0));
  }
  const drop = new Set(axes.map((a) => normalizeAxis(ctx, a, shape.length)));
  for (const a of drop) if (isNum(shape[a]) && shape[a] !== 1) ctx.fail(`cannot squeeze axis ${a} of size ${shape[a]}`);
  return withValue({ elemType: x.elemType, shape: shape.filter((_, i) => !drop.has(i)) }, inputValue(ctx, 0));
};

export const unsqueeze: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  if (!x?.shape) return unknownShape(x);
  const axes = ctx.opset >= 13 ? ctx.constantInput(1) : ctx.attrInts('axes');
  if (!axes) {
    const added = ctx.opset >= 13 ? vectorLength(ctx, 1) : undefined;
    return one(added === undefined ? { elemType: x.elemType, shape: null } : unknownDims(x.elemType, x.shape.length + added));
  }
  const rank = x.shape.length + axes.length;
  const at = new Set(axes.map((a) => normalizeAxis(ctx, a, rank)));
  if (at.size !== axes.length) ctx.fail('axes has duplicates');
  const rest = [...x.shape];
  const shape = Array.from({ length: rank }, (_, i) => (at.has(i) ? 1 : (rest.shift() as Dim)));
  return withValue({ elemType: x.elemType, shape }, inputValue(ctx, 0));
};

/** Gather: data dims before the axis, the indices' dims, data dims after; picks known values. */
export const gather: ShapeHandler = (ctx) => {
  const data = ctx.input(0);
  const indices = ctx.input(1);
  if (!data) return one(undefined);
  if (!data.shape || !indices?.shape) return unknownShape(data);
  const axis = normalizeAxis(ctx, ctx.attrInt('axis', 0), data.shape.length);
  const shape = [...data.shape.slice(0, axis), ...indices.shape, ...data.shape.slice(axis + 1)];
  const dataValue = inputValue(ctx, 0);
  const picked = ctx.constantInput(1);
  const dataShape = data.shape.every(isNum) ? data.shape : undefined;
  const value = dataValue && picked && dataShape ? gatherValues(dataValue, dataShape, axis, picked) : undefined;
  return withValue({ elemType: data.elemType, shape }, value);
};

/** GatherElements and ScatterElements-like ops whose output has the shape of input `i`. */
export const shapeOfInput = (i: number, elemTypeFrom = 0): ShapeHandler => (ctx) => {
  const typed = ctx.input(elemTypeFrom);
  const shaped = ctx.input(i);
  return one(typed && { elemType: typed.elemType, shape: shaped ? shaped.shape : null });
};

/** Expand: broadcast of the input with a target shape that may be computed in the graph. */
export const expand: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  if (!x) return one(undefined);
  const target = inputValue(ctx, 1);
  if (!x.shape || !target) {
    const length = vectorLength(ctx, 1);
    return one(x.shape && length !== undefined ? unknownDims(x.elemType, Math.max(length, x.shape.length)) : { elemType: x.elemType, shape: null });
  }
  return one({ elemType: x.elemType, shape: broadcastShapes(ctx, [x.shape, target]) });
};

/** DepthToSpace / SpaceToDepth on NCHW. */
export const depthSpace = (toSpace: boolean): ShapeHandler => (ctx) => {
  const x = ctx.input(0);
  if (!x?.shape) return unknownShape(x);
  if (x.shape.length !== 4) ctx.fail(`expects a 4-D input, got rank ${x.shape.length}`);
  const b = ctx.attrInt('blocksize', 0);
  if (b < 1) ctx.fail('blocksize must be positive');
  const [n, c, h, w] = x.shape;
  const scaled = (d: Dim, up: boolean): Dim => {
    if (!isNum(d)) return null;
    const factor = up ? b : 1 / b;
    const v = d * factor;
    if (!Number.isInteger(v)) ctx.fail(`dimension ${d} is not divisible by ${b}`);
    return v;
  };
  const shape = toSpace
    ? [n, scaled(scaled(c, false), false), scaled(h, true), scaled(w, true)]
    : [n, scaled(scaled(c, true), true), scaled(h, false), scaled(w, false)];
  return one({ elemType: x.elemType, shape });
};
