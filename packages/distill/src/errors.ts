// Named errors of @edgeloop/distill.

export class DistillError extends Error {
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

export function isDistillError(err: unknown): err is DistillError {
  return err instanceof DistillError;
}
