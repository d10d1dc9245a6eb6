// Shape handlers for network layers: convolution, pooling, matrix products, normalization and
// reductions.
import { DataType } from './data-type.js';
import { broadcastShapes, isNum, mergeDim, normalizeAxis, one, unknownDims, unknownShape } from './shape-dims.js';
import type { ShapeContext, ShapeHandler, TensorInfo } from './shape-inference.js';
import { inputValue } from './shape-values.js';
import type { Dim } from './types.js';

interface WindowOptions {
  kernel: number[];
  strides: number[];
  dilations: number[];
  pads: number[];
  autoPad: string;
  ceilMode: boolean;
}

function windowOptions(ctx: ShapeContext, kernel: number[]): WindowOptions {
  const n = kernel.length;
  return {
    kernel,
    strides: ctx.attrInts('strides') ?? new Array<number>(n).fill(1),
    dilations: ctx.attrInts('dilations') ?? new Array<number>(n).fill(1),
    pads: ctx.attrInts('pads') ?? new Array<number>(2 * n).fill(0),
    autoPad: ctx.attrString('auto_pad', 'NOTSET'),
    ceilMode: ctx.attrInt('ceil_mode', 0) === 1,
  };
}

/** Output size of a sliding window (convolution / pooling) along each spatial axis. */
function windowOutput(ctx: ShapeContext, spatial: Dim[], o: WindowOptions): Dim[] {
  const n = spatial.length;
  if (o.kernel.length !== n) ctx.fail(`kernel rank ${o.kernel.length} does not match ${n} spatial dims`);
  return spatial.map((size, i) => {
    const s = o.strides[i];
    const effK = (o.kernel[i] - 1) * o.dilations[i] + 1;
    const same = o.autoPad === 'SAME_UPPER' || o.autoPad === 'SAME_LOWER';
    if (!isNum(size)) {
      const identity = s === 1 && (same || (o.autoPad !== 'VALID' && effK === 1 + o.pads[i] + o.pads[i + n]));
      return identity ? size : null;
    }
    let out: number;
    if (same) out = Math.ceil(size / s);
    else if (o.autoPad === 'VALID') out = Math.floor((size - effK) / s) + 1;
    else {
      const span = size + o.pads[i] + o.pads[i + n] - effK;
      out = (o.ceilMode ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
      // With ceil_mode the last window must start inside the (left-padded) input.
      if (o.ceilMode && (out - 1) * s >= size + o.pads[i]) out -= 1;
    }
    if (out < 1) ctx.fail(`window of ${effK} does not fit input size ${size}`);
    return out;
  });
}

export const conv: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  const w = ctx.input(1);
  if (!x) return one(undefined);
  if (!x.shape || !w?.shape) return one({ elemType: x.elemType, shape: null });
  if (x.shape.length < 3 || w.shape.length !== x.shape.length) ctx.fail(`input rank ${x.shape.length} and weight rank ${w.shape.length} do not fit`);
  const kernel = ctx.attrInts('kernel_shape') ?? w.shape.slice(2).map((d) => (isNum(d) ? d : ctx.fail('kernel shape is not static')));
  const group = ctx.attrInt('group', 1);
  const c = x.shape[1];
  const wc = w.shape[1];
  if (isNum(c) && isNum(wc) && c !== wc * group) ctx.fail(`input has ${c} channels, weight expects ${wc} x group ${group}`);
  const spatial = windowOutput(ctx, x.shape.slice(2), windowOptions(ctx, kernel));
  return one({ elemType: x.elemType, shape: [x.shape[0], w.shape[0], ...spatial] });
};

export const convTranspose: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  const w = ctx.input(1);
  if (!x) return one(undefined);
  if (!x.shape || !w?.shape) return one({ elemType: x.elemType, shape: null });
  const group = ctx.attrInt('group', 1);
  const channels = isNum(w.shape[1]) ? w.shape[1] * group : null;
  const n = x.shape.length - 2;
  const kernel = ctx.attrInts('kernel_shape') ?? w.shape.slice(2).map((d) => (isNum(d) ? d : ctx.fail('kernel shape is not static')));
  const outputShape = ctx.attrInts('output_shape');
  if (outputShape) return one({ elemType: x.elemType, shape: [x.shape[0], channels, ...outputShape.slice(-n)] });
  const o = windowOptions(ctx, kernel);
  const outputPadding = ctx.attrInts('output_padding') ?? new Array<number>(n).fill(0);
  const spatial = x.shape.slice(2).map((size, i) => {
    if (!isNum(size)) return null;
    if (o.autoPad === 'SAME_UPPER' || o.autoPad === 'SAME_LOWER') return size * o.strides[i];
    const pads = o.autoPad === 'VALID' ? 0 : o.pads[i] + o.pads[i + n];
    return o.strides[i] * (size - 1) + outputPadding[i] + (kernel[i] - 1) * o.dilations[i] + 1 - pads;
  });
  return one({ elemType: x.elemType, shape: [x.shape[0], channels, ...spatial] });
};

export const pool: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  if (!x) return one(undefined);
  const indices = ctx.node.outputs.length > 1;
  if (!x.shape) return { outputs: [{ elemType: x.elemType, shape: null }, indices ? { elemType: DataType.INT64, shape: null } : undefined] };
  const kernel = ctx.attrInts('kernel_shape') ?? ctx.fail('kernel_shape is required');
  const shape = [x.shape[0], x.shape[1], ...windowOutput(ctx, x.shape.slice(2), windowOptions(ctx, kernel))];
  return { outputs: [{ elemType: x.elemType, shape }, indices ? { elemType: DataType.INT64, shape } : undefined] };
};

export const globalPool: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  if (!x) return one(undefined);
  return one({ elemType: x.elemType, shape: x.shape && [x.shape[0], x.shape[1], ...x.shape.slice(2).map(() => 1)] });
};

export const gemm: ShapeHandler = (ctx) => {
  const a = ctx.input(0);
  const b = ctx.input(1);
  if (!a) return one(undefined);
  if (!a.shape || !b?.shape) return one({ elemType: a.elemType, shape: null });
  if (a.shape.length !== 2 || b.shape.length !== 2) ctx.fail('A and B must be 2-D');
  const [m, ka] = ctx.attrInt('transA', 0) ? [a.shape[1], a.shape[0]] : a.shape;
  const [kb, n] = ctx.attrInt('transB', 0) ? [b.shape[1], b.shape[0]] : b.shape;
  mergeDim(ctx, ka, kb);
  return one({ elemType: a.elemType, shape: [m, n] });
};

export const matMul: ShapeHandler = (ctx) => {
  const a = ctx.input(0);
  const b = ctx.input(1);
  if (!a) return one(undefined);
  if (!a.shape || !b?.shape) return one({ elemType: a.elemType, shape: null });
  if (a.shape.length === 0 || b.shape.length === 0) ctx.fail('MatMul inputs must not be scalars');
  const sa = a.shape.length === 1 ? [1, a.shape[0]] : a.shape;
  const sb = b.shape.length === 1 ? [b.shape[0], 1] : b.shape;
  mergeDim(ctx, sa[sa.length - 1], sb[sb.length - 2]);
  const batch = broadcastShapes(ctx, [sa.slice(0, -2), sb.slice(0, -2)]);
  const shape = [...batch];
  if (a.shape.length > 1) shape.push(sa[sa.length - 2]);
  if (b.shape.length > 1) shape.push(sb[sb.length - 1]);
  return one({ elemType: a.elemType, shape });
};

export const batchNormalization: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  const outputs: (TensorInfo | undefined)[] = [x && { elemType: x.elemType, shape: x.shape }];
  for (let i = 1; i < ctx.node.outputs.length; i++) outputs.push(ctx.input(i === 1 ? 3 : i === 2 ? 4 : 3));
  return { outputs };
};

export const dropout: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  if (!x) return one(undefined);
  return { outputs: [{ elemType: x.elemType, shape: x.shape }, { elemType: DataType.BOOL, shape: x.shape }] };
};


/**
 * Reduce* axes: an attribute before opset 18 (ReduceSum: 13), an optional input after. Returns
 * the reduced axes, or undefined when they are given by an input whose value is not known.
 */
function reducedAxes(ctx: ShapeContext, rank: number): number[] | undefined {
  const fromInput = ctx.opset >= (ctx.node.opType === 'ReduceSum' ? 13 : 18);
  const axes = fromInput ? (ctx.hasInput(1) ? ctx.constantInput(1) : []) : ctx.attrInts('axes') ?? [];
  if (!axes) return undefined;
  if (axes.length === 0) {
    return fromInput && ctx.attrInt('noop_with_empty_axes', 0) === 1 ? [] : Array.from({ length: rank }, (_, i) => i);
  }
  return axes.map((a) => normalizeAxis(ctx, a, rank));
}

export const reduce: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  if (!x?.shape) return unknownShape(x);
  const keep = ctx.attrInt('keepdims', 1) === 1;
  const axes = reducedAxes(ctx, x.shape.length);
  if (!axes) return one(keep ? unknownDims(x.elemType, x.shape.length) : { elemType: x.elemType, shape: null });
  const reduced = new Set(axes);
  return one({ elemType: x.elemType, shape: x.shape.flatMap((d, i) => (reduced.has(i) ? (keep ? [1] : []) : [d])) });
};

/** ArgMax / ArgMin: one axis, int64 indices. */
export const argReduce: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  if (!x?.shape) return one({ elemType: DataType.INT64, shape: null });
  const axis = normalizeAxis(ctx, ctx.attrInt('axis', 0), x.shape.length);
  const keep = ctx.attrInt('keepdims', 1) === 1;
  return one({ elemType: DataType.INT64, shape: x.shape.flatMap((d, i) => (i === axis ? (keep ? [1] : []) : [d])) });
};

/** TopK: values and int64 indices, `k` (attribute before opset 10, input after) along `axis`. */
export const topK: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  if (!x) return { outputs: [undefined, undefined] };
  if (!x.shape) return { outputs: [{ elemType: x.elemType, shape: null }, { elemType: DataType.INT64, shape: null }] };
  const axis = normalizeAxis(ctx, ctx.attrInt('axis', -1), x.shape.length);
  const k: Dim = ctx.opset >= 10 ? inputValue(ctx, 1)?.[0] ?? null : ctx.attrInt('k', -1);
  const n = x.shape[axis];
  if (isNum(k) && isNum(n) && k > n) ctx.fail(`k = ${k} exceeds axis size ${n}`);
  const shape = x.shape.map((d, i) => (i === axis ? k : d));
  return { outputs: [{ elemType: x.elemType, shape }, { elemType: DataType.INT64, shape }] };
};

/** LayerNormalization: Y like X; optional Mean and InvStdDev (stash_type) keep the dims before `axis`, 1 after. */
export const layerNormalization: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  if (!x) return { outputs: [undefined, undefined, undefined] };
  const stashType = ctx.attrInt('stash_type', DataType.FLOAT);
  let reduced: Dim[] | null = null;
  if (x.shape) {
    const rank = x.shape.length;
    const axis = normalizeAxis(ctx, ctx.attrInt('axis', -1), rank);
    reduced = x.shape.map((d, i) => (i < axis ? d : 1));
  }
  const stats = { elemType: stashType, shape: reduced };
  return { outputs: [{ elemType: x.elemType, shape: x.shape }, stats, stats] };
};

/**
 * NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss: the loss is a scalar, or shaped like the
 * target with reduction 'none'; SoftmaxCrossEntropyLoss's optional log_prob is shaped like the scores.
 */
export const loss: ShapeHandler = (ctx) => {
  const scores = ctx.input(0);
  if (!scores) return { outputs: [undefined, undefined] };
  const perElement = ctx.attrString('reduction', 'mean') === 'none';
  const target = ctx.input(1);
  const lossShape = perElement ? target?.shape ?? null : [];
  return { outputs: [{ elemType: scores.elemType, shape: lossShape }, { elemType: scores.elemType, shape: scores.shape }] };
};
