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
export { writeDigitImages } from './examples/digit-images.js';
export type { DigitImagesOptions } from './examples/digit-images.js';
export { TeacherError, TeacherOutputError, TeacherRequestError, DatasetStoreError } from './errors.js';

// Teachers and the soft-label cache.
export { MIN_PROBABILITY, checkPrediction, softmaxRows, toLogits, toProbabilities } from './teachers/teacher.js';
export type { PredictOptions, Teacher, TeacherPrediction, TeacherSample } from './teachers/teacher.js';
export { OnnxTeacher } from './teachers/onnx-teacher.js';
export type { OnnxTeacherOptions } from './teachers/onnx-teacher.js';
export { HttpTeacher } from './teachers/http-teacher.js';
export type { HttpTeacherOptions } from './teachers/http-teacher.js';
export { EnsembleTeacher } from './teachers/ensemble-teacher.js';
export type { EnsembleMember } from './teachers/ensemble-teacher.js';
export { RateLimiter, Semaphore } from './teachers/limits.js';
export { LabelCache, sampleKey } from './teachers/label-cache.js';
export type { CachedOutput } from './teachers/label-cache.js';
export { labelSamples } from './teachers/label.js';
export type { LabelOptions, LabelResult } from './teachers/label.js';
export { isTeacherUrl, openTeacher } from './teachers/open.js';
export type { OpenTeacherOptions } from './teachers/open.js';

// The dataset store.
export { DatasetStore, parseFieldSidecar } from './store/dataset-store.js';
export type { ExportReport, FieldSidecar, ImportReport, SkippedFile } from './store/dataset-store.js';
export { DEFAULT_SPLIT_RATIOS, SPLITS, splitOf, validateRatios } from './store/records.js';
export type { FieldProvenance, FolderProvenance, ImageFormat, Provenance, SampleRecord, Split, SplitRatios } from './store/records.js';
export { loadStoreDataset, sampleShapeOf } from './store/load.js';
export type { LoadStoreOptions, LoadedStoreData } from './store/load.js';
export { checkImage } from './store/images.js';

// What the CLI's train / label / distill / dataset commands call.
export { trainCommand } from './commands/train-command.js';
export type { TrainCommandOptions } from './commands/train-command.js';
export { distillCommand } from './commands/distill-command.js';
export type { DistillCommandOptions, DistillCommandResult, TeacherSummary } from './commands/distill-command.js';
export { labelCommand } from './commands/label-command.js';
export type { LabelCommandOptions, LabelCommandResult } from './commands/label-command.js';
export { datasetExportCommand, datasetImportCommand } from './commands/dataset-command.js';
export type { DatasetExportOptions, DatasetImportOptions, DatasetImportResult } from './commands/dataset-command.js';
export { DEFAULT_PREPROCESSING } from './commands/fit.js';
export type { FitOptions, FitResult, HeldOutScore } from './commands/fit.js';
export { STUDENT_ARCHITECTURES, resolveStudent } from './commands/student.js';
export { openDataSource } from './commands/data-source.js';
export type { DataSource } from './commands/data-source.js';
