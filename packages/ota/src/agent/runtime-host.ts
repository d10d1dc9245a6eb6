// The ModelHost that serves with the runtime (docs/ota-protocol.md §install 5-7, §watch): stage =
// Engine.open on the new bundle with the device profile (signature, warm-up, golden health check:
// a refusal carries the runtime's reason); activate = a hot swap between two frames, then a watch
// window on live frames; rollback = swap back to the engine kept warm. The host is itself the
// FrameInferer the device's Runner calls, so the loop never holds a stale engine and no frame is
// lost across a swap.
import { EventEmitter } from 'node:events';

import type { DeviceProfile, Manifest, Trust } from '@edgeloop/bundle';
import { Engine, EngineClosedError, HotSwapEngine, describeError } from '@edgeloop/runtime';
import type { EngineOptions, FrameInferer, ImageInput, InferOptions, InferResult, ProviderName, RuntimeTensor } from '@edgeloop/runtime';

import { WatchFailedError } from '../errors.js';
import type { HealthReport, ModelHost } from './model-host.js';

export interface WatchOptions {
  /** The window ends after this many frames served by the new model (default 20)… */
  frames?: number;
  /** …or after this long (default 10 s), whichever comes first. No frame at all in that time passes (nothing to judge). */
  ms?: number;
  /** Inference errors tolerated in the window (default 0). */
  maxErrors?: number;
}

export interface WatchReport {
  ok: boolean;
  model: { name: string; version: number; sha256: string };
  frames: number;
  errors: number;
  nanFrames: number;
  /** Median model inference latency in the window (ms), compared with the manifest's latencyBudgetMs. */
  latencyMsP50: number | null;
  latencyBudgetMs: number | null;
  reason?: string;
}

export interface RuntimeModelHostOptions {
  trust: Trust;
  /** Device profile (object, name in devices/, or path): execution providers and threads. */
  profile?: DeviceProfile | string;
  profilesDir?: string;
  /** Extra engine options (backend, warm-up runs, providers…). */
  engine?: Omit<EngineOptions, 'bundle' | 'trust' | 'profile' | 'profilesDir'>;
  /** The post-activation watch window; false: none (activation commits at once). */
  watch?: WatchOptions | false;
}

export interface RuntimeModelHostEvents {
  /** The model now serving (null: none). */
  serving: [Manifest | null];
  watch: [WatchReport];
}

interface Observation {
  engine: Engine;
  ok: boolean;
  nan: boolean;
  inferenceMs: number;
}

export class RuntimeModelHost extends EventEmitter<RuntimeModelHostEvents> implements ModelHost, FrameInferer {
  private hot: HotSwapEngine | undefined;
  private staged: { engine: Engine; path: string } | undefined;
  private servingPath: string | null = null;
  private previousPath: string | null = null;
  private observer: ((o: Observation) => void) | undefined;

  constructor(private readonly options: RuntimeModelHostOptions) {
    super();
  }

  private engineOptions(): Omit<EngineOptions, 'bundle'> {
    const { trust, profile, profilesDir, engine } = this.options;
    return { ...engine, trust, ...(profile !== undefined ? { profile } : {}), ...(profilesDir !== undefined ? { profilesDir } : {}) };
  }

  /** True while a model serves. */
  get serving(): boolean {
    return this.hot !== undefined;
  }

  /** The engine serving now. */
  get current(): Engine | undefined {
    return this.hot?.current;
  }

  get manifest(): Manifest {
    if (this.hot === undefined) throw new EngineClosedError('no model is serving');
    return this.hot.manifest;
  }

  get provider(): ProviderName {
    if (this.hot === undefined) throw new EngineClosedError('no model is serving');
    return this.hot.provider;
  }

  infer(frame: ImageInput, options?: InferOptions): Promise<InferResult> {
    const hot = this.hot;
    if (hot === undefined) return Promise.reject(new EngineClosedError('no model is serving'));
    // Picked synchronously, like HotSwapEngine.infer: a swap during this frame does not move it.
    const engine = hot.current;
    const pending = engine.infer(frame, options);
    const observer = this.observer;
    if (observer !== undefined) {
      pending.then(
        (result) => observer({ engine, ok: true, nan: hasNonFinite(result.outputs), inferenceMs: result.latencyMs.inference }),
        () => observer({ engine, ok: false, nan: false, inferenceMs: 0 }),
      );
    }
    return pending;
  }

  async load(bundlePath: string | null): Promise<void> {
    // The agent reloads the active slot after a failed activation; after a watch failure this host
    // already switched back to that very file, so there is nothing to reopen.
    if (bundlePath === this.servingPath && (bundlePath === null) === (this.hot === undefined)) return;
    if (bundlePath === null) {
      const hot = this.hot;
      this.hot = undefined;
      this.servingPath = null;
      await hot?.release();
      this.emit('serving', null);
      return;
    }
    const engine = await Engine.open({ ...this.engineOptions(), bundle: bundlePath });
    if (this.hot === undefined) this.hot = new HotSwapEngine(engine, this.engineOptions());
    else await this.hot.swap(engine);
    this.servingPath = bundlePath;
    this.emit('serving', engine.manifest);
  }

  async stage(bundlePath: string): Promise<HealthReport> {
    await this.staged?.engine.release();
    this.staged = undefined;
    let engine: Engine;
    try {
      engine = await Engine.open({ ...this.engineOptions(), bundle: bundlePath });
    } catch (error) {
      return { ok: false, checks: [{ name: 'engine.open', ok: false, detail: describeError(error) }] };
    }
    this.staged = { engine, path: bundlePath };
    const checks = engine.health.checks.map((c) => ({ name: `golden[${c.sample}].${c.output}`, ok: true, detail: `max abs diff ${c.maxAbsDiff.toExponential(2)}` }));
    return { ok: true, checks: [{ name: 'engine.open', ok: true, detail: `provider ${engine.provider}` }, ...checks] };
  }

  async activate(): Promise<void> {
    const staged = this.staged;
    if (staged === undefined) throw new Error('nothing staged to activate');
    this.staged = undefined;
    this.previousPath = this.servingPath;
    if (this.hot === undefined) this.hot = new HotSwapEngine(staged.engine, this.engineOptions());
    else await this.hot.swap(staged.engine);
    this.servingPath = staged.path;
    this.emit('serving', staged.engine.manifest);
    if (this.options.watch === false) return;
    const report = await this.watch(staged.engine, this.options.watch ?? {});
    this.emit('watch', report);
    if (!report.ok) {
      await this.rollback();
      throw new WatchFailedError(`watch window after activating ${report.model.name} v${report.model.version}: ${report.reason ?? 'failed'}`);
    }
  }

  async rollback(): Promise<void> {
    const hot = this.hot;
    if (hot === undefined) return;
    if (hot.previous !== undefined) {
      await hot.rollback();
      this.servingPath = this.previousPath;
      this.emit('serving', hot.manifest);
    } else {
      // The first model ever: back to serving nothing.
      this.hot = undefined;
      this.servingPath = null;
      await hot.release();
      this.emit('serving', null);
    }
    this.previousPath = null;
  }

  async close(): Promise<void> {
    this.observer = undefined;
    await this.staged?.engine.release();
    this.staged = undefined;
    const hot = this.hot;
    this.hot = undefined;
    await hot?.release();
  }

  /** Watches frames served by `engine` until the window closes or it misbehaves. */
  private watch(engine: Engine, options: WatchOptions): Promise<WatchReport> {
    const maxFrames = options.frames ?? 20;
    const maxMs = options.ms ?? 10_000;
    const maxErrors = options.maxErrors ?? 0;
    const budget = engine.manifest.latencyBudgetMs ?? null;
    const latencies: number[] = [];
    let frames = 0;
    let errors = 0;
    let nanFrames = 0;
    return new Promise<WatchReport>((resolve) => {
      const finish = (failure?: string): void => {
        clearTimeout(timer);
        this.observer = undefined;
        const p50 = latencies.length === 0 ? null : median(latencies);
        let reason = failure;
        if (reason === undefined && budget !== null && p50 !== null && p50 > budget) {
          reason = `inference latency p50 ${p50.toFixed(3)} ms over ${frames} frames exceeds the latency budget of ${budget} ms`;
        }
        resolve({
          ok: reason === undefined,
          model: { name: engine.manifest.name, version: engine.manifest.version, sha256: engine.bundle.fileSha256 },
          frames, errors, nanFrames, latencyMsP50: p50, latencyBudgetMs: budget,
          ...(reason !== undefined ? { reason } : {}),
        });
      };
      const timer = setTimeout(() => finish(), maxMs);
      this.observer = (o) => {
        if (o.engine !== engine) return; // a frame still finishing on the old model
        frames++;
        if (!o.ok) errors++;
        else latencies.push(o.inferenceMs);
        if (o.nan) nanFrames++;
        if (errors > maxErrors) return finish(`${errors} inference error(s) in ${frames} frames`);
        if (nanFrames > 0) return finish(`non-finite (NaN/Inf) outputs in ${nanFrames} of ${frames} frames`);
        if (frames >= maxFrames) finish();
      };
    });
  }
}

function hasNonFinite(outputs: Record<string, RuntimeTensor>): boolean {
  for (const tensor of Object.values(outputs)) {
    const data = tensor.data as ArrayLike<number> | BigInt64Array;
    if (!(data instanceof Float32Array || data instanceof Float64Array)) continue;
    for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return true;
  }
  return false;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
