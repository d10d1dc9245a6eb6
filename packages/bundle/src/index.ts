// @edgeloop/bundle public surface. Nothing here depends on another edgeloop package.
export {
  BundleError,
  BundleFormatError,
  BundleNotFoundError,
  BundleSizeError,
  DeviceProfileError,
  KeyFormatError,
  ManifestSchemaError,
  MemberHashError,
  MemberSourceError,
  SignatureError,
  TensorFormatError,
  UnsafePathError,
  UntrustedKeyError,
  formatViolations,
  isBundleError,
  isEdgeloopError,
} from './errors.js';
export type { BundleErrorCode, SchemaViolation } from './errors.js';

export {
  CalibrationSchema,
  DimSchema,
  GoldenSampleSchema,
  HistogramSchema,
  MANIFEST_SCHEMA_VERSION,
  ManifestSchema,
  MemberRoleSchema,
  MemberSchema,
  MetricsSchema,
  ModelInputSchema,
  ModelOutputSchema,
  ModelSchema,
  NameSchema,
  PostprocessingSchema,
  PrecisionSchema,
  PreprocessingSchema,
  ProvenanceSchema,
  TaskSchema,
  TensorDtypeSchema,
  TensorRefSchema,
  TensorStatsSchema,
  validateManifest,
} from './manifest.js';
export type {
  Calibration,
  Dim,
  GoldenSample,
  Manifest,
  ManifestInput,
  Member,
  MemberRole,
  Metrics,
  ModelInfo,
  ModelInput,
  ModelOutput,
  Postprocessing,
  Precision,
  Preprocessing,
  Provenance,
  Task,
  TensorRef,
  TensorStats,
} from './manifest.js';

export { MANIFEST_MEMBER, SIGNATURE_MEMBER, assertSafeMemberPath, isSafeMemberPath } from './paths.js';
export { BLOCK_SIZE, MAX_MEMBER_BYTES } from './format.js';
export { DEFAULT_CHUNK_BYTES, hashFile, sha256, sha256File } from './hash.js';

export {
  TENSOR_DTYPES,
  bytesPerElement,
  decodeTensor,
  elementCount,
  encodeTensor,
  float16BitsToFloat32,
  float32ToFloat16Bits,
  tensorByteLength,
} from './tensor.js';
export type { TensorArrayOf, TensorDtype, TensorValues } from './tensor.js';

export {
  TrustStore,
  generateKeyPair,
  keyIdOf,
  loadPrivateKey,
  loadPublicKey,
  parsePrivateKey,
  parsePublicKey,
  publicKeyPemFromPrivate,
  rawPublicKey,
  saveKeyPair,
  savePrivateKey,
  savePublicKey,
} from './keys.js';
export type { KeyPair } from './keys.js';

export { encodeSignature, parseSignature, signManifest, verifyManifestSignature } from './signing.js';
export type { ManifestSignature } from './signing.js';

export { fsyncDirectory, writeFileAtomic, writeJsonAtomic } from './fs-atomic.js';
export { matchesSchema, schemaViolations } from './schema-check.js';
export type { WriteAtomicOptions } from './fs-atomic.js';
export { createBundle, encodeManifest } from './pack.js';
export type { CreateBundleOptions, CreatedBundle, MemberSource } from './pack.js';
export { MAX_MANIFEST_BYTES, MAX_SIGNATURE_BYTES } from './scan.js';
export type { Trust } from './scan.js';
export { OpenedBundle, openBundle } from './unpack.js';
export type { MemberInfo, MemberLocation, OpenBundleOptions, TensorData } from './unpack.js';
export { inspectBundle, verifyBundle } from './verify.js';
export type { BundleInfo, VerifyCheck, VerifyReport } from './verify.js';

export {
  CameraDefaultsSchema,
  DeviceProfileSchema,
  EXECUTION_PROVIDERS,
  ExecutionProviderSchema,
  defaultProfilesDir,
  listDeviceProfiles,
  loadDeviceProfile,
  validateDeviceProfile,
} from './device-profile.js';
export type { CameraDefaults, DeviceProfile, ExecutionProvider, ExecutionProviderName, ProfileLookupOptions } from './device-profile.js';
