// Public surface of @edgeloop/distill.
export { train } from './trainer.js';
export type { TrainLoss, TrainOptions, TrainResult } from './trainer.js';
export { createOptimizer } from './optimizers.js';
export type { Optimizer, OptimizerSpec, OptimizerState, Parameter } from './optimizers.js';
export { learningRateAt } from './schedules.js';
export type { ScheduleSpec } from './schedules.js';
export { augmentBatch, isIdentityAugment } from './augment.js';
export type { AugmentSpec } from './augment.js';
export { sampleSize, splitDataset, subset, validateDataset } from './dataset.js';
export type { Dataset } from './dataset.js';
export { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
export type { Checkpoint, CheckpointTensor } from './checkpoint.js';
export { consoleReporter, describeEpoch, silentReporter } from './progress.js';
export type { EpochRecord, ProgressReporter, StepProgress } from './progress.js';
export { createSession, crossEntropyAndAccuracy, evaluate, predictLogits } from './evaluate.js';
export type { EvaluateOptions, Evaluation } from './evaluate.js';
export { exportInferenceModel } from './export.js';
export type { ExportMetadata } from './export.js';
export { readWeights, weightsAsInputs, withWeights } from './weights.js';
export {
  DEFAULT_MOBILENET_BLOCKS, STUDENT_INPUT, STUDENT_OUTPUT, convStudent, mobileNetStudent, scaledChannels,
} from './students.js';
export type { Activation, ConvStudentOptions, MobileNetBlock, MobileNetStudentOptions } from './students.js';
export { Rng } from './random.js';
export { CheckpointError, DistillError, DivergedError, TrainingConfigError, isDistillError } from './errors.js';
export { DIGITS_PREPROCESSING, DIGIT_LABELS, loadDigits, runDigitsExample } from './examples/digits.js';
export type { DigitsExampleOptions, DigitsExampleResult, DigitsRow } from './examples/digits.js';
