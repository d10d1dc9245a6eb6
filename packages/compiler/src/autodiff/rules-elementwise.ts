// Gradient rules of elementwise ops: broadcasting arithmetic and activations.
import type { GradContext, OpGradient } from './rule-types.js';

/** Shape-preserving input gradient of a broadcast binary op. */
function toInput(ctx: GradContext, i: number, g: string): string {
  return ctx.emit.reduceToShape(g, ctx.shape(ctx.node.outputs[0]), ctx.shape(ctx.node.inputs[i]));
}

function dy(ctx: GradContext): string {
  const g = ctx.dy(0);
  if (g === undefined) return ctx.fail('no output gradient');
  return g;
}

const add: OpGradient = {
  backward: (ctx) => [0, 1].map((i) => (ctx.needsGrad(i) ? toInput(ctx, i, dy(ctx)) : undefined)),
};

const sub: OpGradient = {
  backward: (ctx) => [
    ctx.needsGrad(0) ? toInput(ctx, 0, dy(ctx)) : undefined,
    ctx.needsGrad(1) ? toInput(ctx, 1, ctx.emit.op('Neg', [dy(ctx)])) : undefined,
  ],
};

const mul: OpGradient = {
  backward: (ctx) => {
    const [a, b] = ctx.node.inputs;
    return [
      ctx.needsGrad(0) ? toInput(ctx, 0, ctx.emit.op('Mul', [dy(ctx), b])) : undefined,
      ctx.needsGrad(1) ? toInput(ctx, 1, ctx.emit.op('Mul', [dy(ctx), a])) : undefined,
    ];
  },
};

const div: OpGradient = {
  backward: (ctx) => {
    const e = ctx.emit;
    const [, b] = ctx.node.inputs;
    const y = ctx.node.outputs[0];
    const ga = ctx.needsGrad(0) || ctx.needsGrad(1) ? e.op('Div', [dy(ctx), b]) : '';
    return [
      ctx.needsGrad(0) ? toInput(ctx, 0, ga) : undefined,
      // d(a/b)/db = -a/b^2 = -y/b
      ctx.needsGrad(1) ? toInput(ctx, 1, e.op('Neg', [e.op('Mul', [ga, y])])) : undefined,
    ];
  },
};

/** Unary op whose derivative is a function of input x and output y. */
function unary(derivative: (ctx: GradContext, x: string, y: string) => string): OpGradient {
  return {
    backward: (ctx) => {
      if (!ctx.needsGrad(0)) return [undefined];
      const d = derivative(ctx, ctx.node.inputs[0], ctx.node.outputs[0]);
      return [ctx.emit.op('Mul', [dy(ctx), d])];
    },
  };
}

/** Unary op whose gradient passes where a mask holds and is zero elsewhere. */
function masked(mask: (ctx: GradContext, x: string) => string, scale?: (ctx: GradContext) => number): OpGradient {
  return {
    backward: (ctx) => {
      if (!ctx.needsGrad(0)) return [undefined];
      const e = ctx.emit;
      const g = scale ? e.mulScalar(dy(ctx), scale(ctx)) : dy(ctx);
      return [e.op('Where', [mask(ctx, ctx.node.inputs[0]), g, e.float(0)])];
    },
  };
}

const identity: OpGradient = { backward: (ctx) => [ctx.needsGrad(0) ? dy(ctx) : undefined] };

/** Clip passes the gradient where it did not clip: y == x (bounds inclusive, as PyTorch). */
const clip = masked((ctx, x) => ctx.emit.op('Equal', [x, ctx.node.outputs[0]]));

export const elementwiseRules: Record<string, OpGradient> = {
  Add: add,
  Sub: sub,
  Mul: mul,
  Div: div,
  Identity: identity,
  Neg: { backward: (ctx) => [ctx.needsGrad(0) ? ctx.emit.op('Neg', [dy(ctx)]) : undefined] },
  // y = max(x, 0) >= 0, so Sign(y) is the 0/1 derivative; cheaper on onnxruntime than Where.
  Relu: unary((ctx, _x, y) => ctx.emit.op('Sign', [y])),
  LeakyRelu: unary((ctx, x) => {
    const e = ctx.emit;
    return e.op('Where', [e.op('Greater', [x, e.float(0)]), e.float(1), e.float(ctx.attrFloat('alpha', 0.01))]);
  }),
  Clip: clip,
  Sigmoid: unary((ctx, _x, y) => ctx.emit.op('Mul', [y, ctx.emit.op('Sub', [ctx.emit.float(1), y])])),
  Tanh: unary((ctx, _x, y) => ctx.emit.op('Sub', [ctx.emit.float(1), ctx.emit.op('Mul', [y, y])])),
  Exp: unary((_ctx, _x, y) => y),
  Log: unary((ctx, x) => ctx.emit.op('Reciprocal', [x])),
  Sqrt: unary((ctx, _x, y) => ctx.emit.op('Reciprocal', [ctx.emit.mulScalar(y, 2)])),
  Reciprocal: unary((ctx, _x, y) => ctx.emit.op('Neg', [ctx.emit.op('Mul', [y, y])])),
  HardSigmoid: masked(
    (ctx, x) => {
      const e = ctx.emit;
      const t = e.op('Add', [e.mulScalar(x, ctx.attrFloat('alpha', 0.2)), e.float(ctx.attrFloat('beta', 0.5))]);
      return e.op('And', [e.op('Greater', [t, e.float(0)]), e.op('Less', [t, e.float(1)])]);
    },
    (ctx) => ctx.attrFloat('alpha', 0.2),
  ),
  // HardSwish(x) = x * clip(x/6 + 1/2, 0, 1): derivative 0 below -3, 1 above 3, x/3 + 1/2 between.
  HardSwish: unary((ctx, x) => {
    const e = ctx.emit;
    const inner = e.op('Add', [e.mulScalar(x, 1 / 3), e.float(0.5)]);
    const upper = e.op('Where', [e.op('Greater', [x, e.float(3)]), e.float(1), inner]);
    return e.op('Where', [e.op('Less', [x, e.float(-3)]), e.float(0), upper]);
  }),
};
