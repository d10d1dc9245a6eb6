// Public surface of @edgeloop/runtime (STYLE item 10).

export {
  BackendRegistry,
  PROVIDER_NAMES,
  allocateTensorData,
  elementCount,
  isProviderName,
  isTensorDtype,
  resolveProviders,
  validateFeeds,
  warmUp,
  zeroFeeds,
} from './backend.js';
export type {
  GraphOptimizationLevel,
  InferenceBackend,
  InferenceSession,
  ProviderName,
  ResolvedProvider,
  RuntimeTensor,
  SessionOptions,
  TensorDtype,
  TensorInfo,
  TypedArray,
  WarmUpResult,
} from './backend.js';

export { NodeBackend, ORT_NODE_PATH_ENV, createNodeBackend } from './backends/node.js';
export type { NodeBackendOptions, OrtNodeBuild, ProviderSupport } from './backends/node.js';
export { WebBackend, createWebBackend } from './backends/web.js';
export type { WebBackendOptions } from './backends/web.js';

export { Preprocessor, createPreprocessor, preprocessImage } from './preprocess.js';
export type {
  ImageInput,
  ImageTransform,
  LetterboxInfo,
  PreprocessCallOptions,
  PreprocessResult,
  Preprocessing,
  PreprocessorOptions,
  RawFrame,
} from './preprocess.js';

export { classify, classifyBatch, entropy, looksLikeProbabilities, softmax, topK } from './postprocess/classification.js';
export type { ClassScore, Classification, ClassifyOptions } from './postprocess/classification.js';
export {
  compareCandidates,
  decodeYolo,
  decodeYoloCandidates,
  iou,
  letterboxTransform,
  mapBoxToSource,
  nonMaxSuppression,
} from './postprocess/detection.js';
export type { Box, Candidate, DecodeYoloOptions, Detection, YoloLayout } from './postprocess/detection.js';

export {
  BackendLoadError,
  ImageDecodeError,
  InferenceError,
  InputDtypeError,
  InputNameError,
  InputShapeError,
  ModelLoadError,
  NoUsableProviderError,
  PostprocessError,
  PreprocessConfigError,
  RuntimeError,
  SessionReleasedError,
  describeError,
  hasErrorCode,
  isRuntimeError,
  oneLine,
} from './errors.js';
export type { ProviderFailure, RuntimeErrorCode } from './errors.js';
