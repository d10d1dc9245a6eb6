// `edgeloop run --bundle <file> --source <...>`: the command's whole logic, so the CLI stays a
// thin yargs wrapper. Opens and health-checks the bundle, opens the source (live sources get
// restart-with-backoff and latest-frame semantics), wires sampler + spool, drift and metrics,
// and prints per-frame results and periodic summaries as text or as JSON lines.

import { TrustStore, loadDeviceProfile, openBundle, type DeviceProfile, type Trust } from '@edgeloop/bundle';

import { DriftMonitor, type DriftReport } from './drift.js';
import { Engine } from './engine.js';
import { RunConfigError } from './errors.js';
import { RuntimeMetrics, serveMetrics, type MetricsServer } from './metrics.js';
import { Runner, type FrameOutcome, type RunSummary, type SampleOutcome } from './runner.js';
import { FieldSampler } from './sampler.js';
import type { FrameSource } from './sources/frame.js';
import { createSource, parseSource, type OpenSourceOptions } from './sources/open.js';
import { withRestart } from './sources/restart.js';
import { SampleSpool } from './spool.js';

export interface RunCommandOptions {
  bundle: string;
  /** Folder, glob, image, video file, http(s) MJPEG URL, v4l2:/dev/videoN or rtsp:// URL. */
  source: string;
  /** Public key files or directories of them that may sign bundles. */
  trust?: string[];
  /** Development only: check everything but the signature. */
  skipSignature?: boolean;
  /** Device profile name or path (default: the bundle's target profile). */
  profile?: string;
  profilesDir?: string;
  fps?: number;
  /** Folder, image and video file sources: start again at the end. */
  loop?: boolean;
  /** Stop after this many frames. */
  maxFrames?: number;
  /** JSON lines instead of text. */
  json?: boolean;
  /** Print one line per frame (default true). */
  printFrames?: boolean;
  /** Enables the field sampler; chosen frames are spooled here. */
  spoolDir?: string;
  spoolMaxMB?: number;
  spoolMaxCount?: number;
  samplesPerMinute?: number;
  /** Serve /metrics and /metrics.json on this port (127.0.0.1 unless metricsHost says otherwise). */
  metricsPort?: number;
  metricsHost?: string;
  /** Periodic summary lines (default 10 s; 0 = only the final one). */
  summaryIntervalMs?: number;
  signal?: AbortSignal;
}

export interface RunCommandOutput {
  stdout(line: string): void;
  stderr(line: string): void;
}

/** Opens everything, runs until the source ends, `maxFrames` or `signal`, and returns the final summary. */
export async function runCommand(options: RunCommandOptions, output: RunCommandOutput): Promise<RunSummary> {
  if (options.fps !== undefined && !(options.fps >= 0)) throw new RunConfigError(`--fps ${options.fps} is not a non-negative number`);
  if (options.maxFrames !== undefined && !(Number.isInteger(options.maxFrames) && options.maxFrames > 0)) {
    throw new RunConfigError(`--max-frames ${options.maxFrames} is not a positive integer`);
  }
  const trust = await trustFrom(options);
  const json = options.json === true;
  const emit = (type: string, body: object, text: string): void => output.stdout(json ? JSON.stringify({ type, ...body }, jsonReplacer) : text);

  const bundle = await openBundle(options.bundle, { trust });
  const profileName = options.profile ?? bundle.manifest.targetProfile;
  const profile: DeviceProfile = await loadDeviceProfile(profileName, options.profilesDir ? { profilesDir: options.profilesDir } : {});
  const engine = await Engine.open({ bundle, profile });
  const metricsServer: { server?: MetricsServer } = {};
  try {
    const m = engine.manifest;
    const maxDiff = engine.health.checks.reduce((worst, c) => Math.max(worst, c.maxAbsDiff), 0);
    emit(
      'start',
      { model: { name: m.name, version: m.version, task: m.task }, provider: engine.provider, fallbacks: engine.fallbacks, health: engine.health, profile: profile.name },
      `loaded ${m.name} v${m.version} (${m.task}) on ${engine.provider}` +
        (engine.fallbacks.length > 0 ? ` after ${engine.fallbacks.map((f) => `${f.provider}: ${f.reason}`).join('; ')}` : '') +
        `; health check ${engine.health.samples} golden sample(s), max abs diff ${maxDiff.toExponential(2)}`,
    );

    const parsed = await parseSource(options.source);
    const sourceOptions: OpenSourceOptions = {
      ...(options.fps !== undefined ? { fps: options.fps } : {}),
      loop: options.loop === true,
      camera: profile.camera,
    };
    const first = createSource(parsed, sourceOptions);
    const source: FrameSource = first.live
      ? withRestart(() => createSource(parsed, sourceOptions), {
          onRestart: (info) => output.stderr(`source ${first.description} failed (${info.reason}); restarting in ${info.delayMs} ms`),
        })
      : first;

    const metrics = new RuntimeMetrics();
    if (options.metricsPort !== undefined) {
      metricsServer.server = await serveMetrics(metrics, { port: options.metricsPort, ...(options.metricsHost ? { host: options.metricsHost } : {}) });
      output.stderr(`metrics on ${metricsServer.server.url}/metrics`);
    }
    const spool = options.spoolDir
      ? await SampleSpool.open({
          dir: options.spoolDir,
          ...(options.spoolMaxMB !== undefined ? { maxBytes: Math.floor(options.spoolMaxMB * 1024 * 1024) } : {}),
          ...(options.spoolMaxCount !== undefined ? { maxCount: options.spoolMaxCount } : {}),
        })
      : undefined;
    const sampler = spool ? new FieldSampler(options.samplesPerMinute !== undefined ? { ratePerMinute: options.samplesPerMinute } : {}) : undefined;
    // Input drift needs the bundle's calibration stats; confidence drift works without them (first window as reference).
    const drift = new DriftMonitor(m.calibration);

    const runner = new Runner({
      engine,
      source,
      metrics,
      ...(sampler ? { sampler } : {}),
      ...(spool ? { spool } : {}),
      drift,
      ...(options.maxFrames !== undefined ? { maxFrames: options.maxFrames } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      summaryIntervalMs: options.summaryIntervalMs ?? 10_000,
      onFrame: options.printFrames === false ? undefined : (outcome) => emit('frame', frameBody(outcome), frameText(outcome)),
      onSample: (outcome) => {
        if (outcome.decision.take) emit('sample', sampleBody(outcome), sampleText(outcome));
      },
      onSummary: (summary) => emit('summary', { summary }, summaryText(summary)),
      onDrift: (report, state) => emit(state, { report }, driftText(report, state)),
    });
    const summary = await runner.run();
    emit('done', { summary }, `done: ${summaryText(summary)}`);
    return summary;
  } finally {
    await metricsServer.server?.close();
    await engine.release();
  }
}

async function trustFrom(options: RunCommandOptions): Promise<Trust> {
  if (options.skipSignature === true) return 'skip-signature';
  if (options.trust === undefined || options.trust.length === 0) {
    throw new RunConfigError('no trusted keys: pass --trust <key.pub or folder> (or --skip-signature for development only)');
  }
  return TrustStore.fromPaths(options.trust);
}

function frameBody(outcome: FrameOutcome): object {
  if (outcome.status === 'skipped') return { frame: outcome.frame, skipped: outcome.reason, error: outcome.error };
  const { result } = outcome;
  const prediction = result.prediction;
  const summary =
    prediction.task === 'classification'
      ? { task: 'classification', classIndex: prediction.classIndex, label: prediction.label, score: prediction.score, top: prediction.classification.top, margin: prediction.classification.margin }
      : prediction.task === 'detection'
        ? { task: 'detection', detections: prediction.detections }
        : { task: 'raw', outputs: Object.fromEntries(Object.entries(result.outputs).map(([k, t]) => [k, { dtype: t.dtype, dims: t.dims }])) };
  return { frame: outcome.frame, prediction: summary, latencyMs: result.latencyMs, model: result.model };
}

function frameText(outcome: FrameOutcome): string {
  const where = outcome.frame.origin ?? `frame ${outcome.frame.seq}`;
  if (outcome.status === 'skipped') return `#${outcome.frame.seq} ${where}: skipped (${outcome.reason}): ${outcome.error}`;
  const p = outcome.result.prediction;
  const ms = outcome.result.latencyMs.total.toFixed(1);
  if (p.task === 'classification') return `#${outcome.frame.seq} ${where}: ${p.label ?? p.classIndex} ${(p.score * 100).toFixed(1)}% (${ms} ms)`;
  if (p.task === 'detection') {
    const found = p.detections.map((d) => `${d.label ?? d.classIndex} ${(d.score * 100).toFixed(0)}%`).join(', ');
    return `#${outcome.frame.seq} ${where}: ${p.detections.length} detection(s)${found ? `: ${found}` : ''} (${ms} ms)`;
  }
  return `#${outcome.frame.seq} ${where}: ${Object.keys(outcome.result.outputs).join(', ')} (${ms} ms)`;
}

function sampleBody(outcome: SampleOutcome): object {
  return { frame: outcome.frame, reasons: outcome.decision.reasons, spooled: outcome.spooled, spoolError: outcome.spoolError };
}

function sampleText(outcome: SampleOutcome): string {
  const stored = outcome.spooled ? `spooled as ${outcome.spooled}` : `not spooled (${outcome.spoolError ?? 'no spool'})`;
  return `sample #${outcome.frame.seq} (${outcome.decision.reasons.join(', ')}): ${stored}`;
}

function summaryText(s: RunSummary): string {
  const l = s.latencyMs.total;
  return (
    `${s.frames} frames, ${s.fps.toFixed(1)} fps, latency p50 ${l.p50.toFixed(1)} / p95 ${l.p95.toFixed(1)} / p99 ${l.p99.toFixed(1)} ms, ` +
    `dropped ${s.droppedFrames}, skipped ${s.skipped.empty + s.skipped.decode + s.skipped.inference} ` +
    `(empty ${s.skipped.empty}, corrupt ${s.skipped.decode}, inference ${s.skipped.inference}), ` +
    `samples ${s.samples.chosen} (spool ${s.samples.spoolCount}, evicted ${s.samples.spoolEvicted}), ` +
    `provider ${s.model?.provider ?? '?'}, rss ${(s.memory.rssBytes / 1024 / 1024).toFixed(0)} MiB`
  );
}

function driftText(report: DriftReport, state: 'drift' | 'recovered'): string {
  return state === 'drift' ? `drift after ${report.frames} frames: ${report.reasons.join('; ')}` : `drift recovered after ${report.frames} frames`;
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString(16);
  if (value instanceof Float32Array) return Array.from(value);
  return value;
}
