// The gradient builder's op table (STYLE item 4): opType -> rule. An op on the path from a
// trainable weight to the loss that is missing here raises NoGradientRuleError.
import { convRules } from './rules-conv.js';
import { elementwiseRules } from './rules-elementwise.js';
import { nnRules } from './rules-nn.js';
import type { OpGradient } from './rule-types.js';
import { shapeRules } from './rules-shape.js';

export const gradientRules: Readonly<Record<string, OpGradient>> = {
  ...elementwiseRules,
  ...shapeRules,
  ...convRules,
  ...nnRules,
};

/** Input positions that never carry a gradient (bounds, shapes, statistics, ratios). */
export const nonDifferentiableInputs: Readonly<Record<string, readonly number[]>> = {
  Clip: [1, 2],
  BatchNormalization: [3, 4],
  Dropout: [1, 2],
  Reshape: [1],
  Squeeze: [1],
  Unsqueeze: [1],
  ReduceSum: [1],
  ReduceMean: [1],
  Expand: [1],
  Slice: [1, 2, 3, 4],
  Split: [1],
  Pad: [1, 2, 3],
  Resize: [1, 2, 3],
  Equal: [0, 1],
  Greater: [0, 1],
  Less: [0, 1],
  Shape: [0],
  Cast: [0],
  ArgMax: [0],
};

/** Ops whose outputs carry no gradient at all (comparisons, shapes, indices, random draws). */
export const nonDifferentiableOps: ReadonlySet<string> = new Set([
  'Shape', 'Size', 'Equal', 'Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual', 'And', 'Or', 'Not', 'ArgMax', 'ArgMin',
  'RandomUniformLike', 'RandomNormalLike', 'Constant', 'ConstantOfShape', 'OneHot',
]);
