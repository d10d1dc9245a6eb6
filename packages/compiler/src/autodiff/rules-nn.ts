// Gradient rules of dense layers, BatchNormalization and Dropout.
import type { GradContext, LowerContext, OpGradient } from './rule-types.js';

function dy(ctx: GradContext): string {
  const g = ctx.dy(0);
  if (g === undefined) return ctx.fail('no output gradient');
  return g;
}

const gemm: OpGradient = {
  backward: (ctx) => {
    const e = ctx.emit;
    const [a, b, c] = ctx.node.inputs;
    const g = dy(ctx);
    const alpha = ctx.attrFloat('alpha', 1);
    const beta = ctx.attrFloat('beta', 1);
    const transA = ctx.attrInt('transA', 0) === 1;
    const transB = ctx.attrInt('transB', 0) === 1;
    const grads: (string | undefined)[] = [undefined, undefined, undefined];
    // Y = alpha * A' B' + beta * C with A' = transA ? A^T : A, B' likewise.
    if (ctx.needsGrad(0)) {
      grads[0] = transA
        ? e.op('Gemm', [b, g], { alpha, transA: transB ? 1 : 0, transB: 1 })
        : e.op('Gemm', [g, b], { alpha, transB: transB ? 0 : 1 });
    }
    if (ctx.needsGrad(1)) {
      grads[1] = transB
        ? e.op('Gemm', [g, a], { alpha, transA: 1, transB: transA ? 1 : 0 })
        : e.op('Gemm', [a, g], { alpha, transA: transA ? 0 : 1 });
    }
    if (c && ctx.needsGrad(2)) grads[2] = e.reduceToShape(e.mulScalar(g, beta), ctx.shape(ctx.node.outputs[0]), ctx.shape(c));
    return grads;
  },
};

const matMul: OpGradient = {
  backward: (ctx) => {
    const e = ctx.emit;
    const [a, b] = ctx.node.inputs;
    const aShape = ctx.shape(a);
    const bShape = ctx.shape(b);
    if (aShape.length < 2 || bShape.length < 2) ctx.fail('1-D MatMul operands are not supported');
    const yShape = ctx.shape(ctx.node.outputs[0]);
    const batch = yShape.slice(0, -2);
    const swapLast = (rank: number): number[] => [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2];
    const g = dy(ctx);
    const grads: (string | undefined)[] = [undefined, undefined];
    if (ctx.needsGrad(0)) {
      const full = e.op('MatMul', [g, e.transpose(b, swapLast(bShape.length))]);
      grads[0] = e.reduceToShape(full, [...batch, ...aShape.slice(-2)], aShape);
    }
    if (ctx.needsGrad(1)) {
      const full = e.op('MatMul', [e.transpose(a, swapLast(aShape.length)), g]);
      grads[1] = e.reduceToShape(full, [...batch, ...bShape.slice(-2)], bShape);
    }
    return grads;
  },
};

function channelAxes(rank: number): number[] {
  return [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
}

/**
 * Training mode: normalizes with the batch's mean and (biased) variance and emits running-average
 * updates, `running = momentum * running + (1 - momentum) * batch`, with the unbiased variance as
 * PyTorch does. Frozen mode keeps the inference node and differentiates through the running stats.
 */
function lowerBatchNorm(ctx: LowerContext): Record<string, string> {
  const e = ctx.emit;
  const [x, scale, bias, runningMean, runningVar] = ctx.node.inputs;
  const xShape = ctx.shape(x);
  const channels = xShape[1];
  const axes = channelAxes(xShape.length);
  const broadcast = [1, channels, ...xShape.slice(2).map(() => 1)];
  const eps = ctx.attrFloat('epsilon', 1e-5);
  const scaleR = e.reshape(scale, broadcast);
  if (ctx.options.batchNorm === 'frozen') {
    e.ops('BatchNormalization', ctx.node.inputs, ctx.node.attributes, [ctx.node.outputs[0]]);
    const invstd = e.op('Reciprocal', [e.op('Sqrt', [e.op('Add', [e.reshape(runningVar, broadcast), e.float(eps)])])]);
    const xhat = e.op('Mul', [e.op('Sub', [x, e.reshape(runningMean, broadcast)]), invstd]);
    return { mode: 'frozen', invstd, xhat, scaleR };
  }
  const mean = e.reduceMean(x, axes, true);
  const centered = e.op('Sub', [x, mean]);
  const variance = e.reduceMean(e.op('Mul', [centered, centered]), axes, true);
  const invstd = e.op('Reciprocal', [e.op('Sqrt', [e.op('Add', [variance, e.float(eps)])])]);
  const xhat = e.op('Mul', [centered, invstd]);
  e.opInto(ctx.node.outputs[0], 'Add', [e.op('Mul', [xhat, scaleR]), e.reshape(bias, broadcast)]);
  const momentum = ctx.attrFloat('momentum', 0.9);
  const count = axes.reduce((n, a) => n * xShape[a], 1);
  const unbiased = count > 1 ? count / (count - 1) : 1;
  const blend = (running: string, batch: string, factor: number): string =>
    e.op('Add', [e.mulScalar(running, momentum), e.mulScalar(e.reshape(batch, [channels]), (1 - momentum) * factor)]);
  const newMean = blend(runningMean, mean, 1);
  const newVar = blend(runningVar, variance, unbiased);
  ctx.stateUpdate(runningMean, newMean);
  ctx.stateUpdate(runningVar, newVar);
  // Training-mode models may list running_mean / running_var as extra outputs.
  if (ctx.node.outputs[1]) e.opInto(ctx.node.outputs[1], 'Identity', [newMean]);
  if (ctx.node.outputs[2]) e.opInto(ctx.node.outputs[2], 'Identity', [newVar]);
  return { mode: 'train', invstd, xhat, scaleR };
}

const batchNormalization: OpGradient = {
  lowerForTraining: lowerBatchNorm,
  backward: (ctx) => {
    const e = ctx.emit;
    const g = dy(ctx);
    const { invstd, xhat, scaleR, mode } = ctx.saved;
    const xShape = ctx.shape(ctx.node.inputs[0]);
    const axes = channelAxes(xShape.length);
    const grads: (string | undefined)[] = [undefined, undefined, undefined, undefined, undefined];
    const train = mode !== 'frozen';
    // Per-channel sums shared by all three gradients: sum(g) and sum(g * xhat).
    const needX = ctx.needsGrad(0);
    const sumG = ctx.needsGrad(2) || (needX && train) ? e.reduceSum(g, axes, true) : '';
    const sumGX = ctx.needsGrad(1) || (needX && train) ? e.reduceSum(e.op('Mul', [g, xhat]), axes, true) : '';
    if (needX) {
      const gain = e.op('Mul', [scaleR, invstd]);
      if (!train) grads[0] = e.op('Mul', [g, gain]);
      else {
        // dx = scale * invstd * (g - mean(g) - xhat * mean(g * xhat)), with the means per channel.
        const count = axes.reduce((n, a) => n * xShape[a], 1);
        const k = e.mulScalar(gain, -1 / count);
        const offset = e.op('Mul', [sumG, k]);
        const slope = e.op('Mul', [sumGX, k]);
        grads[0] = e.op('Add', [e.op('Mul', [g, gain]), e.op('Add', [e.op('Mul', [xhat, slope]), offset])]);
      }
    }
    if (ctx.needsGrad(1)) grads[1] = e.reshape(sumGX, [xShape[1]]);
    if (ctx.needsGrad(2)) grads[2] = e.reshape(sumG, [xShape[1]]);
    return grads;
  },
};

function dropoutRatio(ctx: LowerContext): number {
  if (ctx.opset < 12) return ctx.attrFloat('ratio', 0.5);
  if (!ctx.node.inputs[1]) return 0.5;
  const ratio = ctx.constantInput(1);
  if (!ratio) return ctx.fail('ratio must be a constant');
  return ratio[0];
}

const dropout: OpGradient = {
  lowerForTraining: (ctx): Record<string, string> => {
    const e = ctx.emit;
    const [x] = ctx.node.inputs;
    const [y, maskOut] = ctx.node.outputs;
    const ratio = dropoutRatio(ctx);
    if (ctx.options.dropout === 'identity' || ratio === 0) {
      e.opInto(y, 'Identity', [x]);
      if (maskOut) e.opInto(maskOut, 'Equal', [x, x]);
      return { mode: 'identity' };
    }
    const seed = ctx.options.seed + ctx.nodeIndex;
    const noise = e.op('RandomUniformLike', [x], { seed, dtype: e.floatType });
    const keep = e.op('Greater', [noise, e.float(ratio)]);
    const maskScaled = e.mulScalar(e.op('Cast', [keep], { to: e.floatType }), 1 / (1 - ratio));
    e.opInto(y, 'Mul', [x, maskScaled]);
    if (maskOut) e.opInto(maskOut, 'Identity', [keep]);
    return { mode: 'mask', maskScaled };
  },
  backward: (ctx) => {
    if (!ctx.needsGrad(0)) return ctx.node.inputs.map(() => undefined);
    const g = dy(ctx);
    const grads: (string | undefined)[] = ctx.node.inputs.map(() => undefined);
    grads[0] = ctx.saved.mode === 'mask' ? ctx.emit.op('Mul', [g, ctx.saved.maskScaled]) : g;
    return grads;
  },
};

export const nnRules: Record<string, OpGradient> = {
  Gemm: gemm,
  MatMul: matMul,
  BatchNormalization: batchNormalization,
  Dropout: dropout,
};
