// Public surface of the gradient-graph builder.
export { buildTrainingGraph } from './training-graph.js';
export type { StateUpdate, TrainingGraph, TrainingGraphOptions, TrainingValue } from './training-graph.js';
export { GradientGraphError, NoGradientRuleError } from './errors.js';
export { LOSS_OUTPUT } from './losses.js';
export type { LabelFormat, LossSpec } from './losses.js';
export { gradientRules, nonDifferentiableInputs, nonDifferentiableOps } from './gradient-rules.js';
export type { GradContext, GradientRule, LowerContext, OpGradient, TrainingModeOptions } from './rule-types.js';
export { staticShapes } from './static-shapes.js';
export type { StaticInfo } from './static-shapes.js';
export { checkGradients, widenToFloat64 } from './gradient-check.js';
export type { FeedValue, GradientCheckOptions, WeightCheck } from './gradient-check.js';
