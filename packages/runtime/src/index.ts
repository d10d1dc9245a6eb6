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
  ProviderOptions,
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

export { Preprocessor, createPreprocessor, preprocessImage, probeImageSize } from './preprocess.js';
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

export { Backoff, backoffDelay, retryWithBackoff, sleep } from './backoff.js';
export type { BackoffOptions } from './backoff.js';

export { Engine, defaultBackend, openEngine } from './engine.js';
export type { EngineOptions, FrameInferer, InferLatency, InferOptions, InferResult } from './engine.js';
export { compareGoldenOutput, runGoldenHealthCheck, tensorFromBundle } from './golden.js';
export type { GoldenOutputCheck, HealthReport } from './golden.js';
export { planPostprocess, predict, summarizePrediction, uncertaintyOf } from './prediction.js';
export type { PostprocessPlan, PostprocessPlanOptions, Prediction, Uncertainty } from './prediction.js';
export { HotSwapEngine } from './hot-swap.js';
export type { HotSwapEvents, HotSwapOptions, ModelRef, RollbackEvent, SwapEvent } from './hot-swap.js';

export { frameInterval, frameToImage, sniffFormat } from './sources/frame.js';
export type { Frame, FrameFormat, FrameSource } from './sources/frame.js';
export { FolderSource, IMAGE_EXTENSIONS, globToRegExp, hasGlob, listImageFiles } from './sources/folder.js';
export type { FolderSourceOptions } from './sources/folder.js';
export { ImageSource } from './sources/image.js';
export type { ImageSourceOptions } from './sources/image.js';
export { MjpegHttpSource } from './sources/mjpeg-http.js';
export type { MjpegHttpSourceOptions } from './sources/mjpeg-http.js';
export { MultipartParser, boundaryOf } from './sources/multipart.js';
export type { MultipartPart, MultipartParserOptions } from './sources/multipart.js';
export { JpegSplitter } from './sources/jpeg-splitter.js';
export type { JpegSplitterOptions, SplitJpeg } from './sources/jpeg-splitter.js';
export { FfmpegSource, ffmpegArgs } from './sources/ffmpeg.js';
export type { FfmpegInputKind, FfmpegSourceOptions } from './sources/ffmpeg.js';
export { LatestFrameMailbox, LatestFrameSource } from './sources/latest.js';
export type { LatestFrameStats } from './sources/latest.js';
export { RestartingSource, isRetryableSourceError, withRestart } from './sources/restart.js';
export type { RestartInfo, RestartOptions, RestartStats } from './sources/restart.js';
export { VIDEO_EXTENSIONS, createSource, openSource, parseSource } from './sources/open.js';
export type { OpenSourceOptions, ParsedSource, SourceKind } from './sources/open.js';

export { FieldSampler, TokenBucket, dHash, hammingDistance } from './sampler.js';
export type { SampleDecision, SampleReason, SampleRejection, SamplerOptions, SamplerStats } from './sampler.js';
export { CONFIDENCE_CALIBRATION_KEY, DriftMonitor, populationStabilityIndex } from './drift.js';
export type { DriftEvents, DriftOptions, DriftReport, TensorDrift } from './drift.js';
export { SampleSpool } from './spool.js';
export type { AddResult, SampleInput, SampleMeta, SpoolEntry, SpoolOptions, SpoolStats } from './spool.js';
export { RuntimeMetrics, serveMetrics } from './metrics.js';
export type { LatencySummary, MetricsOptions, MetricsServer, MetricsSnapshot } from './metrics.js';
export { Runner, runFrames } from './runner.js';
export type { FrameInfo, FrameOutcome, RunSummary, RunnerOptions, SampleOutcome } from './runner.js';
export { runCommand } from './run-command.js';
export type { RunCommandOptions, RunCommandOutput } from './run-command.js';

export {
  BackendLoadError,
  EngineClosedError,
  HealthCheckError,
  HotSwapError,
  RunConfigError,
  SourceConfigError,
  SourceError,
  SpoolError,
  UnsupportedModelError,
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
export type { GoldenMismatch, ProviderFailure, RuntimeErrorCode } from './errors.js';
