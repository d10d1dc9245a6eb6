// Named errors for the OTA package. Every error carries a stable `code` (the reason codes of
// docs/ota-protocol.md §events) so the agent can report it and callers can branch without parsing
// text; retryable ones carry `retryAfter` (ms), which the runtime's shared retryWithBackoff honours.

const EDGELOOP_ERROR = Symbol.for('edgeloop.error');

export type OtaErrorCode =
  | 'VERSION_NOT_HIGHER'
  | 'PROFILE_MISMATCH'
  | 'FILE_HASH_MISMATCH'
  | 'CHUNK_CORRUPT'
  | 'DISK_FULL'
  | 'IO_ERROR'
  | 'HEALTHCHECK_FAILED'
  | 'ACTIVATE_FAILED'
  | 'WATCH_FAILED'
  | 'ROLLOUT'
  | 'INTERRUPTED_ACTIVATION'
  | 'DOWNLOAD_ABORTED'
  | 'TRANSFER_DESCRIPTOR'
  | 'INVALID_DEVICE_ID'
  | 'CREDENTIALS'
  | 'BROKER'
  | 'BUNDLE_UNKNOWN'
  | 'STATE_CORRUPT';

export abstract class OtaError extends Error {
  abstract readonly code: OtaErrorCode;
  readonly [EDGELOOP_ERROR] = true;
  /** Set on errors worth retrying: the caller waits at least this many ms (retryWithBackoff of @edgeloop/runtime). */
  readonly retryAfter?: number;

  constructor(message: string, options?: { cause?: unknown; retryAfter?: number }) {
    super(message, options);
    this.name = new.target.name;
    if (options?.retryAfter !== undefined) this.retryAfter = options.retryAfter;
  }
}

/** The desired version is not higher than the highest version this device ever accepted. */
export class VersionNotHigherError extends OtaError {
  readonly code = 'VERSION_NOT_HIGHER' as const;
  constructor(readonly version: number, readonly highestAccepted: number) {
    super(`version ${version} is not higher than the highest accepted version ${highestAccepted} (anti-rollback)`);
  }
}

/** The bundle was compiled for another device profile. */
export class ProfileMismatchError extends OtaError {
  readonly code = 'PROFILE_MISMATCH' as const;
  constructor(readonly bundleProfile: string, readonly deviceProfile: string) {
    super(`bundle targets profile ${bundleProfile}, this device is ${deviceProfile}`);
  }
}

/** The downloaded file does not hash to the sha256 the server announced. */
export class FileHashMismatchError extends OtaError {
  readonly code = 'FILE_HASH_MISMATCH' as const;
  constructor(readonly expected: string, readonly actual: string) {
    super(`downloaded bundle sha256 ${actual.slice(0, 12)}… differs from the announced ${expected.slice(0, 12)}…`);
  }
}

/** The same chunk arrived corrupted more often than the retry bound allows. */
export class ChunkCorruptError extends OtaError {
  readonly code = 'CHUNK_CORRUPT' as const;
  constructor(readonly index: number, readonly attempts: number) {
    super(`chunk ${index} failed its sha256 check ${attempts} times`);
  }
}

export class DiskFullError extends OtaError {
  readonly code = 'DISK_FULL' as const;
}

export class IoError extends OtaError {
  readonly code = 'IO_ERROR' as const;
}

export class HealthcheckFailedError extends OtaError {
  readonly code = 'HEALTHCHECK_FAILED' as const;
}

export class ActivateFailedError extends OtaError {
  readonly code = 'ACTIVATE_FAILED' as const;
}

/** The new model misbehaved in the watch window after activation (errors, NaN outputs, latency over budget). */
export class WatchFailedError extends OtaError {
  readonly code = 'WATCH_FAILED' as const;
}

/** A rollout request is invalid (no devices selected, bad percentage, unknown rollout…). */
export class RolloutError extends OtaError {
  readonly code = 'ROLLOUT' as const;
}

/** The download was stopped (agent stop, or superseded by a newer desired state). */
export class DownloadAbortedError extends OtaError {
  readonly code = 'DOWNLOAD_ABORTED' as const;
}

/** The transfer descriptor is inconsistent (chunk count vs size, chunk size too large). */
export class TransferDescriptorError extends OtaError {
  readonly code = 'TRANSFER_DESCRIPTOR' as const;
}

export class InvalidDeviceIdError extends OtaError {
  readonly code = 'INVALID_DEVICE_ID' as const;
  constructor(readonly deviceId: string) {
    super(`invalid device id ${JSON.stringify(deviceId)}: expected ^[a-z0-9][a-z0-9_.-]{0,62}$`);
  }
}

export class CredentialsError extends OtaError {
  readonly code = 'CREDENTIALS' as const;
}

export class BrokerError extends OtaError {
  readonly code = 'BROKER' as const;
}

export class BundleUnknownError extends OtaError {
  readonly code = 'BUNDLE_UNKNOWN' as const;
  constructor(readonly sha256: string) {
    super(`bundle ${sha256.slice(0, 12)}… is not in the fleet store`);
  }
}

/** A persisted state file is unreadable or fails its schema. */
export class StateCorruptError extends OtaError {
  readonly code = 'STATE_CORRUPT' as const;
}

export function isOtaError(error: unknown, code?: OtaErrorCode): error is OtaError {
  return error instanceof OtaError && (code === undefined || error.code === code);
}

/** `{ code, message }` for any error: edgeloop errors keep their code, others become IO_ERROR-like 'INTERNAL'. */
export function reasonOf(error: unknown): { code: string; message: string } {
  const message = (error instanceof Error ? error.message : String(error)).split('\n')[0].slice(0, 500);
  const branded = error instanceof Error && (error as unknown as Record<symbol, unknown>)[EDGELOOP_ERROR] === true;
  const code = (error as { code?: unknown } | null)?.code;
  return { code: branded && typeof code === 'string' ? code : errnoCode(error) ?? 'INTERNAL', message };
}

function errnoCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return 'DISK_FULL';
  if (typeof code === 'string' && code.startsWith('E')) return 'IO_ERROR';
  return undefined;
}
