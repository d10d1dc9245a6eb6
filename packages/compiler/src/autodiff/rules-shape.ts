// Gradient rules of ops that move or reduce values: reshapes, transposes, concatenation,
// softmax and reductions.
import { reduceAxes } from './static-shapes.js';
import type { GradContext, OpGradient } from './rule-types.js';

function dy(ctx: GradContext): string {
  const g = ctx.dy(0);
  if (g === undefined) return ctx.fail('no output gradient');
  return g;
}

/** Any op that only reinterprets the layout: the gradient is reshaped back to the input's shape. */
const reshapeBack: OpGradient = {
  backward: (ctx) => {
    const grads: (string | undefined)[] = ctx.node.inputs.map(() => undefined);
    if (ctx.needsGrad(0)) grads[0] = ctx.emit.reshape(dy(ctx), ctx.shape(ctx.node.inputs[0]));
    return grads;
  },
};

const transpose: OpGradient = {
  backward: (ctx) => {
    if (!ctx.needsGrad(0)) return [undefined];
    const rank = ctx.shape(ctx.node.inputs[0]).length;
    const perm = ctx.attrInts('perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
    const inverse = new Array<number>(rank);
    perm.forEach((p, i) => (inverse[p] = i));
    return [ctx.emit.transpose(dy(ctx), inverse)];
  },
};

const concat: OpGradient = {
  backward: (ctx) => {
    const e = ctx.emit;
    const rank = ctx.shape(ctx.node.outputs[0]).length;
    let axis = ctx.attrInt('axis', 0);
    if (axis < 0) axis += rank;
    const sizes = ctx.node.inputs.map((i) => ctx.shape(i)[axis]);
    const count = sizes.length;
    if (count === 1) return [ctx.needsGrad(0) ? dy(ctx) : undefined];
    const parts = ctx.opset >= 13
      ? e.ops('Split', [dy(ctx), e.int64(sizes)], { axis }, count)
      : e.ops('Split', [dy(ctx)], { axis, split: sizes }, count);
    return parts.map((p, i) => (ctx.needsGrad(i) ? p : undefined));
  },
};

/** Axes a softmax normalizes over: one axis from opset 13, the flattened tail before. */
function softmaxAxes(ctx: GradContext): number[] {
  const rank = ctx.shape(ctx.node.inputs[0]).length;
  let axis = ctx.attrInt('axis', ctx.opset >= 13 ? -1 : 1);
  if (axis < 0) axis += rank;
  if (ctx.opset >= 13) return [axis];
  return Array.from({ length: rank - axis }, (_, i) => axis + i);
}

const softmax: OpGradient = {
  // dx = y * (g - sum(g * y))
  backward: (ctx) => {
    if (!ctx.needsGrad(0)) return [undefined];
    const e = ctx.emit;
    const y = ctx.node.outputs[0];
    const gy = e.op('Mul', [dy(ctx), y]);
    const s = e.reduceSum(gy, softmaxAxes(ctx), true);
    return [e.op('Sub', [gy, e.op('Mul', [y, s])])];
  },
};

const logSoftmax: OpGradient = {
  // dx = g - softmax(x) * sum(g)
  backward: (ctx) => {
    if (!ctx.needsGrad(0)) return [undefined];
    const e = ctx.emit;
    const p = e.op('Exp', [ctx.node.outputs[0]]);
    const s = e.reduceSum(dy(ctx), softmaxAxes(ctx), true);
    return [e.op('Sub', [dy(ctx), e.op('Mul', [p, s])])];
  },
};

function reduction(mean: boolean): OpGradient {
  return {
    backward: (ctx) => {
      const grads: (string | undefined)[] = ctx.node.inputs.map(() => undefined);
      if (!ctx.needsGrad(0)) return grads;
      const e = ctx.emit;
      const xShape = ctx.shape(ctx.node.inputs[0]);
      const axes = reduceAxes(ctx, xShape.length);
      const keptShape = xShape.map((d, i) => (axes.includes(i) ? 1 : d));
      const kept = e.reshape(dy(ctx), keptShape);
      const count = axes.reduce((n, a) => n * xShape[a], 1);
      const expanded = e.op('Expand', [mean ? e.mulScalar(kept, 1 / count) : kept, e.int64(xShape)]);
      grads[0] = expanded;
      return grads;
    },
  };
}

export const shapeRules: Record<string, OpGradient> = {
  Flatten: reshapeBack,
  Reshape: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Transpose: transpose,
  Concat: concat,
  Softmax: softmax,
  LogSoftmax: logSoftmax,
  ReduceMean: reduction(true),
  ReduceSum: reduction(false),
};
