// Shape handlers for ops that change the extent of axes: Slice, Split, Tile, Pad, Resize/Upsample.
// Their parameters (starts, split sizes, pads, scales, sizes) may be computed in the graph; they are
// read through the propagated values.
import { isNum, normalizeAxis, one, unknownDims, unknownShape } from './shape-dims.js';
import type { ShapeContext, ShapeHandler, TensorInfo } from './shape-inference.js';
import { inputValue, withValue } from './shape-values.js';
import type { Dim } from './types.js';

/** Slice bounds at least this large mean "to the end" (exports use INT64_MAX or INT32_MAX). */
const TO_THE_END = 2 ** 31 - 1;

/** Start index and element count of a slice of a dim of `size`, per the ONNX clamping rules. */
export function sliceRange(size: number, start: number, end: number, step: number): { first: number; count: number } {
  let s = start < 0 ? start + size : start;
  let e = end < 0 ? end + size : end;
  const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v, lo), hi);
  if (step > 0) {
    s = clamp(s, 0, size);
    e = clamp(e, 0, size);
  } else {
    s = clamp(s, 0, size - 1);
    e = clamp(e, -1, size - 1);
  }
  return { first: s, count: Math.max(0, Math.ceil((e - s) / step)) };
}

/** Extent of a sliced dim; a dim that is not a number survives only a whole-axis slice. */
function slicedDim(size: Dim, start: Dim, end: Dim, step: number): Dim {
  if (isNum(size) && isNum(start) && isNum(end)) return sliceRange(size, start, end, step).count;
  const wholeAxis = step === 1 && start === 0 && ((isNum(end) && end >= TO_THE_END) || (end !== null && end === size));
  return wholeAxis ? size : null;
}

/** Slice: attributes before opset 10, inputs (starts, ends, axes, steps) after; negative indices and steps. */
export const slice: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  if (!x?.shape) return unknownShape(x);
  const shape = x.shape;
  const rank = shape.length;
  const fromInputs = ctx.opset >= 10;
  const starts = fromInputs ? inputValue(ctx, 1) : ctx.attrInts('starts');
  const ends = fromInputs ? inputValue(ctx, 2) : ctx.attrInts('ends');
  const axesGiven = fromInputs ? ctx.hasInput(3) : ctx.attrInts('axes') !== undefined;
  const axesValue = fromInputs ? ctx.constantInput(3) : ctx.attrInts('axes');
  const steps = fromInputs && ctx.hasInput(4) ? ctx.constantInput(4) : undefined;
  const count = starts?.length ?? ends?.length ?? (fromInputs ? ctx.input(1)?.shape?.[0] : undefined);
  if ((axesGiven && !axesValue) || (fromInputs && ctx.hasInput(4) && !steps) || !isNum(count ?? null)) {
    return one(unknownDims(x.elemType, rank));
  }
  const n = count as number;
  const axes = (axesValue ?? Array.from({ length: n }, (_, i) => i)).map((a) => normalizeAxis(ctx, a, rank));
  if (axes.length !== n || (starts && starts.length !== n) || (ends && ends.length !== n) || (steps && steps.length !== n)) {
    ctx.fail(`starts, ends, axes and steps differ in length`);
  }
  if (new Set(axes).size !== n) ctx.fail('axes has duplicates');
  const out = [...shape];
  axes.forEach((a, i) => {
    const step = steps?.[i] ?? 1;
    if (step === 0) ctx.fail('step must not be 0');
    out[a] = starts && ends ? slicedDim(shape[a], starts[i], ends[i], step) : null;
  });
  return withValue({ elemType: x.elemType, shape: out }, sliceValue(ctx, shape, starts, ends, steps));
};

/** Values of a 1-D slice (of a shape vector) when everything about it is known. */
function sliceValue(ctx: ShapeContext, shape: Dim[], starts?: Dim[], ends?: Dim[], steps?: number[]): Dim[] | undefined {
  const value = inputValue(ctx, 0);
  const [start, end, step] = [starts?.[0] ?? null, ends?.[0] ?? null, steps?.[0] ?? 1];
  if (!value || shape.length !== 1 || !isNum(shape[0]) || !isNum(start) || !isNum(end)) return undefined;
  const { first, count } = sliceRange(shape[0], start, end, step);
  return Array.from({ length: count }, (_, k) => value[first + k * step]);
}

/** Split: sizes from the `split` attribute (before opset 13) or input; equal parts otherwise. */
export const split: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  const n = ctx.node.outputs.length;
  if (!x?.shape) return { outputs: new Array<TensorInfo | undefined>(n).fill(x && { elemType: x.elemType, shape: null }) };
  const shape = x.shape;
  const axis = normalizeAxis(ctx, ctx.attrInt('axis', 0), shape.length);
  const fromInput = ctx.opset >= 13;
  const sizes = fromInput ? ctx.constantInput(1) : ctx.attrInts('split');
  const dim = shape[axis];
  let parts: Dim[];
  if (sizes && sizes.length > 0) {
    if (sizes.length !== n) ctx.fail(`split has ${sizes.length} sizes for ${n} outputs`);
    const total = sizes.reduce((a, b) => a + b, 0);
    if (isNum(dim) && total !== dim) ctx.fail(`split sizes add up to ${total}, the axis has ${dim}`);
    parts = sizes;
  } else if (fromInput && ctx.hasInput(1) && !sizes) {
    parts = new Array<Dim>(n).fill(null);
  } else if (isNum(dim)) {
    // Opset 18: an uneven split makes the last part smaller; earlier opsets require even parts.
    const chunk = Math.ceil(dim / n);
    if (dim % n !== 0 && ctx.opset < 18) ctx.fail(`axis of ${dim} does not split into ${n} equal parts`);
    parts = Array.from({ length: n }, (_, i) => (i < n - 1 ? chunk : dim - chunk * (n - 1)));
    if (parts.some((p) => (p as number) < 0)) ctx.fail(`axis of ${dim} does not split into ${n} parts`);
  } else {
    parts = new Array<Dim>(n).fill(n === 1 ? dim : null);
  }
  return { outputs: parts.map((p) => ({ elemType: x.elemType, shape: shape.map((d, i) => (i === axis ? p : d)) })) };
};

/** Tile: each dim times its repeat count. */
export const tile: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  if (!x?.shape) return unknownShape(x);
  const repeats = ctx.constantInput(1);
  if (!repeats) return one(unknownDims(x.elemType, x.shape.length));
  if (repeats.length !== x.shape.length) ctx.fail(`repeats has ${repeats.length} entries for rank ${x.shape.length}`);
  return one({ elemType: x.elemType, shape: x.shape.map((d, i) => (repeats[i] === 1 ? d : isNum(d) ? d * repeats[i] : null)) });
};

export const pad: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  if (!x?.shape) return unknownShape(x);
  const rank = x.shape.length;
  const pads = ctx.opset >= 11 ? ctx.constantInput(1) : ctx.attrInts('pads') ?? ctx.attrInts('paddings');
  if (!pads) return one(unknownDims(x.elemType, rank));
  const axesValues = ctx.constantInput(3);
  if (ctx.hasInput(3) && !axesValues) return one(unknownDims(x.elemType, rank));
  const axes = (axesValues ?? x.shape.map((_, i) => i)).map((a) => normalizeAxis(ctx, a, rank));
  if (pads.length !== 2 * axes.length) ctx.fail(`pads has ${pads.length} entries for ${axes.length} axes`);
  const shape = [...x.shape];
  axes.forEach((a, i) => {
    const d = shape[a];
    const extra = pads[i] + pads[i + axes.length];
    shape[a] = isNum(d) ? d + extra : extra === 0 ? d : null;
  });
  return one({ elemType: x.elemType, shape });
};

/**
 * Resize (scales or sizes; opset 10 has scales at input 1, later at 2 with sizes at 3) and Upsample
 * (scales attribute before opset 9, input 1 from 9). Sizes may be computed and symbolic.
 */
export const resize: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  if (!x?.shape) return unknownShape(x);
  const rank = x.shape.length;
  const axes = (ctx.attrInts('axes') ?? x.shape.map((_, i) => i)).map((a) => normalizeAxis(ctx, a, rank));
  const isResize = ctx.node.opType === 'Resize';
  const sizes = isResize && ctx.opset >= 11 ? inputValue(ctx, 3) : undefined;
  const scales = ctx.attrFloats('scales') ?? ctx.constantInput(isResize && ctx.opset >= 11 ? 2 : 1);
  const shape = [...x.shape];
  if (sizes && sizes.length > 0) {
    if (sizes.length !== axes.length) ctx.fail(`sizes has ${sizes.length} entries for ${axes.length} axes`);
    const policy = ctx.attrString('keep_aspect_ratio_policy', 'stretch');
    if (policy === 'stretch') axes.forEach((a, i) => (shape[a] = sizes[i]));
    else keepAspectRatio(shape, axes, sizes, policy === 'not_larger');
  } else if (scales && scales.length > 0) {
    if (scales.length !== axes.length) ctx.fail(`scales has ${scales.length} entries for ${axes.length} axes`);
    axes.forEach((a, i) => {
      const d = shape[a];
      shape[a] = isNum(d) ? Math.floor(d * scales[i]) : scales[i] === 1 ? d : null;
    });
  } else {
    return one(unknownDims(x.elemType, rank));
  }
  return one({ elemType: x.elemType, shape });
};

/** keep_aspect_ratio_policy not_larger / not_smaller: one scale for all resized axes. */
function keepAspectRatio(shape: Dim[], axes: number[], sizes: Dim[], notLarger: boolean): void {
  const ratios = axes.map((a, i) => {
    const [d, s] = [shape[a], sizes[i]];
    return isNum(d) && isNum(s) ? s / d : null;
  });
  const known = ratios.every((r): r is number => r !== null);
  const scale = known ? (notLarger ? Math.min(...ratios) : Math.max(...ratios)) : null;
  for (const a of axes) {
    const d = shape[a];
    shape[a] = scale !== null && isNum(d) ? Math.round(scale * d) : null;
  }
}
