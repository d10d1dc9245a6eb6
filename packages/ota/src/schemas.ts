// Message schemas of docs/ota-protocol.md as TypeBox types, compiled once. Receivers decode with
// `decodeJson`, which never throws: a malformed or hostile message is counted by reason and
// dropped (§principles).
import { Type } from '@sinclair/typebox';
import type { Static, TSchema } from '@sinclair/typebox';
import { matchesSchema } from '@edgeloop/bundle';

const Sha256 = Type.String({ pattern: '^[0-9a-f]{64}$' });
const Timestamp = Type.String({ maxLength: 40 });
const Reason = Type.Object({ code: Type.String({ maxLength: 64 }), message: Type.String({ maxLength: 2000 }) });

/** Largest bundle chunk count in a descriptor (§desired). */
export const MAX_CHUNKS = 16384;
/** Most indices in one chunk request (§chunk-request). */
export const MAX_CHUNKS_PER_REQUEST = 64;

/** §status */
export const DeviceStatusSchema = Type.Object({
  v: Type.Literal(1),
  online: Type.Boolean(),
  ts: Type.Optional(Timestamp),
  agent: Type.Optional(Type.String({ maxLength: 64 })),
});
export type DeviceStatus = Static<typeof DeviceStatusSchema>;

export const SlotNameSchema = Type.Union([Type.Literal('a'), Type.Literal('b')]);
export type SlotName = Static<typeof SlotNameSchema>;

const BundleRef = Type.Object({ sha256: Sha256, version: Type.Integer({ minimum: 0 }) });

export const PhaseSchema = Type.Union([
  Type.Literal('idle'),
  Type.Literal('downloading'),
  Type.Literal('verifying'),
  Type.Literal('staging'),
  Type.Literal('healthcheck'),
  Type.Literal('activating'),
  Type.Literal('rolling-back'),
]);
export type Phase = Static<typeof PhaseSchema>;

/** §state */
export const ReportedStateSchema = Type.Object({
  v: Type.Literal(1),
  ts: Timestamp,
  profile: Type.String({ maxLength: 64 }),
  activeSlot: Type.Union([SlotNameSchema, Type.Null()]),
  active: Type.Union([BundleRef, Type.Null()]),
  highestAccepted: Type.Integer({ minimum: -1 }),
  phase: PhaseSchema,
  download: Type.Optional(Type.Object({
    sha256: Sha256,
    verifiedChunks: Type.Integer({ minimum: 0 }),
    totalChunks: Type.Integer({ minimum: 0 }),
  })),
  lastError: Type.Optional(Reason),
});
export type ReportedState = Static<typeof ReportedStateSchema>;

/** §desired: what the device needs to fetch and check a bundle chunk by chunk. */
export const TransferDescriptorSchema = Type.Object({
  chunkBytes: Type.Integer({ minimum: 1024, maximum: 64 * 1024 * 1024 }),
  chunkSha256: Type.Array(Sha256, { minItems: 1, maxItems: MAX_CHUNKS }),
});
export type TransferDescriptor = Static<typeof TransferDescriptorSchema>;

export const DesiredBundleSchema = Type.Object({
  sha256: Sha256,
  size: Type.Integer({ minimum: 1 }),
  version: Type.Integer({ minimum: 0 }),
  targetProfile: Type.String({ maxLength: 64 }),
});
export type DesiredBundle = Static<typeof DesiredBundleSchema>;

export const DesiredStateSchema = Type.Object({
  v: Type.Literal(1),
  ts: Type.Optional(Timestamp),
  bundle: Type.Union([DesiredBundleSchema, Type.Null()]),
  transfer: Type.Optional(TransferDescriptorSchema),
  /**
   * §rollback: an explicit server decision to return to an older bundle. A device accepts it only
   * when that exact bundle (by sha256) still sits verified in its inactive slot; anti-rollback stays
   * in force for everything else.
   */
  rollback: Type.Optional(Type.Boolean()),
});
export type DesiredState = Static<typeof DesiredStateSchema>;

/** §chunk-request */
export const ChunkRequestSchema = Type.Object({
  v: Type.Literal(1),
  bundle: Sha256,
  chunks: Type.Array(Type.Integer({ minimum: 0, maximum: MAX_CHUNKS - 1 }), { minItems: 1, maxItems: MAX_CHUNKS_PER_REQUEST }),
});
export type ChunkRequest = Static<typeof ChunkRequestSchema>;

export const InstallPhaseSchema = Type.Union([
  Type.Literal('download-started'),
  Type.Literal('downloaded'),
  Type.Literal('verified'),
  Type.Literal('staged'),
  Type.Literal('healthy'),
  Type.Literal('activated'),
  Type.Literal('rejected'),
  Type.Literal('failed'),
  Type.Literal('rolled-back'),
]);
export type InstallPhase = Static<typeof InstallPhaseSchema>;

/** §events */
export const InstallEventSchema = Type.Object({
  v: Type.Literal(1),
  id: Type.String({ minLength: 1, maxLength: 64 }),
  ts: Timestamp,
  bundle: Type.Union([Sha256, Type.Null()]),
  version: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
  phase: InstallPhaseSchema,
  reason: Type.Optional(Reason),
  stats: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.Number(), { maxProperties: 32 })),
});
export type InstallEvent = Static<typeof InstallEventSchema>;

/** §telemetry */
export const TelemetrySchema = Type.Object({
  v: Type.Literal(1),
  ts: Timestamp,
  metrics: Type.Record(Type.String({ maxLength: 64 }), Type.Number(), { maxProperties: 64 }),
});
export type Telemetry = Static<typeof TelemetrySchema>;

/** §sample-upload header (the JSON part of the frame). */
export const SampleHeaderSchema = Type.Object({
  v: Type.Literal(1),
  id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
  sha256: Sha256,
  ts: Timestamp,
  contentType: Type.String({ maxLength: 64 }),
  meta: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.Unknown(), { maxProperties: 32 })),
});
export type SampleHeader = Static<typeof SampleHeaderSchema>;

/** §sample-ack */
export const SampleAckSchema = Type.Object({
  v: Type.Literal(1),
  id: Type.String({ maxLength: 64 }),
  sha256: Type.String({ maxLength: 64 }),
  status: Type.Union([Type.Literal('stored'), Type.Literal('duplicate'), Type.Literal('rejected')]),
  reason: Type.Optional(Type.String({ maxLength: 500 })),
});
export type SampleAck = Static<typeof SampleAckSchema>;

/** Counts what a receiver dropped, by reason (`topic`, `json`, `schema:<name>`, …). */
export class DropCounter {
  private readonly counts = new Map<string, number>();
  count(reason: string): void {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1);
  }
  get total(): number {
    let sum = 0;
    for (const n of this.counts.values()) sum += n;
    return sum;
  }
  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort());
  }
}

/** Largest JSON payload any receiver parses (a desired state with MAX_CHUNKS hashes fits). */
export const MAX_JSON_BYTES = 2 * 1024 * 1024;

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Parses and validates a JSON payload; never throws. `name` labels the drop reason. */
export function decodeJson<T extends TSchema>(schema: T, payload: Uint8Array, name: string): Decoded<Static<T>> {
  if (payload.byteLength > MAX_JSON_BYTES) return { ok: false, reason: `${name}:too-large` };
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'));
  } catch {
    return { ok: false, reason: `${name}:json` };
  }
  if (!matchesSchema(schema, value)) return { ok: false, reason: `${name}:schema` };
  return { ok: true, value };
}

export function isValidMessage<T extends TSchema>(schema: T, value: unknown): value is Static<T> {
  return matchesSchema(schema, value);
}

export function encodeJson(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}
