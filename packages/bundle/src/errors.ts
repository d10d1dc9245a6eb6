// Named errors for the bundle package. Every message is one line that says what failed and where;
// every error carries a stable `code` so callers (CLI, device agent) can branch without parsing text.

const EDGELOOP_ERROR = Symbol.for('edgeloop.error');

export type BundleErrorCode =
  | 'BUNDLE_FORMAT'
  | 'BUNDLE_NOT_FOUND'
  | 'BUNDLE_UNSAFE_PATH'
  | 'BUNDLE_SIZE'
  | 'MANIFEST_SCHEMA'
  | 'MEMBER_HASH'
  | 'MEMBER_SOURCE'
  | 'SIGNATURE_INVALID'
  | 'KEY_UNTRUSTED'
  | 'KEY_FORMAT'
  | 'TENSOR_FORMAT'
  | 'DEVICE_PROFILE';

export abstract class BundleError extends Error {
  abstract readonly code: BundleErrorCode;
  /** Brand shared by every edgeloop package, so guards work across duplicated module copies. */
  readonly [EDGELOOP_ERROR] = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The file is not a bundle: truncated, not a ustar archive, wrong member order, trailing bytes. */
export class BundleFormatError extends BundleError {
  readonly code: BundleErrorCode = 'BUNDLE_FORMAT';
}

/** The bundle path does not exist or is not a regular file. */
export class BundleNotFoundError extends BundleFormatError {
  override readonly code: BundleErrorCode = 'BUNDLE_NOT_FOUND';
  constructor(readonly path: string, options?: { cause?: unknown }) {
    super(`bundle not found: ${path}`, options);
  }
}

/** A member path that could escape the extraction directory or is otherwise unsafe. */
export class UnsafePathError extends BundleFormatError {
  override readonly code: BundleErrorCode = 'BUNDLE_UNSAFE_PATH';
  constructor(readonly memberPath: string, reason: string) {
    super(`unsafe member path ${JSON.stringify(memberPath)}: ${reason}`);
  }
}

/** A size limit was exceeded, or a member's size differs from what the manifest declares. */
export class BundleSizeError extends BundleError {
  readonly code: BundleErrorCode = 'BUNDLE_SIZE';
}

export interface SchemaViolation {
  /** JSON pointer into the document, e.g. `/model/inputs/0/shape/1`. */
  path: string;
  message: string;
}

/** The manifest (or another schema-validated document) does not match its schema. */
export class ManifestSchemaError extends BundleError {
  readonly code: BundleErrorCode = 'MANIFEST_SCHEMA';
  constructor(
    readonly violations: SchemaViolation[],
    what = 'manifest',
  ) {
    super(`${what} invalid: ${formatViolations(violations)}`);
  }
}

/** A member's bytes do not hash to the sha256 recorded in the manifest. */
export class MemberHashError extends BundleError {
  readonly code: BundleErrorCode = 'MEMBER_HASH';
  constructor(
    readonly memberPath: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(
      `member ${memberPath} is corrupted: sha256 expected ${expected.slice(0, 12)}… but got ${actual.slice(0, 12)}…`,
    );
  }
}

/** createBundle could not read a member's source file. */
export class MemberSourceError extends BundleError {
  readonly code: BundleErrorCode = 'MEMBER_SOURCE';
  constructor(
    readonly memberPath: string,
    readonly sourcePath: string,
    options?: { cause?: unknown },
  ) {
    const reason = options?.cause instanceof Error ? options.cause.message.split('\n')[0] : 'unreadable';
    super(`cannot read member ${memberPath} from ${sourcePath}: ${reason}`, options);
  }
}

/** The signature does not verify: the manifest was altered or the signature is malformed. */
export class SignatureError extends BundleError {
  readonly code: BundleErrorCode = 'SIGNATURE_INVALID';
}

/** The bundle was signed by a key that the trust store does not hold. */
export class UntrustedKeyError extends BundleError {
  readonly code: BundleErrorCode = 'KEY_UNTRUSTED';
  constructor(
    readonly keyId: string,
    trustedKeyIds: readonly string[],
  ) {
    super(
      `bundle signed by untrusted key ${keyId} (trusted: ${trustedKeyIds.length > 0 ? trustedKeyIds.join(', ') : 'none'})`,
    );
  }
}

/** A key file or PEM string is not a usable ed25519 key. */
export class KeyFormatError extends BundleError {
  readonly code: BundleErrorCode = 'KEY_FORMAT';
}

/** Tensor bytes do not match their declared dtype and dims. */
export class TensorFormatError extends BundleError {
  readonly code: BundleErrorCode = 'TENSOR_FORMAT';
}

/** A device profile is missing or invalid. */
export class DeviceProfileError extends BundleError {
  readonly code: BundleErrorCode = 'DEVICE_PROFILE';
  constructor(
    message: string,
    options?: { cause?: unknown; violations?: SchemaViolation[] },
  ) {
    super(message, options);
    this.violations = options?.violations ?? [];
  }
  readonly violations: SchemaViolation[];
}

/** True for any error thrown by an edgeloop package (they share one brand). */
export function isEdgeloopError(error: unknown): error is Error & { code: string } {
  return (
    error instanceof Error &&
    (error as unknown as Record<symbol, unknown>)[EDGELOOP_ERROR] === true &&
    typeof (error as { code?: unknown }).code === 'string'
  );
}

/** True for errors of this package, optionally with a given code. */
export function isBundleError(error: unknown, code?: BundleErrorCode): error is BundleError {
  return error instanceof BundleError && (code === undefined || error.code === code);
}

const MAX_LISTED_VIOLATIONS = 4;

export function formatViolations(violations: readonly SchemaViolation[]): string {
  const listed = violations
    .slice(0, MAX_LISTED_VIOLATIONS)
    .map((v) => `${v.path === '' ? '/' : v.path}: ${v.message}`);
  const more = violations.length - listed.length;
  return listed.join('; ') + (more > 0 ? ` (+${more} more)` : '');
}
