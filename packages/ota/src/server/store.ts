// The fleet server's data directory (filesystem implementation of FleetStore):
//   bundles/<sha>.elb + bundles/<sha>.json   bundle files by sha256, with their transfer descriptor
//   devices/<id>/desired.json                desired state (docs/ota-protocol.md §desired)
//   devices/<id>/reported.json, status.json  last reported state and status
//   devices/<id>/events.jsonl                install events, appended
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, open, readFile, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

import { fsyncDirectory, openBundle, writeJsonAtomic } from '@edgeloop/bundle';
import type { Trust } from '@edgeloop/bundle';

import type { BundleAssignments } from '../auth/acl.js';
import { BundleUnknownError } from '../errors.js';
import type { DesiredState, DeviceStatus, InstallEvent, ReportedState, TransferDescriptor } from '../schemas.js';
import { assertDeviceId, isSha256Hex, isValidDeviceId } from '../topics.js';
import { DEFAULT_CHUNK_BYTES, describeFile } from '../transfer/descriptor.js';

export interface BundleRecord {
  sha256: string;
  size: number;
  name: string;
  version: number;
  targetProfile: string;
  transfer: TransferDescriptor;
}

function readJsonSync<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export class FleetStore implements BundleAssignments {
  private readonly bundles = new Map<string, BundleRecord>();
  private readonly desired = new Map<string, DesiredState>();

  /** `chunkBytes`: default chunk size of new descriptors (keep it under the broker's packet limit, see chunkBytesFor). */
  constructor(readonly dataDir: string, private readonly defaultChunkBytes = DEFAULT_CHUNK_BYTES) {}

  /** Loads bundle records and desired states from disk. */
  async open(): Promise<void> {
    await mkdir(join(this.dataDir, 'bundles'), { recursive: true });
    await mkdir(join(this.dataDir, 'devices'), { recursive: true });
    for (const name of await readdir(join(this.dataDir, 'bundles'))) {
      if (!name.endsWith('.json')) continue;
      const record = JSON.parse(await readFile(join(this.dataDir, 'bundles', name), 'utf8')) as BundleRecord;
      this.bundles.set(record.sha256, record);
    }
    for (const id of await readdir(join(this.dataDir, 'devices'))) {
      const text = await readFile(join(this.dataDir, 'devices', id, 'desired.json'), 'utf8').catch(() => undefined);
      if (text !== undefined) this.desired.set(id, JSON.parse(text) as DesiredState);
    }
  }

  bundlePath(sha256: string): string {
    if (!isSha256Hex(sha256)) throw new BundleUnknownError(sha256);
    return join(this.dataDir, 'bundles', `${sha256}.elb`);
  }

  /**
   * Adds a bundle file to the store (copied, fsynced, by sha256) and computes its transfer
   * descriptor. The structure and members are checked; the signature is checked when `trust` is
   * given (devices always check it against their own trust store).
   */
  async addBundle(path: string, options: { trust?: Trust; chunkBytes?: number } = {}): Promise<BundleRecord> {
    const opened = await openBundle(path, { trust: options.trust ?? 'skip-signature' });
    const tmp = join(this.dataDir, 'bundles', `.incoming-${process.pid}-${Date.now()}.tmp`);
    await copyFile(path, tmp);
    const handle = await open(tmp, 'r+');
    await handle.sync();
    await handle.close();
    const described = await describeFile(tmp, options.chunkBytes ?? this.defaultChunkBytes);
    if (described.sha256 !== opened.fileSha256) {
      await rm(tmp, { force: true });
      throw new Error(`bundle ${path} changed while it was added`);
    }
    const record: BundleRecord = {
      sha256: described.sha256,
      size: described.size,
      name: opened.manifest.name,
      version: opened.manifest.version,
      targetProfile: opened.manifest.targetProfile,
      transfer: described.transfer,
    };
    await rename(tmp, this.bundlePath(record.sha256));
    await writeJsonAtomic(join(this.dataDir, 'bundles', `${record.sha256}.json`), record);
    await fsyncDirectory(join(this.dataDir, 'bundles'));
    this.bundles.set(record.sha256, record);
    return record;
  }

  /** A bundle record; one not in memory is looked up on disk (added by another server copy sharing the directory). */
  getBundle(sha256: string): BundleRecord | undefined {
    const known = this.bundles.get(sha256);
    if (known !== undefined || !isSha256Hex(sha256)) return known;
    const record = readJsonSync<BundleRecord>(join(this.dataDir, 'bundles', `${sha256}.json`));
    if (record?.sha256 === sha256 && existsSync(this.bundlePath(sha256))) this.bundles.set(sha256, record);
    return this.bundles.get(sha256);
  }

  allBundles(): BundleRecord[] {
    return [...this.bundles.values()];
  }

  /** Sets (and persists) a device's desired bundle; null = keep what it has. */
  async setDesired(deviceId: string, sha256: string | null, options: { rollback?: boolean } = {}): Promise<DesiredState> {
    assertDeviceId(deviceId);
    let desired: DesiredState;
    if (sha256 === null) {
      desired = { v: 1, ts: new Date().toISOString(), bundle: null };
    } else {
      const record = this.bundles.get(sha256);
      if (record === undefined) throw new BundleUnknownError(sha256);
      desired = {
        v: 1,
        ts: new Date().toISOString(),
        bundle: { sha256: record.sha256, size: record.size, version: record.version, targetProfile: record.targetProfile },
        transfer: record.transfer,
      };
      if (options.rollback === true) desired.rollback = true;
    }
    await writeJsonAtomic(join(this.deviceDir(deviceId), 'desired.json'), desired);
    this.desired.set(deviceId, desired);
    return desired;
  }

  getDesired(deviceId: string): DesiredState | undefined {
    return this.desired.get(deviceId);
  }

  allDesired(): Map<string, DesiredState> {
    return new Map(this.desired);
  }

  /** Device id → bundles it may read chunks of (for the mosquitto acl_file). */
  assignmentMap(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const [id, desired] of this.desired) if (desired.bundle !== null) out.set(id, [desired.bundle.sha256]);
    return out;
  }

  /**
   * Whether the device's desired state names this bundle. A miss re-reads the device's
   * desired.json: another server copy sharing the directory (docs/ota-protocol.md §scaling) may have
   * assigned it. Misses are rare (a new assignment by another copy, or a device asking for what it
   * may not have), so the synchronous read stays off the common path.
   */
  isAssigned(deviceId: string, bundleSha256: string): boolean {
    if (this.desired.get(deviceId)?.bundle?.sha256 === bundleSha256) return true;
    if (!isValidDeviceId(deviceId) || !isSha256Hex(bundleSha256)) return false;
    const onDisk = readJsonSync<DesiredState>(join(this.dataDir, 'devices', deviceId, 'desired.json'));
    if (onDisk === undefined) return false;
    this.desired.set(deviceId, onDisk);
    return onDisk.bundle?.sha256 === bundleSha256;
  }

  async recordStatus(deviceId: string, status: DeviceStatus): Promise<void> {
    await writeJsonAtomic(join(this.deviceDir(deviceId), 'status.json'), { ...status, receivedAt: new Date().toISOString() });
  }

  async recordReported(deviceId: string, state: ReportedState): Promise<void> {
    await writeJsonAtomic(join(this.deviceDir(deviceId), 'reported.json'), state);
  }

  async readReported(deviceId: string): Promise<ReportedState | undefined> {
    const text = await readFile(join(this.deviceDir(deviceId), 'reported.json'), 'utf8').catch(() => undefined);
    return text === undefined ? undefined : (JSON.parse(text) as ReportedState);
  }

  async appendEvent(deviceId: string, event: InstallEvent): Promise<void> {
    await mkdir(this.deviceDir(deviceId), { recursive: true });
    const handle = await open(join(this.deviceDir(deviceId), 'events.jsonl'), 'a');
    try {
      await handle.write(JSON.stringify(event) + '\n');
    } finally {
      await handle.close();
    }
  }

  async readEvents(deviceId: string): Promise<InstallEvent[]> {
    const text = await readFile(join(this.deviceDir(deviceId), 'events.jsonl'), 'utf8').catch(() => '');
    return text.split('\n').filter((line) => line.length > 0).map((line) => JSON.parse(line) as InstallEvent);
  }

  private deviceDir(deviceId: string): string {
    return join(this.dataDir, 'devices', assertDeviceId(deviceId));
  }
}
