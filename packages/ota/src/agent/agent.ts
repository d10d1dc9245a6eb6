// The device agent: keeps the MQTT session, follows the retained desired state, and runs the
// planner's steps with the executors in executors.ts (docs/ota-protocol.md §install). The model
// host keeps serving the active model until an activation succeeds.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';

import type { TrustStore } from '@edgeloop/bundle';
import { SampleSpool } from '@edgeloop/runtime';
import type { SampleInput } from '@edgeloop/runtime';

import { backoffDelay } from '@edgeloop/runtime';
import { isOtaError, reasonOf } from '../errors.js';
import { DropCounter, DesiredStateSchema, decodeJson, encodeJson } from '../schemas.js';
import type { DesiredState, DeviceStatus, InstallEvent, InstallPhase, Phase, ReportedState, SampleAck, SampleHeader, SlotName, Telemetry } from '../schemas.js';
import { assertDeviceId, deviceTopic } from '../topics.js';
import type { DownloadStats } from '../transfer/downloader.js';
import { StepExecutors } from './executors.js';
import type { ModelHost } from './model-host.js';
import { MqttLink, mqttChunkTransport } from './mqtt-transport.js';
import { admission, planSteps } from './planner.js';
import type { PersistedState, Step } from './planner.js';
import { SampleUploader, sampleHeaderOf } from './sample-uploader.js';
import { SlotStore } from './slots.js';

export const AGENT_VERSION = '0.1.0';

/** Bounds of the device's field-sample spool (the runtime's SampleSpool, oldest evicted first). */
export interface SpoolLimits {
  /** Most samples kept (default 1000). */
  maxSamples?: number;
  /** Most bytes of images and metadata kept (default 256 MiB). */
  maxBytes?: number;
}

export interface DeviceAgentOptions {
  dataDir: string;
  deviceId: string;
  /** Device profile name (devices/<name>.json); bundles for other profiles are refused. */
  profile: string;
  trust: TrustStore;
  host: ModelHost;
  broker: { url: string; username?: string; password: string; ca?: string | Buffer };
  /** Download tuning (see DownloadOptions). */
  window?: number;
  requestTimeoutMs?: number;
  maxCorruptPerChunk?: number;
  flushEveryChunks?: number;
  /** Bounds of the field-sample spool. */
  spool?: SpoolLimits;
  /** Re-send a sample upload not acknowledged within this time (default 15 s). */
  sampleAckTimeoutMs?: number;
}

export interface AgentEvents {
  event: [InstallEvent];
  state: [ReportedState];
  'chunk-corrupt': [index: number, attempts: number];
  progress: [verified: number, total: number];
  /** `removed`: false when the spool had already evicted the sample (it is on the server all the same). */
  'sample-acked': [SampleAck, removed: boolean];
  /** Connected and subscribed to the device's desired state (after every (re)connect). */
  online: [];
}

export class DeviceAgent extends EventEmitter<AgentEvents> {
  readonly slots: SlotStore;
  private spoolRef: SampleSpool | undefined;
  private readonly uploader: SampleUploader;
  /** Messages received and dropped (malformed desired states…), by reason. */
  readonly dropped = new DropCounter();
  private isOnline = false;
  private link: MqttLink | undefined;
  private executors!: StepExecutors;
  private desired: DesiredState | null = null;
  private persisted: PersistedState = { highestAccepted: -1, trial: null, refused: [] };
  private phase: Phase = 'idle';
  private download: ReportedState['download'];
  private lastError: ReportedState['lastError'];
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private abort: AbortController | null = null;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private lastRejected: string | null = null;
  /** Stats of the last finished download. */
  lastDownload: DownloadStats | undefined;

  constructor(readonly options: DeviceAgentOptions) {
    super();
    assertDeviceId(options.deviceId);
    this.slots = new SlotStore(options.dataDir);
    this.uploader = new SampleUploader(() => this.spoolRef, () => this.link, options.deviceId, {
      ackTimeoutMs: options.sampleAckTimeoutMs,
      onAck: (ack, removed) => this.emit('sample-acked', ack, removed),
    });
  }

  /**
   * The field-sample spool (`<dataDir>/spool`, the runtime's SampleSpool): the runtime's Runner
   * writes chosen frames into it; the agent uploads them and deletes each after the server's ack.
   */
  get spool(): SampleSpool {
    if (this.spoolRef === undefined) throw new Error('agent not started');
    return this.spoolRef;
  }

  /** Tells the uploader that the spool has something new (the runtime's Runner calls it after spooling). */
  samplesAdded(): void {
    this.uploader.kick();
  }

  /**
   * Spools a field sample durably (JPEG kept as is, other images re-encoded); it is uploaded when
   * connected and deleted after the server's ack. Null when the spool could not store it.
   */
  async spoolSample(image: SampleInput['image'], sample: Partial<Omit<SampleInput, 'image'>> = {}): Promise<SampleHeader | null> {
    const added = await this.spool.add({ image, model: sample.model ?? { name: 'unknown', version: 0 }, reasons: sample.reasons ?? [], prediction: sample.prediction ?? null, ...(sample.frame ? { frame: sample.frame } : {}) });
    if (!added.stored) return null;
    const stored = await this.spool.read(added.id);
    this.uploader.kick();
    return sampleHeaderOf(stored.meta, stored.image);
  }

  /** Recovers an interrupted activation, starts serving the active slot, then connects. */
  async start(): Promise<void> {
    await this.slots.init();
    this.spoolRef = await SampleSpool.open({ dir: join(this.options.dataDir, 'spool'), maxCount: this.options.spool?.maxSamples ?? 1000, maxBytes: this.options.spool?.maxBytes ?? 256 * 1024 * 1024 });
    this.persisted = await this.slots.readPersisted();
    this.executors = new StepExecutors({
      slots: this.slots,
      host: this.options.host,
      trust: this.options.trust,
      profile: this.options.profile,
      getPersisted: () => this.persisted,
      setPersisted: async (next) => {
        this.persisted = next;
        await this.slots.writePersisted(next);
      },
      transport: () => mqttChunkTransport(this.requireLink(), this.options.deviceId),
      downloadTuning: {
        window: this.options.window,
        requestTimeoutMs: this.options.requestTimeoutMs,
        maxCorruptPerChunk: this.options.maxCorruptPerChunk,
        flushEveryChunks: this.options.flushEveryChunks,
      },
      onProgress: (verified, total, sha256) => {
        this.download = { sha256, verifiedChunks: verified, totalChunks: total };
        this.emit('progress', verified, total);
      },
      onCorruptChunk: (index, attempts) => this.emit('chunk-corrupt', index, attempts),
      event: (phase, bundle, extra) => this.publishEvent(phase, bundle, extra),
    });
    // A trial left by a crash is undone before anything serves (§install 7).
    const recovery = planSteps(await this.slots.snapshot(this.options.profile), null, this.persisted);
    for (const step of recovery) await this.executors.run(step, undefined, false);
    const active = await this.slots.readPointer();
    await this.options.host.load(active === null ? null : this.slots.bundlePath(active));

    const { deviceId } = this.options;
    const offline: DeviceStatus = { v: 1, online: false };
    const link = new MqttLink({
      url: this.options.broker.url,
      clientId: deviceId,
      username: this.options.broker.username ?? deviceId,
      password: this.options.broker.password,
      ca: this.options.broker.ca,
      will: { topic: deviceTopic(deviceId, 'status'), payload: encodeJson(offline), qos: 1, retain: true },
    });
    this.link = link;
    link.route(deviceTopic(deviceId, 'desired'), (_topic, payload) => this.onDesired(payload));
    link.route(deviceTopic(deviceId, 'samples/ack'), (_topic, payload) => this.uploader.onAck(payload));
    link.onConnectionChange((connected) => {
      if (connected) this.onConnected().catch(() => undefined);
      else {
        this.isOnline = false;
        this.uploader.onDisconnect();
      }
    });
  }

  /** True while connected and subscribed to the desired state. */
  get online(): boolean {
    return this.isOnline;
  }

  private requireLink(): MqttLink {
    if (this.link === undefined) throw new Error('agent not started');
    return this.link;
  }

  private async onConnected(): Promise<void> {
    const link = this.requireLink();
    const status: DeviceStatus = { v: 1, online: true, ts: new Date().toISOString(), agent: AGENT_VERSION };
    await link.publish(deviceTopic(this.options.deviceId, 'status'), encodeJson(status), { qos: 1, retain: true });
    await link.subscribe([deviceTopic(this.options.deviceId, 'desired'), deviceTopic(this.options.deviceId, 'samples/ack')], 1);
    this.isOnline = link.connected;
    if (this.isOnline) this.emit('online');
    await this.publishState();
    this.uploader.kick();
  }

  private onDesired(payload: Buffer): void {
    if (payload.byteLength === 0) return; // retained message cleared
    const decoded = decodeJson(DesiredStateSchema, payload, 'desired');
    if (!decoded.ok) {
      this.dropped.count(decoded.reason);
      return;
    }
    const previous = this.desired?.bundle?.sha256;
    this.desired = decoded.value;
    // A desired state after a reconnect (retained, or re-published by a reconnecting server,
    // §recovery) means the server is there: a held download may request again.
    this.executors.serverReady();
    if (decoded.value.bundle?.sha256 !== previous && this.abort !== null) {
      // A newer desired state supersedes a download in progress.
      this.abort.abort();
    }
    this.reconcile();
  }

  /** Runs the planner until it returns no steps; at most one reconcile runs at a time. */
  private reconcile(): void {
    if (this.stopped) return;
    if (this.running !== null) {
      this.again = true;
      return;
    }
    this.running = this.reconcileLoop().finally(() => {
      this.running = null;
      if (this.again && !this.stopped) {
        this.again = false;
        this.reconcile();
      }
    });
  }

  private async reconcileLoop(): Promise<void> {
    for (let round = 0; round < 8 && !this.stopped; round++) {
      this.again = false;
      const desired = this.desired;
      const snapshot = await this.slots.snapshot(this.options.profile);
      const rejection = desired === null ? null : admission(snapshot, desired, this.persisted);
      if (rejection !== null && desired?.bundle != null) {
        // Report a refusal once per bundle, not on every reconnect.
        if (this.lastRejected !== desired.bundle.sha256) {
          this.lastRejected = desired.bundle.sha256;
          // A bundle refused before is reported once per agent start with its original reason, so
          // a rollout learns at once that this device will not take it (§rollout).
          const sha = desired.bundle.sha256;
          const original = rejection.code === 'REFUSED_BEFORE' ? this.persisted.refused.find((r) => r.sha256 === sha)?.code : undefined;
          this.lastError = { code: original ?? rejection.code, message: rejection.message };
          this.publishEvent('rejected', desired.bundle, { reason: this.lastError });
          await this.publishState();
        }
        return;
      }
      const steps = planSteps(snapshot, desired, this.persisted);
      if (steps.length === 0) {
        await this.setPhase('idle');
        return;
      }
      const ok = await this.runSteps(steps, desired);
      if (!ok) return;
    }
  }

  /** Runs steps in order; false when one failed (reported) or the desired state changed. */
  private async runSteps(steps: Step[], desired: DesiredState | null): Promise<boolean> {
    let downloadedPath: string | undefined;
    for (const step of steps) {
      if (this.stopped) return false;
      // Re-plan when the desired bundle changed (a re-published identical desired state changes nothing).
      if (desired?.bundle?.sha256 !== this.desired?.bundle?.sha256 && step.kind !== 'rollback') return true;
      await this.setPhase(phaseOf(step));
      this.abort = new AbortController();
      try {
        downloadedPath = await this.executors.run(step, downloadedPath, true, this.abort.signal);
        if (step.kind === 'download') this.lastDownload = this.executors.lastDownloadStats;
        if (step.kind === 'activate') {
          this.failures = 0;
          this.lastError = undefined;
          this.download = undefined;
        }
      } catch (error) {
        if (this.stopped || isOtaError(error, 'DOWNLOAD_ABORTED')) return false;
        this.lastError = reasonOf(error);
        this.download = undefined;
        await this.setPhase('idle');
        if (!this.executors.isPermanent(error)) this.scheduleRetry();
        // A failed activation leaves a trial; the next round's plan rolls it back.
        return this.persisted.trial !== null;
      } finally {
        this.abort = null;
      }
    }
    return true;
  }

  private scheduleRetry(): void {
    clearTimeout(this.retryTimer);
    const delay = backoffDelay(this.failures++, { baseMs: 500, maxMs: 60_000 });
    this.retryTimer = setTimeout(() => this.reconcile(), delay);
  }

  private async setPhase(phase: Phase): Promise<void> {
    if (this.phase === phase) return;
    this.phase = phase;
    await this.publishState();
  }

  async reportedState(): Promise<ReportedState> {
    const snapshot = await this.slots.snapshot(this.options.profile);
    const active = snapshot.activeSlot === null ? null : snapshot.slots[snapshot.activeSlot];
    const state: ReportedState = {
      v: 1,
      ts: new Date().toISOString(),
      profile: this.options.profile,
      activeSlot: snapshot.activeSlot,
      active: active === null ? null : { sha256: active.sha256, version: active.version },
      highestAccepted: this.persisted.highestAccepted,
      phase: this.phase,
    };
    if (this.download !== undefined) state.download = this.download;
    if (this.lastError !== undefined) state.lastError = this.lastError;
    return state;
  }

  private async publishState(): Promise<void> {
    const state = await this.reportedState();
    this.emit('state', state);
    const link = this.link;
    if (link === undefined || !link.connected) return;
    await link.publish(deviceTopic(this.options.deviceId, 'state'), encodeJson(state), { qos: 1, retain: true }).catch(() => undefined);
  }

  private publishEvent(phase: InstallPhase, bundle: { sha256: string; version: number } | null, extra: Pick<InstallEvent, 'reason' | 'stats'> = {}): void {
    const event: InstallEvent = {
      v: 1,
      id: randomUUID(),
      ts: new Date().toISOString(),
      bundle: bundle?.sha256 ?? null,
      version: bundle?.version ?? null,
      phase,
      ...extra,
    };
    this.emit('event', event);
    const link = this.link;
    if (link === undefined) return;
    // QoS 1: mqtt.js queues it while offline and sends it after reconnecting.
    link.publish(deviceTopic(this.options.deviceId, 'events'), encodeJson(event), { qos: 1 }).catch(() => undefined);
  }

  /** Publishes §telemetry (QoS 0, dropped while offline). */
  async publishTelemetry(metrics: Record<string, number>): Promise<void> {
    const link = this.link;
    if (link === undefined || !link.connected) return;
    const telemetry: Telemetry = { v: 1, ts: new Date().toISOString(), metrics };
    await link.publish(deviceTopic(this.options.deviceId, 'telemetry'), encodeJson(telemetry), { qos: 0 });
  }

  /** Graceful stop: aborts a download (its bitmap is flushed), marks the device offline, disconnects. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.abort?.abort();
    this.uploader.close();
    await this.running?.catch(() => undefined);
    const link = this.link;
    if (link !== undefined) {
      if (link.connected) {
        const offline: DeviceStatus = { v: 1, online: false, ts: new Date().toISOString() };
        await link.publish(deviceTopic(this.options.deviceId, 'status'), encodeJson(offline), { qos: 1, retain: true }).catch(() => undefined);
      }
      await link.close(!link.connected);
    }
    this.link = undefined;
  }
}

function phaseOf(step: Step): Phase {
  switch (step.kind) {
    case 'download':
      return 'downloading';
    case 'verify':
      return 'verifying';
    case 'stage':
      return 'staging';
    case 'healthcheck':
      return 'healthcheck';
    case 'activate':
      return 'activating';
    case 'rollback':
      return 'rolling-back';
  }
}

export type { SlotName };
