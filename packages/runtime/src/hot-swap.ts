// Model updates without stopping the camera loop. The new bundle is opened next to the running
// one (verified, warmed up and health-checked by Engine.open while frames keep flowing), then the
// pointer is switched between two frames: each infer call picks its engine synchronously when it
// starts, so frames already in flight finish on the old session and no frame is lost or run
// twice. The old engine stays open for an instant rollback until the next swap replaces it.

import { EventEmitter } from 'node:events';

import type { Manifest, OpenedBundle } from '@edgeloop/bundle';

import type { ProviderName, RuntimeTensor } from './backend.js';
import { Engine, type EngineOptions, type FrameInferer, type InferOptions, type InferResult } from './engine.js';
import { HotSwapError } from './errors.js';
import type { HealthReport } from './golden.js';
import type { ImageInput } from './preprocess.js';

export interface ModelRef {
  name: string;
  version: number;
  fileSha256: string;
}

export interface SwapEvent {
  from: ModelRef;
  to: ModelRef;
  health: HealthReport;
  provider: ProviderName;
  /** Time to open, warm up and health-check the new bundle (frames kept flowing meanwhile). */
  loadMs: number;
}

export interface RollbackEvent {
  from: ModelRef;
  to: ModelRef;
}

export interface HotSwapEvents {
  swap: [SwapEvent];
  rollback: [RollbackEvent];
}

export interface HotSwapOptions {
  /** Keep the replaced engine open for rollback (default true; false frees it once its frames finish). */
  keepPrevious?: boolean;
}

function refOf(engine: Engine): ModelRef {
  return { name: engine.manifest.name, version: engine.manifest.version, fileSha256: engine.bundle.fileSha256 };
}

export class HotSwapEngine extends EventEmitter<HotSwapEvents> implements FrameInferer {
  readonly #defaults: Omit<EngineOptions, 'bundle'>;
  readonly #keepPrevious: boolean;
  #current: Engine;
  #previous: Engine | undefined;
  #busy = false;
  #closed = false;

  /** `defaults` (trust, profile, backend, ...) apply to every bundle loaded by `swap`. */
  constructor(engine: Engine, defaults: Omit<EngineOptions, 'bundle'> = {}, options: HotSwapOptions = {}) {
    super();
    this.#current = engine;
    this.#defaults = defaults;
    this.#keepPrevious = options.keepPrevious ?? true;
  }

  static async open(options: EngineOptions, hotSwapOptions: HotSwapOptions = {}): Promise<HotSwapEngine> {
    const { bundle: _bundle, ...defaults } = options;
    return new HotSwapEngine(await Engine.open(options), defaults, hotSwapOptions);
  }

  get current(): Engine {
    return this.#current;
  }

  get previous(): Engine | undefined {
    return this.#previous;
  }

  get manifest(): Manifest {
    return this.#current.manifest;
  }

  get provider(): ProviderName {
    return this.#current.provider;
  }

  infer(frame: ImageInput, options?: InferOptions): Promise<InferResult> {
    // The engine is chosen here, synchronously: a swap that lands while this frame is being
    // processed does not move it, and the old engine's release waits for it.
    return this.#current.infer(frame, options);
  }

  /** `Engine.inferTensor` on the current engine, chosen the same way. */
  inferTensor(tensor: RuntimeTensor, options?: InferOptions): Promise<InferResult> {
    return this.#current.inferTensor(tensor, options);
  }

  /**
   * Loads `next` (path, opened bundle, or an Engine already opened), health-checks it and makes it
   * current. A bundle that fails to open or fails its health check throws and changes nothing.
   */
  async swap(next: string | OpenedBundle | Engine, options: Partial<EngineOptions> = {}): Promise<SwapEvent> {
    this.#enter('swap');
    try {
      const start = performance.now();
      const engine = next instanceof Engine ? next : await Engine.open({ ...this.#defaults, ...options, bundle: next });
      const loadMs = performance.now() - start;
      if (this.#closed) {
        await engine.release();
        throw new HotSwapError('the hot-swap engine was closed during the swap');
      }
      const old = this.#current;
      const dropped = this.#previous;
      // The switch itself: one assignment between two frames.
      this.#current = engine;
      this.#previous = this.#keepPrevious ? old : undefined;
      const event: SwapEvent = { from: refOf(old), to: refOf(engine), health: engine.health, provider: engine.provider, loadMs };
      this.emit('swap', event);
      await dropped?.release();
      if (!this.#keepPrevious) await old.release();
      return event;
    } finally {
      this.#busy = false;
    }
  }

  /** Switches back to the engine the last swap replaced and frees the one rolled back from. */
  async rollback(): Promise<RollbackEvent> {
    this.#enter('rollback');
    try {
      const previous = this.#previous;
      if (previous === undefined) throw new HotSwapError('nothing to roll back to (no previous engine kept)');
      const bad = this.#current;
      this.#current = previous;
      this.#previous = undefined;
      const event: RollbackEvent = { from: refOf(bad), to: refOf(previous) };
      this.emit('rollback', event);
      await bad.release();
      return event;
    } finally {
      this.#busy = false;
    }
  }

  /** Frees the previous engine now (e.g. once the new model has proven itself). */
  async commit(): Promise<void> {
    const previous = this.#previous;
    this.#previous = undefined;
    await previous?.release();
  }

  async release(): Promise<void> {
    this.#closed = true;
    await Promise.all([this.#current.release(), this.#previous?.release()]);
  }

  #enter(what: string): void {
    if (this.#closed) throw new HotSwapError(`cannot ${what}: the hot-swap engine is closed`);
    if (this.#busy) throw new HotSwapError(`cannot ${what}: a swap or rollback is already in progress`);
    this.#busy = true;
  }
}
