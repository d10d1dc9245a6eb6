// Benchmarks ONNX models or bundles with onnxruntime on this host: batch-1 latency p50 / p95 and
// throughput. Several models are measured in the same run, interleaved (see measureLatency), so a
// ratio between them is not skewed by load that came and went between two separate runs.
import { readFile } from 'node:fs/promises';
import { openBundle } from '@edgeloop/bundle';
import { decodeModel } from '../ir/serde.js';
import { concreteShape, modelIo } from '../packaging/model-io.js';
import { seededRandom } from '../packaging/golden.js';
import { CompileError } from '../errors.js';
import { createSession, measureLatency } from './measure.js';
import type { LatencyStats } from './measure.js';

export interface BenchOptions {
  /** Timed runs per model (default 100). */
  iterations?: number;
  warmup?: number;
  /** onnxruntime intra-op threads (default onnxruntime's). */
  threads?: number;
}

export interface BenchEntry {
  path: string;
  kind: 'onnx' | 'bundle';
  sizeBytes: number;
  input: { name: string; dims: number[] };
  latencyMs: { p50: number; p95: number; mean: number };
  throughput: number;
  runs: number;
}

export interface BenchReport {
  models: BenchEntry[];
  /** With two models: p50 of the second over p50 of the first (>1: the first is faster). */
  ratio?: number;
  threads?: number;
}

async function modelBytes(path: string): Promise<{ bytes: Uint8Array; kind: 'onnx' | 'bundle' }> {
  if (/\.onnx$/i.test(path)) return { bytes: new Uint8Array(await readFile(path)), kind: 'onnx' };
  const bundle = await openBundle(path, { trust: 'skip-signature' });
  return { bytes: await bundle.readMember(bundle.manifest.model.path), kind: 'bundle' };
}

export async function benchModels(paths: readonly string[], options: BenchOptions = {}): Promise<BenchReport> {
  if (paths.length === 0) throw new CompileError('bench needs at least one model');
  const iterations = options.iterations ?? 100;
  if (!Number.isInteger(iterations) || iterations < 1) throw new CompileError(`iterations must be a positive integer, got ${iterations}`);
  const loaded = [];
  for (const path of paths) {
    const { bytes, kind } = await modelBytes(path);
    const io = modelIo(decodeModel(bytes, { source: path }));
    if (io.inputs.length !== 1 || io.inputs[0].dtype !== 'float32') throw new CompileError(`${path}: bench takes models with one float32 input`);
    const dims = concreteShape(io.inputs[0].shape);
    const random = seededRandom(7);
    const data = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => random() * 2 - 1);
    const session = await createSession(bytes, options.threads === undefined ? {} : { intraOpNumThreads: options.threads });
    loaded.push({ path, kind, bytes, session, input: { name: io.inputs[0].name, dims }, feed: { data, dims, source: 'random' } });
  }
  let stats: LatencyStats[];
  try {
    stats = await measureLatency(loaded.map((l) => ({ session: l.session, feed: l.feed })), { runs: iterations, ...(options.warmup === undefined ? {} : { warmup: options.warmup }) });
  } finally {
    for (const l of loaded) await l.session.release();
  }
  const models = loaded.map((l, i): BenchEntry => ({
    path: l.path, kind: l.kind, sizeBytes: l.bytes.byteLength, input: l.input,
    latencyMs: { p50: stats[i].p50, p95: stats[i].p95, mean: stats[i].mean }, throughput: stats[i].throughput, runs: stats[i].runs,
  }));
  const report: BenchReport = { models };
  if (models.length === 2) report.ratio = models[1].latencyMs.p50 / models[0].latencyMs.p50;
  if (options.threads !== undefined) report.threads = options.threads;
  return report;
}
