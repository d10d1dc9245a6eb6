// Named errors of @edgeloop/runtime. Every error has a stable `code`, a one-line message and,
// where another error caused it, that error as `cause`. Callers branch on `code` (or the
// guards below), never on message text.

export type RuntimeErrorCode =
  | 'NO_USABLE_PROVIDER'
  | 'BACKEND_LOAD'
  | 'MODEL_LOAD'
  | 'INPUT_NAME'
  | 'INPUT_SHAPE'
  | 'INPUT_DTYPE'
  | 'INFERENCE'
  | 'SESSION_RELEASED'
  | 'IMAGE_DECODE'
  | 'PREPROCESS_CONFIG'
  | 'POSTPROCESS'
  | 'HEALTH_CHECK'
  | 'UNSUPPORTED_MODEL'
  | 'ENGINE_CLOSED'
  | 'HOT_SWAP'
  | 'SOURCE'
  | 'SOURCE_CONFIG'
  | 'SPOOL'
  | 'RUN_CONFIG';

/** Collapses a message to one line so logs and MQTT status messages stay one record each. */
export function oneLine(text: string, maxLength = 600): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > maxLength ? `${flat.slice(0, maxLength - 1)}…` : flat;
}

/** The message of any thrown value, as one line. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return oneLine(error.message || error.name);
  return oneLine(String(error));
}

export class RuntimeError extends Error {
  readonly code: RuntimeErrorCode;

  constructor(code: RuntimeErrorCode, message: string, options?: { cause?: unknown }) {
    super(oneLine(message), options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
  }
}

export interface ProviderFailure {
  provider: string;
  reason: string;
}

/** Every requested execution provider was unavailable or failed to initialise. */
export class NoUsableProviderError extends RuntimeError {
  readonly failures: readonly ProviderFailure[];

  constructor(failures: readonly ProviderFailure[]) {
    const list = failures.length === 0 ? 'no providers were requested' : failures.map((f) => `${f.provider}: ${oneLine(f.reason, 200)}`).join('; ');
    super('NO_USABLE_PROVIDER', `no usable execution provider (${list})`);
    this.failures = failures;
  }
}

/** The inference engine itself (an onnxruntime build, the WASM binary) could not be loaded. */
export class BackendLoadError extends RuntimeError {
  constructor(backend: string, detail: string, options?: { cause?: unknown }) {
    super('BACKEND_LOAD', `${backend}: ${detail}`, options);
  }
}

/** Model bytes or file that the engine refused (corrupt, truncated, unsupported opset). */
export class ModelLoadError extends RuntimeError {
  constructor(detail: string, options?: { cause?: unknown }) {
    super('MODEL_LOAD', `cannot load model: ${detail}`, options);
  }
}

/** A feed names an input the model does not have, or a model input has no feed. */
export class InputNameError extends RuntimeError {
  constructor(detail: string) {
    super('INPUT_NAME', detail);
  }
}

export class InputShapeError extends RuntimeError {
  readonly input: string;
  readonly expected: readonly (number | string)[];
  readonly actual: readonly number[];

  constructor(input: string, expected: readonly (number | string)[], actual: readonly number[], detail?: string) {
    super(
      'INPUT_SHAPE',
      `input '${input}' has shape [${actual.join(',')}], model expects [${expected.join(',')}]${detail ? ` (${detail})` : ''}`,
    );
    this.input = input;
    this.expected = expected;
    this.actual = actual;
  }
}

export class InputDtypeError extends RuntimeError {
  readonly input: string;

  constructor(input: string, expected: string, actual: string) {
    super('INPUT_DTYPE', `input '${input}' is ${actual}, model expects ${expected}`);
    this.input = input;
  }
}

/** The engine failed while running a validated request. */
export class InferenceError extends RuntimeError {
  constructor(detail: string, options?: { cause?: unknown }) {
    super('INFERENCE', `inference failed: ${detail}`, options);
  }
}

export class SessionReleasedError extends RuntimeError {
  constructor() {
    super('SESSION_RELEASED', 'the inference session was released');
  }
}

/** Image bytes that cannot be decoded: empty, truncated, corrupt or of an unsupported format. */
export class ImageDecodeError extends RuntimeError {
  constructor(detail: string, options?: { cause?: unknown }) {
    super('IMAGE_DECODE', `cannot decode image: ${detail}`, options);
  }
}

/** A preprocessing spec or call that cannot work (bad sizes, wrong mean/std length, small buffer). */
export class PreprocessConfigError extends RuntimeError {
  constructor(detail: string) {
    super('PREPROCESS_CONFIG', `invalid preprocessing: ${detail}`);
  }
}

/** A model output that does not have the layout the decoder was told to expect. */
export class PostprocessError extends RuntimeError {
  constructor(detail: string) {
    super('POSTPROCESS', detail);
  }
}

/** One golden output that disagreed with what the model produced on this device. */
export interface GoldenMismatch {
  sample: number;
  output: string;
  /** 'nan': the model produced NaN/Infinity; 'shape': dims differ; 'tolerance': a value beyond abs + rel * |expected|. */
  kind: 'nan' | 'shape' | 'tolerance' | 'missing';
  maxAbsDiff: number;
  /** Flat index of the worst element (or of the first non-finite one). */
  index: number;
  expected?: number;
  actual?: number;
  detail: string;
}

/**
 * The bundle's golden pairs do not reproduce on this device (wrong build, broken provider, corrupt
 * quantisation): the bundle is refused. `mismatches` names each failing output and its worst diff.
 */
export class HealthCheckError extends RuntimeError {
  readonly mismatches: readonly GoldenMismatch[];

  constructor(bundle: string, mismatches: readonly GoldenMismatch[], options?: { cause?: unknown }) {
    const first = mismatches.slice(0, 3).map((m) => m.detail).join('; ');
    const more = mismatches.length > 3 ? ` (+${mismatches.length - 3} more)` : '';
    super('HEALTH_CHECK', `health check failed for ${bundle}: ${first}${more}`, options);
    this.mismatches = mismatches;
  }
}

/** The bundle's model has a shape or task this runtime cannot serve (e.g. no image input, a detection model without a YOLO format). */
export class UnsupportedModelError extends RuntimeError {
  constructor(detail: string) {
    super('UNSUPPORTED_MODEL', `unsupported model: ${detail}`);
  }
}

export class EngineClosedError extends RuntimeError {
  constructor(detail = 'the engine was closed') {
    super('ENGINE_CLOSED', detail);
  }
}

/** A hot swap or rollback that could not happen (nothing to roll back to, a swap already running). */
export class HotSwapError extends RuntimeError {
  constructor(detail: string, options?: { cause?: unknown }) {
    super('HOT_SWAP', detail, options);
  }
}

/**
 * A frame source failed (camera gone, HTTP error, ffmpeg exited). `retryable` sources are
 * restarted with backoff by `withRestart`; `retryAfter` (ms) is a hint when the source knows better.
 */
export class SourceError extends RuntimeError {
  readonly source: string;
  readonly retryable: boolean;
  readonly retryAfter: number | undefined;

  constructor(source: string, detail: string, options: { cause?: unknown; retryable?: boolean; retryAfter?: number } = {}) {
    super('SOURCE', `${source}: ${detail}`, options);
    this.source = source;
    this.retryable = options.retryable ?? true;
    this.retryAfter = options.retryAfter;
  }
}

/** A source description that cannot work (no such folder, unknown scheme, bad fps). Not retried. */
export class SourceConfigError extends RuntimeError {
  constructor(detail: string) {
    super('SOURCE_CONFIG', `invalid source: ${detail}`);
  }
}

/** The sample spool's directory cannot be used at all (not a directory, not writable at start). */
export class SpoolError extends RuntimeError {
  constructor(detail: string, options?: { cause?: unknown }) {
    super('SPOOL', detail, options);
  }
}

/** `runCommand` options that cannot work (no trust configured, bad numbers). */
export class RunConfigError extends RuntimeError {
  constructor(detail: string) {
    super('RUN_CONFIG', detail);
  }
}

export function isRuntimeError(error: unknown): error is RuntimeError {
  return error instanceof RuntimeError;
}

export function hasErrorCode(error: unknown, code: RuntimeErrorCode): error is RuntimeError {
  return error instanceof RuntimeError && error.code === code;
}
