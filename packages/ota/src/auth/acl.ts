// The access rules of docs/ota-protocol.md §acl as pure functions, shared by the embedded broker
// and the generated mosquitto acl_file (which must say the same thing in mosquitto's syntax).
import type { Role } from './credentials.js';
import { DEVICE_PUBLISHED, DEVICES_PREFIX, TOPIC_PREFIX, parseChunkTopic, parseDeviceTopic } from '../topics.js';

export interface Identity {
  role: Role;
  /** Username; for a device, its device id. */
  id: string;
}

/** Which bundles a device may read chunks of (the fleet store answers from its desired states). */
export interface BundleAssignments {
  isAssigned(deviceId: string, bundleSha256: string): boolean;
}

/** True when `filter` is a syntactically valid MQTT topic filter (wildcards occupy whole levels, `#` last). */
export function isValidFilter(filter: string): boolean {
  if (filter.length === 0 || filter.length > 1024 || filter.includes('\u0000')) return false;
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i];
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) return false;
    if (level.includes('+') && level !== '+') return false;
  }
  return true;
}

function hasWildcard(topic: string): boolean {
  return topic.includes('+') || topic.includes('#');
}

export function mayPublish(identity: Identity, topic: string): boolean {
  if (hasWildcard(topic) || topic.startsWith('$') || topic.includes('\u0000')) return false;
  if (identity.role === 'server') return topic.startsWith(`${TOPIC_PREFIX}/`);
  const parsed = parseDeviceTopic(topic);
  return parsed !== null && parsed.deviceId === identity.id && DEVICE_PUBLISHED.includes(parsed.kind);
}

export function maySubscribe(identity: Identity, filter: string, assignments: BundleAssignments): boolean {
  if (!isValidFilter(filter)) return false;
  if (identity.role === 'server') {
    const shared = /^\$share\/[A-Za-z0-9_-]+\/(.*)$/.exec(filter);
    const inner = shared === null ? filter : shared[1];
    return inner === `${TOPIC_PREFIX}/#` || inner.startsWith(`${TOPIC_PREFIX}/`);
  }
  // Device: its own subtree (wildcards allowed only below its id), or chunks of an assigned bundle.
  const own = `${DEVICES_PREFIX}/${identity.id}/`;
  if (filter.startsWith(own) && filter.length > own.length) return true;
  const bundle = parseChunkTopic(filter);
  return bundle !== null && assignments.isAssigned(identity.id, bundle);
}
