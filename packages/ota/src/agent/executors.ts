// Executors for the planner's steps (docs/ota-protocol.md §install). Each step either completes
// or throws a named error after reporting it; the active slot is only touched by activate and
// rollback, through the atomic pointer switch.
import { isBundleError, openBundle } from '@edgeloop/bundle';
import type { TrustStore } from '@edgeloop/bundle';

import {
  ActivateFailedError, FileHashMismatchError, HealthcheckFailedError, ProfileMismatchError, VersionNotHigherError, isOtaError, reasonOf,
} from '../errors.js';
import type { DesiredBundle, InstallEvent, InstallPhase } from '../schemas.js';
import { discardDownload, downloadBundle } from '../transfer/downloader.js';
import type { ChunkTransport, DownloadControl, DownloadStats } from '../transfer/downloader.js';
import type { ModelHost } from './model-host.js';
import type { PersistedState, SlotContent, Step } from './planner.js';
import type { SlotStore } from './slots.js';

export interface ExecutorContext {
  slots: SlotStore;
  host: ModelHost;
  trust: TrustStore;
  profile: string;
  getPersisted(): PersistedState;
  setPersisted(next: PersistedState): Promise<void>;
  transport(): ChunkTransport;
  downloadTuning: { window?: number; requestTimeoutMs?: number; maxCorruptPerChunk?: number; flushEveryChunks?: number };
  onProgress(verified: number, total: number, sha256: string): void;
  onCorruptChunk(index: number, attempts: number): void;
  event(phase: InstallPhase, bundle: { sha256: string; version: number } | null, extra?: Pick<InstallEvent, 'reason' | 'stats'>): void;
}

/** Codes after which a bundle is refused for good (retrying cannot change the outcome). */
const PERMANENT = new Set([
  'VERSION_NOT_HIGHER', 'PROFILE_MISMATCH', 'FILE_HASH_MISMATCH', 'HEALTHCHECK_FAILED', 'ACTIVATE_FAILED', 'WATCH_FAILED',
  'SIGNATURE_INVALID', 'KEY_UNTRUSTED', 'MANIFEST_SCHEMA', 'MEMBER_HASH', 'BUNDLE_FORMAT', 'BUNDLE_SIZE', 'BUNDLE_UNSAFE_PATH',
  'TRANSFER_DESCRIPTOR',
]);

export class StepExecutors {
  lastDownloadStats: DownloadStats | undefined;
  private downloadControl: DownloadControl | undefined;
  private verified: SlotContent | undefined;
  /** The host activated the current, not yet committed trial (rollback then returns to the previous model it kept warm). */
  private activatedHere = false;
  /** Why the last live activation failed (the rollback event carries it). */
  private activateFailure: { code: string; message: string } | undefined;

  constructor(private readonly ctx: ExecutorContext) {}

  /** Tells a download in progress that the server answers again (see DownloadControl.serverReady). */
  serverReady(): void {
    this.downloadControl?.serverReady();
  }

  isPermanent(error: unknown): boolean {
    return PERMANENT.has(reasonOf(error).code);
  }

  /**
   * Runs one step. `path` carries the downloaded file from download to verify and stage; the
   * return value is the path for the next step. `live` is false during start-up recovery, before
   * the host serves anything.
   */
  async run(step: Step, path: string | undefined, live: boolean, signal?: AbortSignal): Promise<string | undefined> {
    switch (step.kind) {
      case 'download':
        return this.download(step.bundle, step, signal);
      case 'verify':
        return this.verify(step.bundle, requirePath(path));
      case 'stage':
        return this.stage(step.bundle, step.slot, requirePath(path));
      case 'healthcheck':
        await this.healthcheck(step.bundle, step.slot);
        return this.ctx.slots.bundlePath(step.slot);
      case 'activate':
        await this.activate(step.bundle, step.slot);
        return undefined;
      case 'rollback':
        await this.rollback(step, live);
        return undefined;
    }
  }

  private async download(bundle: DesiredBundle, step: Extract<Step, { kind: 'download' }>, signal?: AbortSignal): Promise<string> {
    const { ctx } = this;
    ctx.event('download-started', bundle);
    try {
      const result = await downloadBundle({
        dir: ctx.slots.downloadsDir,
        bundle,
        transfer: step.transfer,
        transport: ctx.transport(),
        ...ctx.downloadTuning,
        signal,
        onProgress: (verified, total) => ctx.onProgress(verified, total, bundle.sha256),
        onCorruptChunk: (index, attempts) => ctx.onCorruptChunk(index, attempts),
        onControl: (control) => (this.downloadControl = control),
      });
      this.downloadControl = undefined;
      this.lastDownloadStats = result.stats;
      const { stats } = result;
      ctx.event('downloaded', bundle, {
        stats: {
          bytes: bundle.size, seconds: stats.seconds, resumedChunks: stats.resumedChunks, resumedBytes: stats.resumedBytes, bytesReceived: stats.bytesReceived,
          refetchedBytes: stats.refetchedBytes, corruptChunks: stats.corruptChunks, timeouts: stats.timeouts,
        },
      });
      return result.path;
    } catch (error) {
      this.downloadControl = undefined;
      if (isOtaError(error, 'DOWNLOAD_ABORTED')) throw error;
      const code = reasonOf(error).code;
      // A partial that cannot be right (descriptor mismatch) or that fills the disk is dropped.
      if (code === 'FILE_HASH_MISMATCH' || code === 'DISK_FULL' || code === 'TRANSFER_DESCRIPTOR') {
        await discardDownload(ctx.slots.downloadsDir, bundle.sha256).catch(() => undefined);
      }
      await this.report('failed', bundle, error);
      throw error;
    }
  }

  private async verify(bundle: DesiredBundle, path: string): Promise<string> {
    const { ctx } = this;
    try {
      const opened = await openBundle(path, { trust: ctx.trust });
      if (opened.fileSha256 !== bundle.sha256) throw new FileHashMismatchError(bundle.sha256, opened.fileSha256);
      const { version, targetProfile } = opened.manifest;
      const highest = ctx.getPersisted().highestAccepted;
      if (version <= highest) throw new VersionNotHigherError(version, highest);
      if (targetProfile !== ctx.profile) throw new ProfileMismatchError(targetProfile, ctx.profile);
      this.verified = { sha256: bundle.sha256, version, targetProfile };
      ctx.event('verified', { sha256: bundle.sha256, version });
      return path;
    } catch (error) {
      await discardDownload(ctx.slots.downloadsDir, bundle.sha256).catch(() => undefined);
      await this.report('rejected', bundle, error);
      throw error;
    }
  }

  private async stage(bundle: DesiredBundle, slot: 'a' | 'b', path: string): Promise<string> {
    const content = this.verified?.sha256 === bundle.sha256 ? this.verified : undefined;
    if (content === undefined) throw new Error('stage without a verified bundle');
    const target = await this.ctx.slots.stage(slot, path, content);
    await discardDownload(this.ctx.slots.downloadsDir, bundle.sha256);
    this.ctx.event('staged', { sha256: bundle.sha256, version: content.version });
    return target;
  }

  private async healthcheck(bundle: DesiredBundle, slot: 'a' | 'b'): Promise<void> {
    const { ctx } = this;
    const content = await ctx.slots.readSlot(slot);
    const ref = { sha256: bundle.sha256, version: content?.version ?? bundle.version };
    try {
      if (content === null || content.sha256 !== bundle.sha256) throw new HealthcheckFailedError(`slot ${slot} does not hold bundle ${bundle.sha256.slice(0, 12)}…`);
      const report = await ctx.host.stage(ctx.slots.bundlePath(slot));
      if (!report.ok) {
        const failed = report.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail ?? 'failed'}`);
        throw new HealthcheckFailedError(`health check failed: ${failed.join('; ')}`);
      }
      ctx.event('healthy', ref);
    } catch (error) {
      await this.report('failed', ref, error);
      throw error;
    }
  }

  private async activate(bundle: DesiredBundle, slot: 'a' | 'b'): Promise<void> {
    const { ctx } = this;
    const content = await ctx.slots.readSlot(slot);
    const version = content?.version ?? bundle.version;
    const from = await ctx.slots.readPointer();
    const before = ctx.getPersisted();
    // The trial is durable before the pointer moves: a kill from here on is undone at restart.
    await ctx.setPersisted({ ...before, trial: { from, to: slot, sha256: bundle.sha256 } });
    this.activatedHere = false;
    try {
      await ctx.slots.writePointer(slot);
      await ctx.host.activate();
      this.activatedHere = true;
    } catch (error) {
      // A watch-window failure (the host activated, watched and already switched back) keeps its own code.
      const failure = isOtaError(error, 'WATCH_FAILED') ? error : new ActivateFailedError(`activation of slot ${slot} failed: ${reasonOf(error).message}`, { cause: error });
      this.activateFailure = reasonOf(failure);
      await this.report('failed', { sha256: bundle.sha256, version }, failure);
      throw failure;
    }
    await ctx.setPersisted({ ...ctx.getPersisted(), highestAccepted: Math.max(before.highestAccepted, version), trial: null });
    this.activatedHere = false;
    ctx.event('activated', { sha256: bundle.sha256, version });
  }

  private async rollback(step: Extract<Step, { kind: 'rollback' }>, live: boolean): Promise<void> {
    const { ctx } = this;
    const failed = await ctx.slots.readSlot(step.from);
    await ctx.slots.writePointer(step.to);
    if (live) {
      if (this.activatedHere) await ctx.host.rollback();
      else await ctx.host.load(step.to === null ? null : ctx.slots.bundlePath(step.to));
    }
    const persisted = ctx.getPersisted();
    // Live: the activation failed in this process. At start-up: a kill interrupted it.
    const reason = live ? (this.activateFailure ?? { code: 'ACTIVATE_FAILED', message: step.reason }) : { code: 'INTERRUPTED_ACTIVATION', message: step.reason };
    await ctx.setPersisted({ ...persisted, trial: null, refused: [...persisted.refused, { sha256: step.sha256, code: reason.code }] });
    this.activatedHere = false;
    this.activateFailure = undefined;
    ctx.event('rolled-back', { sha256: step.sha256, version: failed?.version ?? 0 }, { reason });
  }

  /** Reports a failure; permanent ones put the bundle on the refused list. */
  private async report(phase: InstallPhase, bundle: { sha256: string; version: number }, error: unknown): Promise<void> {
    const reason = reasonOf(error);
    if (isBundleError(error) || this.isPermanent(error)) {
      const persisted = this.ctx.getPersisted();
      if (!persisted.refused.some((r) => r.sha256 === bundle.sha256)) {
        await this.ctx.setPersisted({ ...persisted, refused: [...persisted.refused, { sha256: bundle.sha256, code: reason.code }] });
      }
    }
    this.ctx.event(phase, bundle, { reason });
  }
}

function requirePath(path: string | undefined): string {
  if (path === undefined) throw new Error('step needs the file of the previous step');
  return path;
}
