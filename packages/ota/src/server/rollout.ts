// Rollouts on the fleet server (docs/ota-protocol.md §rollout): a bundle goes out in waves, canary
// first; each device's outcome comes from its install events and reported state, silence past the
// wave timeout is a failure, and the rollout halts once failures exceed the threshold, so devices
// of later waves never receive the bundle. The decisions are made by the pure planner in
// rollout-plan.ts; this file executes them and persists every step under rollouts/<id>.json.
import { randomUUID } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';

import { RolloutError } from '../errors.js';
import { writeJsonAtomic } from '@edgeloop/bundle';
import type { ServerEvent } from '../handlers/index.js';
import type { FleetServer } from './fleet-server.js';
import { listDevices, selectDevices } from './registry.js';
import type { DeviceSelector } from './registry.js';
import { decideRollout, nextTimeoutIn, planWaves } from './rollout-plan.js';
import type { Amount, DeviceOutcome } from './rollout-plan.js';

export interface DeployOptions extends DeviceSelector {
  /** First wave (default '10%'). */
  canary?: Amount;
  /** Failures tolerated over the rollout (default '20%'). */
  maxFailures?: Amount;
  /** Silence after assignment that counts as a failure (default 10 minutes). */
  waveTimeoutMs?: number;
  /** Growth factor of later waves (default 2). */
  growth?: number;
  /** Rollout id (default: a new uuid). */
  id?: string;
}

export type RolloutStatus = 'running' | 'halted' | 'done';

export interface RolloutRecord {
  v: 1;
  id: string;
  bundle: { sha256: string; version: number; name: string };
  target: DeviceSelector;
  canary: string;
  maxFailures: string;
  waveTimeoutMs: number;
  waves: string[][];
  wave: number;
  outcomes: Record<string, DeviceOutcome>;
  /** What each reached device ran before (null: nothing), for `rollback`. */
  previous: Record<string, string | null>;
  status: RolloutStatus;
  startedAt: string;
  endedAt?: string;
  /** Why it halted. */
  haltReason?: string;
}

export interface RollbackResult {
  /** Device → the bundle it was sent back to. */
  rolledBack: Record<string, string>;
  /** Device → why not (nothing earlier recorded). */
  skipped: Record<string, string>;
}

interface Running {
  record: RolloutRecord;
  wake: () => void;
  done: Promise<RolloutRecord>;
}

const FAILED_PHASES = new Set(['failed', 'rejected', 'rolled-back']);

export class RolloutManager {
  private readonly running = new Map<string, Running>();

  constructor(readonly server: FleetServer) {
    server.on('message', (event) => this.onServerEvent(event));
  }

  private get dir(): string {
    return join(this.server.options.dataDir, 'rollouts');
  }

  rolloutPath(id: string): string {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new RolloutError(`invalid rollout id ${JSON.stringify(id)}`);
    return join(this.dir, `${id}.json`);
  }

  /** Continues rollouts a stopped server left running (their timeouts run from the recorded assignment times). */
  async resume(): Promise<void> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      const record = JSON.parse(await readFile(join(this.dir, name), 'utf8')) as RolloutRecord;
      if (record.status === 'running' && !this.running.has(record.id)) void this.drive(record).catch(() => undefined);
    }
  }

  /** Adds the bundle to the store and starts the rollout; `done` resolves when it is done or halted. */
  async start(bundle: string, options: DeployOptions = {}): Promise<{ record: RolloutRecord; done: Promise<RolloutRecord> }> {
    const { store } = this.server;
    const stored = /^[0-9a-f]{64}$/.test(bundle) ? store.getBundle(bundle) : await store.addBundle(bundle);
    if (stored === undefined) throw new RolloutError(`bundle ${bundle.slice(0, 12)}… is not in the fleet store`);
    const target: DeviceSelector = {};
    if (options.fleet !== undefined) target.fleet = options.fleet;
    if (options.devices !== undefined) target.devices = options.devices;
    if (options.tag !== undefined) target.tag = options.tag;
    const devices = selectDevices(await listDevices(this.server.options.dataDir), target);
    if (devices.length === 0) throw new RolloutError(`no devices match ${JSON.stringify(target)}`);
    const canary = String(options.canary ?? '10%');
    const maxFailures = String(options.maxFailures ?? '20%');
    let waves: string[][];
    try {
      waves = planWaves(devices, { canary, ...(options.growth !== undefined ? { growth: options.growth } : {}) });
      decideRollout({ waves, wave: -1, outcomes: {} }, { maxFailures, waveTimeoutMs: 1 }, 0);
    } catch (error) {
      throw new RolloutError((error as Error).message, { cause: error });
    }
    const record: RolloutRecord = {
      v: 1,
      id: options.id ?? randomUUID(),
      bundle: { sha256: stored.sha256, version: stored.version, name: stored.name },
      target,
      canary,
      maxFailures,
      waveTimeoutMs: options.waveTimeoutMs ?? 600_000,
      waves,
      wave: -1,
      outcomes: Object.fromEntries(devices.map((id) => [id, { state: 'pending' } as DeviceOutcome])),
      previous: {},
      status: 'running',
      startedAt: new Date().toISOString(),
    };
    await this.save(record);
    return { record, done: this.drive(record) };
  }

  /** `deploy(bundle, {fleet|devices|tag, canary, maxFailures, waveTimeoutMs})`: starts a rollout and waits for its end. */
  async deploy(bundle: string, options: DeployOptions = {}): Promise<RolloutRecord> {
    return (await this.start(bundle, options)).done;
  }

  async read(id: string): Promise<RolloutRecord | undefined> {
    const live = this.running.get(id);
    if (live !== undefined) return live.record;
    const text = await readFile(this.rolloutPath(id), 'utf8').catch(() => undefined);
    return text === undefined ? undefined : (JSON.parse(text) as RolloutRecord);
  }

  /**
   * Sends the selected devices back to the bundle they ran before their last rollout, as an
   * explicit rollback (§rollback): the device accepts it only if that bundle is still in its
   * inactive slot. Devices without a recorded previous bundle are skipped.
   */
  async rollback(selector: DeviceSelector = {}): Promise<RollbackResult> {
    const dataDir = this.server.options.dataDir;
    const devices = selectDevices(await listDevices(dataDir), selector);
    const result: RollbackResult = { rolledBack: {}, skipped: {} };
    for (const id of devices) {
      const history = await readHistory(dataDir, id);
      const previous = history?.previous ?? null;
      if (previous === null || this.server.store.getBundle(previous) === undefined) {
        result.skipped[id] = 'no earlier bundle recorded for this device';
        continue;
      }
      // A rollout still running must not re-assign this device afterwards.
      for (const run of this.running.values()) if (run.record.outcomes[id]?.state === 'pending') run.record.outcomes[id] = { state: 'failed', at: Date.now(), reason: 'rolled back' };
      await this.server.assign(id, previous, { rollback: true });
      await writeHistory(dataDir, id, { deployed: previous, previous: null });
      result.rolledBack[id] = previous;
    }
    return result;
  }

  private drive(record: RolloutRecord): Promise<RolloutRecord> {
    // An outcome that arrives between a decision and the wait must not be slept through.
    let dirty = false;
    let wakeWaiter: (() => void) | undefined;
    const wake = (): void => {
      dirty = true;
      wakeWaiter?.();
    };
    const done = (async () => {
      for (;;) {
        const now = Date.now();
        const options = { maxFailures: record.maxFailures, waveTimeoutMs: record.waveTimeoutMs };
        const decision = decideRollout(record, options, now);
        if (decision.action === 'start-wave') {
          record.wave = decision.wave;
          for (const id of decision.devices) await this.reach(record, id);
        } else if (decision.action === 'time-out') {
          for (const id of decision.devices) record.outcomes[id] = { state: 'failed', at: now, reason: `no outcome within ${record.waveTimeoutMs} ms` };
        } else if (decision.action === 'halt') {
          record.status = 'halted';
          record.haltReason = `${decision.failed} device(s) failed, more than the ${record.maxFailures} allowed (${decision.allowed}); ${decision.unreached.length} device(s) not reached`;
        } else if (decision.action === 'done') {
          record.status = 'done';
        }
        if (record.status !== 'running') record.endedAt = new Date().toISOString();
        await this.save(record);
        if (record.status !== 'running') return record;
        if (decision.action === 'wait' && !dirty) {
          const timeout = nextTimeoutIn(record, options, Date.now()) ?? record.waveTimeoutMs;
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, timeout + 5);
            wakeWaiter = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wakeWaiter = undefined;
        }
        dirty = false;
      }
    })().finally(() => this.running.delete(record.id));
    this.running.set(record.id, { record, wake, done });
    return done;
  }

  /** Assigns the bundle to one device, remembering what it ran before. */
  private async reach(record: RolloutRecord, id: string): Promise<void> {
    const dataDir = this.server.options.dataDir;
    const reported = await this.server.store.readReported(id);
    const running = reported?.active?.sha256 ?? null;
    record.previous[id] = running;
    record.outcomes[id] = { state: 'assigned', at: Date.now() };
    if (running !== record.bundle.sha256) await writeHistory(dataDir, id, { deployed: record.bundle.sha256, previous: running });
    await this.server.assign(id, record.bundle.sha256);
    if (running === record.bundle.sha256 && reported?.phase === 'idle') record.outcomes[id] = { state: 'succeeded', at: Date.now() };
  }

  private onServerEvent(event: ServerEvent): void {
    for (const run of this.running.values()) {
      const { record } = run;
      const outcome = record.outcomes[event.type === 'status' || event.type === 'state' || event.type === 'install-event' ? event.deviceId : ''];
      if (outcome?.state !== 'assigned') continue;
      const id = (event as { deviceId: string }).deviceId;
      const sha = record.bundle.sha256;
      if (event.type === 'install-event' && event.event.bundle === sha) {
        if (event.event.phase === 'activated') record.outcomes[id] = { state: 'succeeded', at: Date.now() };
        else if (FAILED_PHASES.has(event.event.phase)) record.outcomes[id] = { state: 'failed', at: Date.now(), reason: event.event.reason?.code ?? event.event.phase };
      } else if (event.type === 'state' && event.state.active?.sha256 === sha && event.state.phase === 'idle') {
        record.outcomes[id] = { state: 'succeeded', at: Date.now() };
      }
      if (record.outcomes[id]?.state !== 'assigned') run.wake();
    }
  }

  private async save(record: RolloutRecord): Promise<void> {
    await writeJsonAtomic(this.rolloutPath(record.id), record);
  }
}

interface History {
  deployed: string | null;
  previous: string | null;
}

async function readHistory(dataDir: string, id: string): Promise<History | undefined> {
  const text = await readFile(join(dataDir, 'devices', id, 'history.json'), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as History);
}

async function writeHistory(dataDir: string, id: string, history: History): Promise<void> {
  await writeJsonAtomic(join(dataDir, 'devices', id, 'history.json'), history);
}
