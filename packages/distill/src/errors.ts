// Named errors of @edgeloop/distill.

export class DistillError extends Error {
  /** Stable code callers (and the CLI's one-line error printer) branch on. */
  readonly code: string = 'DISTILL';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Options or data that cannot train together (shape mismatch, batch larger than the dataset, ...). */
export class TrainingConfigError extends DistillError {}

/** A checkpoint that cannot be read (truncated, wrong format) or does not fit the model. */
export class CheckpointError extends DistillError {
  readonly path: string;
  constructor(path: string, reason: string, options?: { cause?: unknown }) {
    super(`checkpoint ${path}: ${reason}`, options);
    this.path = path;
  }
}

/** The loss became NaN or infinite; carries the step so a run can be resumed with a lower LR. */
export class DivergedError extends DistillError {
  readonly step: number;
  constructor(step: number, loss: number) {
    super(`training diverged at step ${step}: loss ${loss}`);
    this.step = step;
  }
}

/** A teacher could not be opened or configured (bad model, bad URL, unsupported input). */
export class TeacherError extends DistillError {
  override readonly code: string = 'TEACHER';
}

/** One request to an HTTP teacher failed; `status` is the HTTP status, absent for network errors. */
export class TeacherRequestError extends TeacherError {
  override readonly code = 'TEACHER_REQUEST';
  readonly url: string;
  readonly status?: number;
  readonly retryable: boolean;
  /** Milliseconds the server asked us to wait (Retry-After), read by the shared backoff. */
  readonly retryAfter?: number;
  /** Attempts made before giving up (set on the final error). */
  attempts = 1;
  constructor(url: string, reason: string, details: { status?: number; retryable: boolean; retryAfter?: number; cause?: unknown }) {
    super(`teacher ${url}: ${reason}`, details.cause === undefined ? undefined : { cause: details.cause });
    this.url = url;
    this.status = details.status;
    this.retryable = details.retryable;
    this.retryAfter = details.retryAfter;
  }
}

/** A teacher's output does not fit: wrong number of classes, not a vector, NaN. */
export class TeacherOutputError extends TeacherError {
  override readonly code = 'TEACHER_OUTPUT';
  readonly teacherId: string;
  /** `name` is what the user knows the teacher as (path or URL); the message uses it, the id stays a field. */
  constructor(teacherId: string, reason: string, name?: string) {
    super(`teacher ${name ?? teacherId}: ${reason}`);
    this.teacherId = teacherId;
  }
}

/** The dataset store cannot be read or written as asked (missing store, bad index line, bad sidecar). */
export class DatasetStoreError extends DistillError {
  override readonly code = 'DATASET_STORE';
  readonly path: string;
  constructor(path: string, reason: string, options?: { cause?: unknown }) {
    super(`dataset store ${path}: ${reason}`, options);
    this.path = path;
  }
}

export function isDistillError(err: unknown): err is DistillError {
  return err instanceof DistillError;
}
