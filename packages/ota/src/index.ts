// @edgeloop/ota public surface: the protocol (topics, schemas, frames), the embedded broker with
// auth/ACL, the chunked transfer, the device agent and the fleet server.
export {
  ActivateFailedError, BrokerError, BundleUnknownError, ChunkCorruptError, CredentialsError, DiskFullError, DownloadAbortedError,
  FileHashMismatchError, HealthcheckFailedError, InvalidDeviceIdError, IoError, OtaError, ProfileMismatchError, StateCorruptError,
  TransferDescriptorError, VersionNotHigherError, WatchFailedError, RolloutError, isOtaError, reasonOf,
} from './errors.js';
export type { OtaErrorCode } from './errors.js';

export {
  BUNDLES_PREFIX, DEVICES_PREFIX, DEVICE_PUBLISHED, DEVICE_SUBSCRIBED, TOPIC_PREFIX, assertDeviceId, chunkTopic, deviceTopic,
  isSha256Hex, isValidDeviceId, parseChunkTopic, parseDeviceTopic, serverSubscriptions,
} from './topics.js';
export type { DeviceTopicKind } from './topics.js';
export {
  ChunkRequestSchema, DesiredBundleSchema, DesiredStateSchema, DeviceStatusSchema, DropCounter, InstallEventSchema, InstallPhaseSchema,
  MAX_CHUNKS, MAX_CHUNKS_PER_REQUEST, MAX_JSON_BYTES, PhaseSchema, ReportedStateSchema, SampleAckSchema, SampleHeaderSchema,
  SlotNameSchema, TelemetrySchema, TransferDescriptorSchema, decodeJson, encodeJson, isValidMessage,
} from './schemas.js';
export type {
  ChunkRequest, Decoded, DesiredBundle, DesiredState, DeviceStatus, InstallEvent, InstallPhase, Phase, ReportedState, SampleAck,
  SampleHeader, SlotName, Telemetry, TransferDescriptor,
} from './schemas.js';
export { CHUNK_HEADER_BYTES, decodeChunkFrame, encodeChunkFrame } from './chunk-frame.js';
export type { ChunkFrame } from './chunk-frame.js';
export { MAX_SAMPLE_FRAME_BYTES, decodeSampleFrame, encodeSampleFrame } from './sample-frame.js';

export {
  CredentialVerifier, DEFAULT_SERVER_USERNAME, credentialsPath, hashSecret, loadCredentials, mosquittoHash, provisionDevice, provisionServer,
  revokeCredentials, verifySecret,
} from './auth/credentials.js';
export type {
  CredentialFile, CredentialVerifierOptions, CredentialVerifierStats, IssuedCredentials, Role, StoredCredential,
} from './auth/credentials.js';
export { isValidFilter, mayPublish, maySubscribe } from './auth/acl.js';
export type { BundleAssignments, Identity } from './auth/acl.js';
export { mosquittoAclFile, mosquittoPasswordFile, writeMosquittoFiles } from './auth/mosquitto.js';
export type { MosquittoFiles } from './auth/mosquitto.js';
export { DEFAULT_MAX_PACKET_BYTES, startBroker } from './broker.js';
export type { BrokerOptions, RunningBroker } from './broker.js';

export { DEFAULT_CHUNK_BYTES, assertDescriptorFits, chunkBytesFor, chunkCount, chunkRange, describeFile } from './transfer/descriptor.js';
export { ChunkBitmap } from './transfer/bitmap.js';
export { discardDownload, downloadBundle, partialPaths } from './transfer/downloader.js';
export type { ChunkTransport, DownloadControl, DownloadOptions, DownloadResult, DownloadStats } from './transfer/downloader.js';

export { admission, otherSlot, planSteps } from './agent/planner.js';
export type { DeviceSnapshot, PersistedState, Refusal, Rejection, SlotContent, Step, Trial } from './agent/planner.js';
export { BUNDLE_FILE, SlotStore } from './agent/slots.js';
export { BundleModelHost } from './agent/model-host.js';
export type { HealthCheck, HealthReport, ModelHost } from './agent/model-host.js';
export { MqttLink, mqttChunkTransport } from './agent/mqtt-transport.js';
export type { MqttConnectOptions } from './agent/mqtt-transport.js';
export { AGENT_VERSION, DeviceAgent } from './agent/agent.js';
export type { AgentEvents, DeviceAgentOptions, SpoolLimits } from './agent/agent.js';

export { FleetStore } from './server/store.js';
export type { BundleRecord } from './server/store.js';
export { SampleStore } from './server/sample-store.js';
export type { SampleIndexEntry } from './server/sample-store.js';
export { FleetServer } from './server/fleet-server.js';
export type { FleetServerEvents, FleetServerOptions } from './server/fleet-server.js';
export { HANDLERS, dispatch } from './handlers/index.js';
export type { Handler, HandlerContext, ServerEvent, ServerStats } from './handlers/index.js';
export { SampleUploader, sampleHeaderOf } from './agent/sample-uploader.js';
export type { UploaderOptions } from './agent/sample-uploader.js';

export { RuntimeModelHost } from './agent/runtime-host.js';
export type { RuntimeModelHostEvents, RuntimeModelHostOptions, WatchOptions, WatchReport } from './agent/runtime-host.js';
export { runDevice } from './agent/device-process.js';
export type { DeviceOutput, RunDeviceOptions } from './agent/device-process.js';
export { provisionDeviceConfig, readDeviceConfig, serveInfoPath, writeDeviceConfig } from './auth/device-config.js';
export type { DeviceConfig, ProvisionDeviceConfigOptions, ServeInfo } from './auth/device-config.js';
export { DEFAULT_FLEET, listDevices, readDeviceRecord, registerDevice, selectDevices } from './server/registry.js';
export type { DeviceRecord, DeviceSelector } from './server/registry.js';
export { decideRollout, nextTimeoutIn, planWaves, resolveAmount } from './server/rollout-plan.js';
export type { Amount, DecisionOptions, DeviceOutcome, RolloutDecision, RolloutProgress, WavePlanOptions } from './server/rollout-plan.js';
export { RolloutManager } from './server/rollout.js';
export type { DeployOptions, RollbackResult, RolloutRecord, RolloutStatus } from './server/rollout.js';
export { fleetStatus } from './server/fleet-status.js';
export type { DeviceStatusRow, DeviceSyncState, FleetStatus, RolloutSummary } from './server/fleet-status.js';
export { exportSamples, listSamples, sidecarOf } from './server/sample-export.js';
export type { ExportResult, SampleListOptions, SampleSidecar } from './server/sample-export.js';
export { AdminInbox, readRollout, requestDeploy, requestRollback, waitForRollout } from './server/admin.js';
export type { AdminClientOptions, AdminRequest, AdminResponse } from './server/admin.js';
export { serveFleet } from './server/serve.js';
export type { RunningFleet, ServeOptions } from './server/serve.js';
