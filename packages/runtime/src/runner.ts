// The device's inference loop: source -> preprocess -> infer -> postprocess -> sampler/spool ->
// metrics. Batch 1, pipelined two deep by default: the next frame decodes while the current one is
// in onnxruntime, and frames are collected strictly in source order (latest-frame semantics for
// live sources, so latency stays bounded when the model is slower than the camera). Bad frames (zero bytes, truncated, corrupt)
// are counted and skipped; sampling and spooling run beside the loop, never in its way, and never
// take it down.

import type { DriftMonitor, DriftReport } from './drift.js';
import type { FrameInferer, InferOptions, InferResult } from './engine.js';
import { ImageDecodeError, InferenceError, describeError } from './errors.js';
import { RuntimeMetrics, type MetricsSnapshot } from './metrics.js';
import { summarizePrediction, uncertaintyOf } from './prediction.js';
import type { FieldSampler, SampleDecision } from './sampler.js';
import { frameToImage, type Frame, type FrameSource } from './sources/frame.js';
import { LatestFrameSource } from './sources/latest.js';
import { RestartingSource } from './sources/restart.js';
import type { SampleSpool } from './spool.js';

export interface FrameInfo {
  seq: number;
  timestamp: number;
  width?: number;
  height?: number;
  origin?: string;
  bytes: number;
}

export type FrameOutcome =
  | { status: 'ok'; frame: FrameInfo; result: InferResult }
  | { status: 'skipped'; frame: FrameInfo; reason: 'empty' | 'decode' | 'inference'; error: string };

export interface SampleOutcome {
  frame: FrameInfo;
  decision: SampleDecision;
  /** Spool id when stored. */
  spooled?: string;
  spoolError?: string;
}

export interface RunSummary extends MetricsSnapshot {
  /** Frames the source delivered to the loop (inferred + skipped). */
  received: number;
  skipped: { empty: number; decode: number; inference: number };
  elapsedMs: number;
  drift?: DriftReport;
  done: boolean;
}

export interface RunnerOptions {
  engine: FrameInferer;
  source: FrameSource;
  /** Process the newest frame when inference is slower than the source (default: source.live). */
  latestFrame?: boolean;
  sampler?: FieldSampler;
  spool?: SampleSpool;
  drift?: DriftMonitor;
  metrics?: RuntimeMetrics;
  onFrame?: (outcome: FrameOutcome) => void;
  onSample?: (outcome: SampleOutcome) => void;
  onSummary?: (summary: RunSummary) => void;
  onDrift?: (report: DriftReport, state: 'drift' | 'recovered') => void;
  /** Periodic summaries every this many ms (default 10 s; 0 disables). */
  summaryIntervalMs?: number;
  /** Stop after this many frames received. */
  maxFrames?: number;
  /** Give up (throw) after this many inference failures in a row (default 50); decode errors never stop the loop. */
  maxConsecutiveInferenceErrors?: number;
  /**
   * Frames handed to the engine before the oldest is collected (default 2): frame N+1 is decoded
   * (sharp, libuv threads) while frame N runs in onnxruntime. Results are still taken in order. 1
   * runs one frame at a time. With latest-frame semantics a frame waits at most this many frames.
   */
  pipelineDepth?: number;
  /** Sampling work (hash + spool write) allowed in flight beside the loop (default 4); beyond it frames are not sampled. */
  maxPendingSamples?: number;
  signal?: AbortSignal;
}

interface InFlightFrame {
  frame: Frame;
  info: FrameInfo;
  /** undefined for a zero-byte frame (never sent to the engine). */
  result: Promise<InferResult> | undefined;
}

export class Runner {
  readonly metrics: RuntimeMetrics;
  readonly #options: RunnerOptions;
  readonly #source: FrameSource;
  readonly #pendingSamples = new Set<Promise<void>>();
  #received = 0;
  #skipped = { empty: 0, decode: 0, inference: 0 };
  #started = 0;
  #lastDropped = 0;
  #lastRestarts = 0;
  #modelKey = '';
  #done = false;
  readonly #inferOptions: InferOptions;

  constructor(options: RunnerOptions) {
    this.#options = options;
    this.metrics = options.metrics ?? new RuntimeMetrics();
    const latest = options.latestFrame ?? options.source.live;
    this.#source = latest && !(options.source instanceof LatestFrameSource) ? new LatestFrameSource(options.source) : options.source;
    this.#inferOptions = options.drift ? { onInput: (tensor) => this.#observeInput(tensor.data as ArrayLike<number>) } : {};
    if (options.drift && options.onDrift) {
      const onDrift = options.onDrift;
      options.drift.on('drift', (report) => onDrift(report, 'drift'));
      options.drift.on('recovered', (report) => onDrift(report, 'recovered'));
    }
  }

  get source(): FrameSource {
    return this.#source;
  }

  async run(): Promise<RunSummary> {
    const { engine, signal } = this.#options;
    this.#started = performance.now();
    this.#noteModel(engine.manifest.name, engine.manifest.version, engine.provider);
    if (this.#options.spool) this.metrics.setSpool(this.#options.spool.stats);
    const onAbort = (): void => {
      void this.#source.close();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const interval = this.#options.summaryIntervalMs ?? 10_000;
    const timer = interval > 0 && this.#options.onSummary ? setInterval(() => this.#options.onSummary?.(this.summary()), interval) : undefined;
    timer?.unref();
    let consecutiveFailures = 0;
    const maxFailures = this.#options.maxConsecutiveInferenceErrors ?? 50;
    const depth = Math.max(1, Math.floor(this.#options.pipelineDepth ?? 2));
    // Frames started and not yet finished, oldest first. They finish strictly in this order, so
    // callbacks, metrics, drift and sampling see frames in source order whatever the depth.
    const window: InFlightFrame[] = [];
    const finishOldest = async (): Promise<void> => {
      const failed = await this.#finishFrame(window.shift()!);
      consecutiveFailures = failed ? consecutiveFailures + 1 : 0;
      if (consecutiveFailures >= maxFailures) {
        throw new InferenceError(`${consecutiveFailures} frames in a row failed to infer; last: ${this.#lastInferenceError}`);
      }
    };
    try {
      if (signal?.aborted) return this.summary();
      for await (const frame of this.#source) {
        this.#received++;
        this.#syncSourceStats();
        window.push(this.#startFrame(frame));
        // Decode of the frame just started overlaps the session run of the one before it; wait
        // for the oldest only once `depth` frames are in flight, so at most that many are held.
        while (window.length >= depth) await finishOldest();
        if (signal?.aborted) break;
        if (this.#options.maxFrames !== undefined && this.#received >= this.#options.maxFrames) break;
      }
      // Frames already taken from the source are finished, not lost, when it ends or we stop.
      while (window.length > 0) await finishOldest();
    } finally {
      // Only reached with frames left on an error: let them settle before the engine goes away.
      await Promise.allSettled(window.flatMap((f) => (f.result ? [f.result] : [])));
      signal?.removeEventListener('abort', onAbort);
      if (timer) clearInterval(timer);
      await this.#source.close();
      await Promise.allSettled([...this.#pendingSamples]);
      this.#syncSourceStats();
      this.#done = true;
    }
    return this.summary();
  }

  #lastInferenceError = '';

  /** Hands the frame to the engine (it starts decoding at once); `#finishFrame` collects it. */
  #startFrame(frame: Frame): InFlightFrame {
    const info = frameInfo(frame);
    if (frame.data.byteLength === 0) return { frame, info, result: undefined };
    let result: Promise<InferResult>;
    try {
      result = this.#options.engine.infer(frameToImage(frame), this.#inferOptions);
    } catch (error) {
      result = Promise.reject(error);
    }
    // Handled in #finishFrame; this only keeps a failure that is not awaited yet from being reported as unhandled.
    result.catch(() => undefined);
    return { frame, info, result };
  }

  /** Returns true when inference itself failed (not the frame's bytes). */
  async #finishFrame({ frame, info, result: pending }: InFlightFrame): Promise<boolean> {
    if (pending === undefined) {
      this.#skip(info, 'empty', 'zero-byte frame');
      return false;
    }
    const { drift } = this.#options;
    let result: InferResult;
    try {
      result = await pending;
    } catch (error) {
      if (error instanceof ImageDecodeError) {
        this.#skip(info, 'decode', describeError(error));
        return false;
      }
      this.#lastInferenceError = describeError(error);
      this.#skip(info, 'inference', this.#lastInferenceError);
      return true;
    }
    this.metrics.recordFrame(result.latencyMs);
    this.#noteModel(result.model.name, result.model.version, result.provider);
    const uncertainty = uncertaintyOf(result.prediction);
    if (drift) {
      if (uncertainty) drift.observeConfidence(uncertainty.confidence);
      drift.frameDone();
    }
    this.#options.onFrame?.({ status: 'ok', frame: info, result });
    if (this.#options.sampler) this.#sample(frame, info, result, uncertainty);
    return false;
  }

  #observeInput(data: ArrayLike<number>): void {
    const input = this.#options.engine.manifest.model.inputs[0];
    const spec = input.preprocessing;
    if (!spec) return;
    this.#options.drift?.observeInput(input.name, data, spec.colorOrder === 'GRAY' ? 1 : 3, spec.layout);
  }

  #sample(frame: Frame, info: FrameInfo, result: InferResult, uncertainty: ReturnType<typeof uncertaintyOf>): void {
    const { sampler, spool } = this.#options;
    if (!sampler) return;
    if (this.#pendingSamples.size >= (this.#options.maxPendingSamples ?? 4)) {
      this.metrics.recordSampleRejected('backlog');
      return;
    }
    const image = frameToImage(frame);
    const work = (async () => {
      const decision = await sampler.consider(image, uncertainty);
      const outcome: SampleOutcome = { frame: info, decision };
      if (!decision.take) {
        if (decision.rejectedBy !== 'not-interesting' && decision.rejectedBy !== undefined) this.metrics.recordSampleRejected(decision.rejectedBy);
      } else {
        this.metrics.recordSampleChosen();
        if (spool) {
          const stored = await spool.add({
            image,
            model: result.model,
            reasons: decision.reasons,
            prediction: summarizePrediction(result.prediction),
            frame: { seq: info.seq, timestamp: info.timestamp, ...(info.width ? { width: info.width } : {}), ...(info.height ? { height: info.height } : {}), ...(info.origin ? { origin: info.origin } : {}) },
          });
          this.metrics.recordSpool(stored, spool.stats);
          if (stored.stored) outcome.spooled = stored.id;
          else outcome.spoolError = `${stored.reason}${stored.error ? `: ${stored.error}` : ''}`;
        }
      }
      this.#options.onSample?.(outcome);
    })().catch((error: unknown) => {
      // Sampling must never take the loop down; count it and move on.
      this.metrics.recordSampleRejected('error');
      this.#options.onSample?.({ frame: info, decision: { take: false, reasons: [], rejectedBy: 'hash-failed' }, spoolError: describeError(error) });
    });
    this.#pendingSamples.add(work);
    void work.finally(() => this.#pendingSamples.delete(work));
  }

  #skip(info: FrameInfo, reason: 'empty' | 'decode' | 'inference', error: string): void {
    this.#skipped[reason]++;
    if (reason === 'inference') this.metrics.recordInferenceError();
    else this.metrics.recordDecodeError(reason === 'empty' ? 'empty' : 'corrupt');
    this.#options.onFrame?.({ status: 'skipped', frame: info, reason, error });
  }

  #noteModel(name: string, version: number, provider: string): void {
    const key = `${name}@${version}@${provider}`;
    if (key === this.#modelKey) return;
    this.#modelKey = key;
    this.metrics.setModel({ name, version, provider });
  }

  #syncSourceStats(): void {
    const source = this.#source;
    if (source instanceof LatestFrameSource) {
      this.metrics.addDroppedFrames(source.stats.dropped - this.#lastDropped);
      this.#lastDropped = source.stats.dropped;
    }
    const restarting = source instanceof RestartingSource ? source : source instanceof LatestFrameSource && source.inner instanceof RestartingSource ? source.inner : undefined;
    if (restarting) {
      this.metrics.addSourceRestarts(restarting.stats.restarts - this.#lastRestarts);
      this.#lastRestarts = restarting.stats.restarts;
    }
  }

  summary(): RunSummary {
    const summary: RunSummary = {
      ...this.metrics.snapshot(),
      received: this.#received,
      skipped: { ...this.#skipped },
      elapsedMs: this.#started === 0 ? 0 : performance.now() - this.#started,
      done: this.#done,
    };
    const drift = this.#options.drift?.lastReport;
    if (drift) summary.drift = drift;
    return summary;
  }
}

function frameInfo(frame: Frame): FrameInfo {
  const info: FrameInfo = { seq: frame.seq, timestamp: frame.timestamp, bytes: frame.data.byteLength };
  if (frame.width !== undefined) info.width = frame.width;
  if (frame.height !== undefined) info.height = frame.height;
  if (frame.origin !== undefined) info.origin = frame.origin;
  return info;
}

export async function runFrames(options: RunnerOptions): Promise<RunSummary> {
  return new Runner(options).run();
}
