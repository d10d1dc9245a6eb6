// `fleetStatus`: every device's version, state, download progress and last contact, read from the
// server's data directory (docs/ota-protocol.md §fleet-status), so it works beside a running
// server and after it stopped.
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

import type { DesiredState, DeviceStatus, ReportedState } from '../schemas.js';
import { listDevices } from './registry.js';
import type { RolloutRecord } from './rollout.js';

export type DeviceSyncState = 'in-sync' | 'updating' | 'failed' | 'offline' | 'never-seen';

export interface DeviceStatusRow {
  id: string;
  fleet: string;
  tags: string[];
  online: boolean | null;
  /** Latest of: status change, reported state, install event. */
  lastSeen: string | null;
  version: number | null;
  sha256: string | null;
  desired: { sha256: string; version: number; rollback: boolean } | null;
  phase: ReportedState['phase'] | null;
  state: DeviceSyncState;
  progress: { verifiedChunks: number; totalChunks: number; percent: number } | null;
  lastError: { code: string; message: string } | null;
}

export interface RolloutSummary {
  id: string;
  bundle: RolloutRecord['bundle'];
  status: RolloutRecord['status'];
  succeeded: number;
  failed: number;
  inFlight: number;
  unreached: number;
  startedAt: string;
  endedAt?: string;
  haltReason?: string;
}

export interface FleetStatus {
  devices: DeviceStatusRow[];
  rollouts: RolloutSummary[];
}

async function readJson<T>(path: string): Promise<T | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

export async function fleetStatus(dataDir: string): Promise<FleetStatus> {
  const devices: DeviceStatusRow[] = [];
  for (const record of await listDevices(dataDir)) {
    const dir = join(dataDir, 'devices', record.id);
    const status = await readJson<DeviceStatus & { receivedAt?: string }>(join(dir, 'status.json'));
    const reported = await readJson<ReportedState>(join(dir, 'reported.json'));
    const desired = await readJson<DesiredState>(join(dir, 'desired.json'));
    const eventsAt = await stat(join(dir, 'events.jsonl')).then((s) => s.mtime.toISOString(), () => undefined);
    const seen = [status?.receivedAt, reported?.ts, eventsAt].filter((t): t is string => t !== undefined).sort();
    const want = desired?.bundle ?? null;
    const active = reported?.active ?? null;
    const online = status === undefined ? null : status.online;
    let state: DeviceSyncState;
    if (reported === undefined) state = 'never-seen';
    else if (online === false) state = 'offline';
    else if (want === null || active?.sha256 === want.sha256) state = 'in-sync';
    else if (reported.phase !== 'idle') state = 'updating';
    else if (reported.lastError !== undefined) state = 'failed';
    else state = 'updating';
    const download = reported?.download;
    devices.push({
      id: record.id,
      fleet: record.fleet,
      tags: record.tags,
      online,
      lastSeen: seen.at(-1) ?? null,
      version: active?.version ?? null,
      sha256: active?.sha256 ?? null,
      desired: want === null ? null : { sha256: want.sha256, version: want.version, rollback: desired?.rollback === true },
      phase: reported?.phase ?? null,
      state,
      progress: download === undefined ? null : { ...download, percent: download.totalChunks === 0 ? 100 : Math.round((100 * download.verifiedChunks) / download.totalChunks) },
      lastError: reported?.lastError ?? null,
    });
  }
  const rollouts: RolloutSummary[] = [];
  const names = await readdir(join(dataDir, 'rollouts')).catch(() => [] as string[]);
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    const r = await readJson<RolloutRecord>(join(dataDir, 'rollouts', name));
    if (r === undefined) continue;
    const states = Object.values(r.outcomes).map((o) => o.state);
    rollouts.push({
      id: r.id, bundle: r.bundle, status: r.status,
      succeeded: states.filter((s) => s === 'succeeded').length,
      failed: states.filter((s) => s === 'failed').length,
      inFlight: states.filter((s) => s === 'assigned').length,
      unreached: states.filter((s) => s === 'pending').length,
      startedAt: r.startedAt,
      ...(r.endedAt !== undefined ? { endedAt: r.endedAt } : {}),
      ...(r.haltReason !== undefined ? { haltReason: r.haltReason } : {}),
    });
  }
  rollouts.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  return { devices, rollouts };
}
