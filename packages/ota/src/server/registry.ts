// Devices the server knows of, with their fleet and tags (docs/ota-protocol.md §rollout): written
// when a device is provisioned, read by rollouts to select devices. Kept beside the device's
// other server-side files: devices/<id>/device.json.
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';

import { RolloutError } from '../errors.js';
import { writeJsonAtomic } from '@edgeloop/bundle';
import { assertDeviceId, isValidDeviceId } from '../topics.js';

export const DEFAULT_FLEET = 'default';

export interface DeviceRecord {
  id: string;
  fleet: string;
  tags: string[];
  createdAt: string;
}

/** Which devices a deploy or rollback targets; at most one of the three (none: every registered device). */
export interface DeviceSelector {
  fleet?: string;
  devices?: string[];
  tag?: string;
}

const TAG = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

export function deviceRecordPath(dataDir: string, deviceId: string): string {
  return join(dataDir, 'devices', assertDeviceId(deviceId), 'device.json');
}

/** Records (or updates) a device's fleet and tags. */
export async function registerDevice(dataDir: string, deviceId: string, options: { fleet?: string; tags?: string[] } = {}): Promise<DeviceRecord> {
  const fleet = options.fleet ?? DEFAULT_FLEET;
  for (const name of [fleet, ...(options.tags ?? [])]) {
    if (!TAG.test(name)) throw new RolloutError(`invalid fleet or tag name ${JSON.stringify(name)}: expected ${TAG.source}`);
  }
  const existing = await readDeviceRecord(dataDir, deviceId);
  const record: DeviceRecord = { id: deviceId, fleet, tags: [...new Set(options.tags ?? [])].sort(), createdAt: existing?.createdAt ?? new Date().toISOString() };
  await writeJsonAtomic(deviceRecordPath(dataDir, deviceId), record);
  return record;
}

export async function readDeviceRecord(dataDir: string, deviceId: string): Promise<DeviceRecord | undefined> {
  const text = await readFile(deviceRecordPath(dataDir, deviceId), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as DeviceRecord);
}

/** Every device with a record, or that the server heard from (those get the default fleet and no tags), sorted by id. */
export async function listDevices(dataDir: string): Promise<DeviceRecord[]> {
  const names = await readdir(join(dataDir, 'devices')).catch(() => [] as string[]);
  const out: DeviceRecord[] = [];
  for (const id of names.filter(isValidDeviceId).sort()) {
    out.push((await readDeviceRecord(dataDir, id)) ?? { id, fleet: DEFAULT_FLEET, tags: [], createdAt: '' });
  }
  return out;
}

/** Pure: the devices a selector names, in id order. Unknown ids in `devices` are an error (a typo must not shrink a rollout silently). */
export function selectDevices(records: readonly DeviceRecord[], selector: DeviceSelector): string[] {
  const given = [selector.fleet, selector.devices, selector.tag].filter((s) => s !== undefined).length;
  if (given > 1) throw new RolloutError('name at most one of fleet, devices and tag');
  if (selector.devices !== undefined) {
    const known = new Set(records.map((r) => r.id));
    const unknown = selector.devices.filter((id) => !known.has(id));
    if (unknown.length > 0) throw new RolloutError(`unknown device(s): ${unknown.join(', ')}`);
    return [...new Set(selector.devices)].sort();
  }
  return records
    .filter((r) => (selector.fleet === undefined || r.fleet === selector.fleet) && (selector.tag === undefined || r.tags.includes(selector.tag)))
    .map((r) => r.id);
}
