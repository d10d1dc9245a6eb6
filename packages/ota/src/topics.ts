// Topic names of docs/ota-protocol.md §topics, in one place: builders for publishers and one
// parser for the server's dispatcher.
import { InvalidDeviceIdError } from './errors.js';

export const TOPIC_PREFIX = 'edgeloop/v1';
export const DEVICES_PREFIX = `${TOPIC_PREFIX}/devices`;
export const BUNDLES_PREFIX = `${TOPIC_PREFIX}/bundles`;

const DEVICE_ID = /^[a-z0-9][a-z0-9_.-]{0,62}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

export function isValidDeviceId(id: string): boolean {
  return DEVICE_ID.test(id);
}

export function assertDeviceId(id: string): string {
  if (!isValidDeviceId(id)) throw new InvalidDeviceIdError(id);
  return id;
}

export function isSha256Hex(value: string): boolean {
  return SHA256_HEX.test(value);
}

/** Device topics by the suffix after `edgeloop/v1/devices/{d}/`. */
export type DeviceTopicKind =
  | 'status'
  | 'state'
  | 'desired'
  | 'chunks/request'
  | 'events'
  | 'telemetry'
  | 'samples/upload'
  | 'samples/ack';

/** What a device itself publishes (§acl). */
export const DEVICE_PUBLISHED: readonly DeviceTopicKind[] = ['status', 'state', 'chunks/request', 'events', 'telemetry', 'samples/upload'];
/** What only the server publishes and the device reads (§acl). */
export const DEVICE_SUBSCRIBED: readonly DeviceTopicKind[] = ['desired', 'samples/ack'];

export function deviceTopic(deviceId: string, kind: DeviceTopicKind): string {
  return `${DEVICES_PREFIX}/${assertDeviceId(deviceId)}/${kind}`;
}

/** §chunk-data: one topic per bundle. */
export function chunkTopic(bundleSha256: string): string {
  if (!isSha256Hex(bundleSha256)) throw new TypeError(`not a sha256: ${bundleSha256}`);
  return `${BUNDLES_PREFIX}/${bundleSha256}/chunks`;
}

export function parseChunkTopic(topic: string): string | null {
  const m = /^edgeloop\/v1\/bundles\/([0-9a-f]{64})\/chunks$/.exec(topic);
  return m === null ? null : m[1];
}

const KINDS = new Set<string>([...DEVICE_PUBLISHED, ...DEVICE_SUBSCRIBED]);

/** Parses `edgeloop/v1/devices/{d}/{kind}`; null for anything else. */
export function parseDeviceTopic(topic: string): { deviceId: string; kind: DeviceTopicKind } | null {
  if (!topic.startsWith(`${DEVICES_PREFIX}/`)) return null;
  const rest = topic.slice(DEVICES_PREFIX.length + 1);
  const slash = rest.indexOf('/');
  if (slash <= 0) return null;
  const deviceId = rest.slice(0, slash);
  const kind = rest.slice(slash + 1);
  if (!isValidDeviceId(deviceId) || !KINDS.has(kind)) return null;
  return { deviceId, kind: kind as DeviceTopicKind };
}

/** Filters the fleet server subscribes to (optionally through an MQTT 5 shared subscription, §scaling). */
export function serverSubscriptions(sharedGroup?: string): string[] {
  const share = sharedGroup === undefined ? '' : `$share/${sharedGroup}/`;
  return DEVICE_PUBLISHED.map((kind) => `${share}${DEVICES_PREFIX}/+/${kind}`);
}
