// The shape-inference op table: opType -> handler. Dims are numbers, symbolic names or null;
// symbolic names propagate where an op copies a dimension unchanged. Handlers live by concept:
// shape-ops-nn.ts (layers), shape-ops-layout.ts (rearranging), shape-ops-slice.ts (extents),
// shape-ops-like.ts (shaped like an input, typed otherwise) and shape-ops-values.ts (shape
// arithmetic, with data propagation).
import { DataType } from './data-type.js';
import { one } from './shape-dims.js';
import type { ShapeHandler } from './shape-inference.js';
import {
  argReduce, batchNormalization, conv, convTranspose, dropout, gemm, globalPool, layerNormalization, loss, matMul, pool, reduce,
  topK,
} from './shape-ops-nn.js';
import { concat, depthSpace, expand, flatten, gather, identity, reshape, shapeOfInput, squeeze, transpose, unsqueeze } from './shape-ops-layout.js';
import { likeHandlers } from './shape-ops-like.js';
import { pad, resize, slice, split, tile } from './shape-ops-slice.js';
import {
  arithmeticOp, broadcasting, cast, comparison, constant, constantOfShape, not, range, shapeOp, signOp, size, where,
} from './shape-ops-values.js';

export { broadcastShapes } from './shape-dims.js';

const sameAsInput = (elemType?: number): ShapeHandler => (ctx) => {
  const x = ctx.input(0);
  return one(x && { elemType: elemType ?? x.elemType, shape: x.shape });
};

/** Element-wise (or shape-preserving) ops whose output has the input's type and shape. */
const UNARY_OPS = [
  'Relu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Clip', 'Softmax', 'LogSoftmax', 'Hardmax', 'LeakyRelu', 'Tanh',
  'Exp', 'Log', 'Sqrt', 'Erf', 'Reciprocal', 'Floor', 'Ceil', 'Round', 'Elu', 'Selu', 'Celu', 'Softplus',
  'Softsign', 'ThresholdedRelu', 'Shrink', 'Mish', 'Gelu', 'Sign', 'Sin', 'Cos', 'Tan', 'Asin', 'Acos', 'Atan', 'Sinh',
  'Cosh', 'Asinh', 'Acosh', 'Atanh', 'PRelu', 'LRN', 'InstanceNormalization', 'LpNormalization',
  'MeanVarianceNormalization', 'CumSum', 'BitwiseNot', 'Trilu',
];
const REDUCE_OPS = [
  'ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum',
  'ReduceLogSumExp', 'ReduceSumSquare',
];

/** opType (default ONNX domain) -> shape handler. */
export const shapeHandlers: Readonly<Record<string, ShapeHandler>> = {
  ...Object.fromEntries(UNARY_OPS.map((op) => [op, sameAsInput()])),
  ...Object.fromEntries(REDUCE_OPS.map((op) => [op, reduce])),
  ...likeHandlers,
  IsNaN: sameAsInput(DataType.BOOL), IsInf: sameAsInput(DataType.BOOL),
  Add: arithmeticOp('Add'), Sub: arithmeticOp('Sub'), Mul: arithmeticOp('Mul'), Div: arithmeticOp('Div'),
  Max: arithmeticOp('Max'), Min: arithmeticOp('Min'), Mod: arithmeticOp('Mod'),
  Pow: broadcasting(0), Sum: broadcasting(0), Mean: broadcasting(0), BitShift: broadcasting(0),
  BitwiseAnd: broadcasting(0), BitwiseOr: broadcasting(0), BitwiseXor: broadcasting(0),
  And: broadcasting('bool'), Or: broadcasting('bool'), Xor: broadcasting('bool'),
  Equal: comparison('Equal'), Less: comparison('Less'), Greater: comparison('Greater'),
  LessOrEqual: comparison('LessOrEqual'), GreaterOrEqual: comparison('GreaterOrEqual'),
  Where: where,
  Not: not,
  Neg: signOp('Neg'),
  Abs: signOp('Abs'),
  Conv: conv,
  ConvTranspose: convTranspose,
  MaxPool: pool,
  AveragePool: pool,
  GlobalAveragePool: globalPool,
  GlobalMaxPool: globalPool,
  Gemm: gemm,
  MatMul: matMul,
  BatchNormalization: batchNormalization,
  LayerNormalization: layerNormalization,
  Dropout: dropout,
  ArgMax: argReduce,
  ArgMin: argReduce,
  TopK: topK,
  NegativeLogLikelihoodLoss: loss,
  SoftmaxCrossEntropyLoss: loss,
  Identity: identity,
  Flatten: flatten,
  Reshape: reshape,
  Transpose: transpose,
  Concat: concat,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Gather: gather,
  GatherElements: shapeOfInput(1),
  ScatterElements: shapeOfInput(0), Scatter: shapeOfInput(0), ScatterND: shapeOfInput(0),
  Expand: expand,
  DepthToSpace: depthSpace(true),
  SpaceToDepth: depthSpace(false),
  Slice: slice,
  Split: split,
  Tile: tile,
  Pad: pad,
  Resize: resize,
  Upsample: resize,
  Cast: cast,
  Constant: constant,
  Shape: shapeOp,
  Size: size,
  ConstantOfShape: constantOfShape,
  Range: range,
};
