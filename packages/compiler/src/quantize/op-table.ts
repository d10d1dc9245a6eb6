// Static QDQ quantization, op by op: which inputs become quantized activations, which are
// weights (per-channel axis) or int32 biases, and whether the output gets its own calibrated
// parameters or shares its input's (data-movement ops, so onnxruntime can drop their QDQ pairs
// and run them on int8). Ops missing here stay in float and are reported.
import type { Node, Tensor } from '../ir/types.js';
import { floatAttr, intAttr } from '../passes/graph-rewrite.js';

export interface WeightPlan {
  input: number;
  /** Per-channel axis, or null for one scale per tensor. */
  axis: number | null;
}

export interface BiasPlan {
  input: number;
  /** Input index of the activation and of the weight whose scales multiply into the bias scale. */
  activation: number;
  weight: number;
}

export interface QuantPlan {
  /** Inputs quantized with activation parameters (initializers use their own value range). */
  activations: number[];
  weights: WeightPlan[];
  bias?: BiasPlan;
  /** 'calibrated': own parameters; 'shared': those of input 0; 'none': output stays float. */
  output: 'calibrated' | 'shared' | 'none';
}

export interface QuantContext {
  node: Node;
  /** The input's initializer when it is a constant weight (not a graph input). */
  constant(i: number): Tensor | undefined;
  hasInput(i: number): boolean;
}

/** A handler returns a plan, or a reason the node stays in float. */
export type QuantHandler = (ctx: QuantContext) => QuantPlan | string;

const conv: QuantHandler = (ctx) => {
  const w = ctx.constant(1);
  if (!w) return 'weight is not an initializer';
  if (ctx.hasInput(2) && !ctx.constant(2)) return 'bias is not an initializer';
  return {
    activations: [0],
    weights: [{ input: 1, axis: 0 }],
    bias: ctx.hasInput(2) ? { input: 2, activation: 0, weight: 1 } : undefined,
    output: 'calibrated',
  };
};

const gemm: QuantHandler = (ctx) => {
  const b = ctx.constant(1);
  if (!b || b.dims.length !== 2) return 'B is not a 2-D initializer';
  if (intAttr(ctx.node, 'transA', 0) !== 0) return 'transA is set';
  const transB = intAttr(ctx.node, 'transB', 0) === 1;
  const c = ctx.hasInput(2) ? ctx.constant(2) : undefined;
  if (ctx.hasInput(2) && !c) return 'C is not an initializer';
  const n = transB ? b.dims[0] : b.dims[1];
  const biasOk = c !== undefined && floatAttr(ctx.node, 'beta', 1) === 1 && floatAttr(ctx.node, 'alpha', 1) === 1
    && c.dims.length === 1 && c.dims[0] === n;
  if (c && !biasOk) return 'C is not a [N] bias with alpha = beta = 1';
  return {
    activations: [0],
    weights: [{ input: 1, axis: transB ? 0 : 1 }],
    bias: biasOk ? { input: 2, activation: 0, weight: 1 } : undefined,
    output: 'calibrated',
  };
};

const matMul: QuantHandler = (ctx) => {
  const b = ctx.constant(1);
  if (b) return { activations: [0], weights: [{ input: 1, axis: null }], output: 'calibrated' };
  return { activations: [0, 1], weights: [], output: 'calibrated' };
};

const binary: QuantHandler = () => ({ activations: [0, 1], weights: [], output: 'calibrated' });
const unary: QuantHandler = () => ({ activations: [0], weights: [], output: 'calibrated' });
const shared: QuantHandler = () => ({ activations: [0], weights: [], output: 'shared' });
const concat: QuantHandler = (ctx) => ({ activations: ctx.node.inputs.map((_, i) => i), weights: [], output: 'calibrated' });

export const quantHandlers: Readonly<Record<string, QuantHandler>> = {
  Conv: conv,
  Gemm: gemm,
  MatMul: matMul,
  Add: binary,
  Mul: binary,
  Relu: unary,
  Clip: unary,
  LeakyRelu: unary,
  Sigmoid: unary,
  AveragePool: unary,
  GlobalAveragePool: unary,
  Concat: concat,
  MaxPool: shared,
  Flatten: shared,
  Reshape: shared,
  Transpose: shared,
  Squeeze: shared,
  Unsqueeze: shared,
  Resize: shared,
  Identity: shared,
};

/** Ops whose Relu / Clip(0, x) successor can be folded into their output quantization. */
export const ACTIVATION_FUSERS = new Set(['Conv', 'Gemm', 'MatMul', 'Add']);
