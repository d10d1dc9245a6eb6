// Public surface of the compile pipeline (re-exported by the package index).
export {
  CALIBRATION_METHODS, DEFAULT_CALIBRATION_LIMIT, DEFAULT_MAX_ACCURACY_DROP, DEFAULT_MAX_OPSET, MIN_QDQ_OPSET,
  compileModel, defaultActivationTypes, defaultPrecision,
} from './compile-model.js';
export type { CompileOptions, CompileResult } from './compile-model.js';
export { renderCompileReport } from './report.js';
export type { CandidateConfig, CandidateResult, CompileReport } from './report.js';
export { TIE_TOLERANCE, searchCandidates } from './search.js';
export type { SearchOptions, SearchResult } from './search.js';
export { MAX_SOURCE_OPSET, MIN_SOURCE_OPSET, convertOpset } from './opset.js';
export type { OpsetConversionOptions, OpsetConversionResult } from './opset.js';
export { loadCalibrationSet, loadEvalSet, parseNpy } from './samples.js';
export type { InputSpec, Sample, SampleSet } from './samples.js';
export { accuracy, agreement, confidenceStatistics, createSession, measureLatency, predict } from './measure.js';
export type { LatencyOptions, LatencyStats, Predictions, SessionOptions } from './measure.js';
export { benchModels } from './bench.js';
export type { BenchEntry, BenchOptions, BenchReport } from './bench.js';
