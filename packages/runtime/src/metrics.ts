// What a device reports about its inference loop: latency (p50/p95/p99 per stage), fps, frames
// dropped by latest-frame semantics, decode and inference errors, samples chosen and dropped,
// the provider in use and resident memory. Prometheus text exposition (prom-client, on a
// registry of our own so an embedding application's default registry is left alone) and a JSON
// snapshot for the CLI and the OTA agent's status messages.

import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';

import type { InferLatency } from './engine.js';

export interface MetricsOptions {
  /** Metric name prefix (default 'edgeloop_'). */
  prefix?: string;
  /** Latencies kept for the snapshot's percentiles (default 1024, the most recent). */
  latencyWindow?: number;
  /** fps is measured over frames finished in this many ms (default 10 s). */
  fpsWindowMs?: number;
  /** Static labels on every metric (e.g. device id). */
  labels?: Record<string, string>;
  now?: () => number;
}

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface MetricsSnapshot {
  frames: number;
  fps: number;
  latencyMs: { total: LatencySummary; preprocess: LatencySummary; inference: LatencySummary; postprocess: LatencySummary };
  droppedFrames: number;
  decodeErrors: number;
  inferenceErrors: number;
  samples: { chosen: number; rejected: Record<string, number>; spoolEvicted: number; spoolRejected: number; spoolCount: number; spoolBytes: number };
  model?: { name: string; version: number; provider: string };
  sourceRestarts: number;
  memory: { rssBytes: number; heapUsedBytes: number };
  uptimeSeconds: number;
}

const STAGES = ['preprocess', 'inference', 'postprocess', 'total'] as const;
type Stage = (typeof STAGES)[number];

/** Fixed-size ring of recent values with percentiles computed on demand. */
class Ring {
  readonly #values: Float64Array;
  #count = 0;
  #next = 0;

  constructor(size: number) {
    this.#values = new Float64Array(Math.max(1, size));
  }

  push(value: number): void {
    this.#values[this.#next] = value;
    this.#next = (this.#next + 1) % this.#values.length;
    this.#count = Math.min(this.#values.length, this.#count + 1);
  }

  summary(): LatencySummary {
    if (this.#count === 0) return { count: 0, mean: 0, p50: 0, p95: 0, p99: 0, max: 0 };
    const sorted = this.#values.slice(0, this.#count).sort();
    const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
    let sum = 0;
    for (const v of sorted) sum += v;
    return { count: this.#count, mean: sum / this.#count, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted[sorted.length - 1] };
  }
}

export class RuntimeMetrics {
  readonly registry = new Registry();
  readonly #now: () => number;
  readonly #started: number;
  readonly #fpsWindowMs: number;
  readonly #rings: Record<Stage, Ring>;
  readonly #finished: number[] = [];
  readonly #frames: Counter;
  readonly #latency: Histogram<'stage'>;
  readonly #latencySummary: Summary;
  readonly #dropped: Counter;
  readonly #decodeErrors: Counter<'kind'>;
  readonly #inferenceErrors: Counter;
  readonly #samplesChosen: Counter;
  readonly #samplesRejected: Counter<'reason'>;
  readonly #spoolEvicted: Counter;
  readonly #spoolRejected: Counter;
  readonly #spoolCount: Gauge;
  readonly #spoolBytes: Gauge;
  readonly #modelInfo: Gauge<'model' | 'version' | 'provider'>;
  readonly #restarts: Counter;
  #state = {
    frames: 0,
    dropped: 0,
    decodeErrors: 0,
    inferenceErrors: 0,
    chosen: 0,
    rejected: {} as Record<string, number>,
    spoolEvicted: 0,
    spoolRejected: 0,
    spoolCount: 0,
    spoolBytes: 0,
    restarts: 0,
  };
  #model: { name: string; version: number; provider: string } | undefined;

  constructor(options: MetricsOptions = {}) {
    const p = options.prefix ?? 'edgeloop_';
    this.#now = options.now ?? (() => performance.now());
    this.#started = this.#now();
    this.#fpsWindowMs = options.fpsWindowMs ?? 10_000;
    const size = options.latencyWindow ?? 1024;
    this.#rings = { preprocess: new Ring(size), inference: new Ring(size), postprocess: new Ring(size), total: new Ring(size) };
    if (options.labels) this.registry.setDefaultLabels(options.labels);
    const registers = [this.registry];
    this.#frames = new Counter({ name: `${p}frames_total`, help: 'Frames inferred', registers });
    this.#latency = new Histogram({
      name: `${p}inference_latency_seconds`,
      help: 'Per-frame latency by stage (preprocess, inference, postprocess, total)',
      labelNames: ['stage'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.#latencySummary = new Summary({
      name: `${p}frame_latency_seconds`,
      help: 'Total per-frame latency, quantiles over the last minute',
      percentiles: [0.5, 0.95, 0.99],
      maxAgeSeconds: 60,
      ageBuckets: 5,
      registers,
    });
    this.#dropped = new Counter({ name: `${p}frames_dropped_total`, help: 'Frames replaced by a newer one before inference (latest-frame semantics)', registers });
    this.#decodeErrors = new Counter({ name: `${p}decode_errors_total`, help: 'Frames skipped as undecodable', labelNames: ['kind'], registers });
    this.#inferenceErrors = new Counter({ name: `${p}inference_errors_total`, help: 'Frames whose inference failed', registers });
    this.#samplesChosen = new Counter({ name: `${p}samples_chosen_total`, help: 'Frames the field sampler chose', registers });
    this.#samplesRejected = new Counter({ name: `${p}samples_rejected_total`, help: 'Interesting frames the sampler did not take, by brake', labelNames: ['reason'], registers });
    this.#spoolEvicted = new Counter({ name: `${p}spool_evicted_total`, help: 'Old samples dropped from the spool to make room', registers });
    this.#spoolRejected = new Counter({ name: `${p}spool_rejected_total`, help: 'Chosen samples the spool could not store', registers });
    this.#spoolCount = new Gauge({ name: `${p}spool_samples`, help: 'Samples waiting in the spool', registers });
    this.#spoolBytes = new Gauge({ name: `${p}spool_bytes`, help: 'Bytes used by the spool', registers });
    this.#modelInfo = new Gauge({ name: `${p}model_info`, help: 'The model and execution provider in use (value 1)', labelNames: ['model', 'version', 'provider'], registers });
    this.#restarts = new Counter({ name: `${p}source_restarts_total`, help: 'Frame source restarts after failures', registers });
    new Gauge({ name: `${p}fps`, help: 'Frames per second over the recent window', registers, collect: collectInto(() => this.fps()) });
    new Gauge({ name: `${p}resident_memory_bytes`, help: 'Resident set size of the process', registers, collect: collectInto(() => process.memoryUsage.rss()) });
    new Gauge({ name: `${p}heap_used_bytes`, help: 'V8 heap in use', registers, collect: collectInto(() => process.memoryUsage().heapUsed) });
  }

  recordFrame(latency: Pick<InferLatency, Stage>): void {
    this.#state.frames++;
    this.#frames.inc();
    for (const stage of STAGES) {
      this.#rings[stage].push(latency[stage]);
      this.#latency.observe({ stage }, latency[stage] / 1000);
    }
    this.#latencySummary.observe(latency.total / 1000);
    const now = this.#now();
    this.#finished.push(now);
    if (this.#finished.length > 4096) this.#finished.shift();
    while (this.#finished.length > 0 && now - this.#finished[0] > this.#fpsWindowMs) this.#finished.shift();
  }

  /** Frames per second over the recent window (0 with fewer than two frames in it). */
  fps(): number {
    const now = this.#now();
    while (this.#finished.length > 0 && now - this.#finished[0] > this.#fpsWindowMs) this.#finished.shift();
    const n = this.#finished.length;
    if (n < 2) return 0;
    const span = this.#finished[n - 1] - this.#finished[0];
    return span > 0 ? ((n - 1) * 1000) / span : 0;
  }

  addDroppedFrames(count: number): void {
    if (count <= 0) return;
    this.#state.dropped += count;
    this.#dropped.inc(count);
  }

  recordDecodeError(kind: 'empty' | 'corrupt' | 'unsupported'): void {
    this.#state.decodeErrors++;
    this.#decodeErrors.inc({ kind });
  }

  recordInferenceError(): void {
    this.#state.inferenceErrors++;
    this.#inferenceErrors.inc();
  }

  recordSampleChosen(): void {
    this.#state.chosen++;
    this.#samplesChosen.inc();
  }

  recordSampleRejected(reason: string): void {
    this.#state.rejected[reason] = (this.#state.rejected[reason] ?? 0) + 1;
    this.#samplesRejected.inc({ reason });
  }

  recordSpool(result: { stored: boolean; evicted: number }, spool: { count: number; bytes: number }): void {
    if (result.evicted > 0) {
      this.#state.spoolEvicted += result.evicted;
      this.#spoolEvicted.inc(result.evicted);
    }
    if (!result.stored) {
      this.#state.spoolRejected++;
      this.#spoolRejected.inc();
    }
    this.setSpool(spool);
  }

  setSpool(spool: { count: number; bytes: number }): void {
    this.#state.spoolCount = spool.count;
    this.#state.spoolBytes = spool.bytes;
    this.#spoolCount.set(spool.count);
    this.#spoolBytes.set(spool.bytes);
  }

  addSourceRestarts(count: number): void {
    if (count <= 0) return;
    this.#state.restarts += count;
    this.#restarts.inc(count);
  }

  setModel(model: { name: string; version: number; provider: string }): void {
    this.#modelInfo.reset();
    this.#modelInfo.set({ model: model.name, version: String(model.version), provider: model.provider }, 1);
    this.#model = { ...model };
  }

  snapshot(): MetricsSnapshot {
    const s = this.#state;
    const memory = process.memoryUsage();
    const snap: MetricsSnapshot = {
      frames: s.frames,
      fps: this.fps(),
      latencyMs: {
        total: this.#rings.total.summary(),
        preprocess: this.#rings.preprocess.summary(),
        inference: this.#rings.inference.summary(),
        postprocess: this.#rings.postprocess.summary(),
      },
      droppedFrames: s.dropped,
      decodeErrors: s.decodeErrors,
      inferenceErrors: s.inferenceErrors,
      samples: { chosen: s.chosen, rejected: { ...s.rejected }, spoolEvicted: s.spoolEvicted, spoolRejected: s.spoolRejected, spoolCount: s.spoolCount, spoolBytes: s.spoolBytes },
      sourceRestarts: s.restarts,
      memory: { rssBytes: memory.rss, heapUsedBytes: memory.heapUsed },
      uptimeSeconds: (this.#now() - this.#started) / 1000,
    };
    if (this.#model) snap.model = { ...this.#model };
    return snap;
  }

  /** Prometheus text exposition format. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

function collectInto(read: () => number): (this: Gauge) => void {
  return function collect(this: Gauge): void {
    this.set(read());
  };
}

export interface MetricsServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Serves GET /metrics (Prometheus text), /metrics.json (snapshot) and /healthz. Binds 127.0.0.1
 * by default: expose it on the network only on purpose (`host: '0.0.0.0'`).
 */
export async function serveMetrics(metrics: RuntimeMetrics, options: { port?: number; host?: string } = {}): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      metrics.text().then(
        (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(text),
        (error: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error)),
      );
    } else if (path === '/metrics.json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(metrics.snapshot()));
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /metrics.json\n');
    }
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
