// The demo's models: the teacher (trained on the digits' train split with the field's kinds of
// shift, cached by its settings), the students distilled from it, and their compiled bundles.
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compileModel, decodeModel, loadModel, saveModel } from '@edgeloop/compiler';
import type { CompileReport, Model } from '@edgeloop/compiler';
import { DIGITS_PREPROCESSING, DIGIT_LABELS, convStudent, evaluate, train } from '@edgeloop/distill';
import type { Dataset, ProgressReporter } from '@edgeloop/distill';
import { teacherTrainingSet } from './field.js';

const METADATA = { preprocessing: DIGITS_PREPROCESSING, labels: DIGIT_LABELS, task: 'classification' as const };
const OPTIMIZER = { kind: 'sgd' as const, momentum: 0.9, nesterov: true, weightDecay: 5e-4 };
const SCHEDULE = { kind: 'cosine' as const, warmupEpochs: 0.5 };

export interface TeacherSettings {
  channels: number[];
  hidden: number;
  epochs: number;
  trainCount: number;
  /** Share of training digits shifted like the field. */
  shiftedFraction: number;
  rotate: number;
  seed: number;
}

export interface TeacherResult {
  model: Model;
  path: string;
  fromCache: boolean;
  cacheKey: string;
  seconds: number;
}

/** The cache key: every setting that changes the teacher, and the recipe's version. */
export function teacherCacheKey(settings: TeacherSettings): string {
  return createHash('sha256').update(JSON.stringify({ recipe: 'edgeloop-demo-teacher/1', ...settings })).digest('hex').slice(0, 16);
}

/** Loads the cached teacher when its key matches and the file decodes, else trains and caches one. */
export async function obtainTeacher(
  cacheDir: string, settings: TeacherSettings, trainSet: Dataset, reporter: ProgressReporter, threads: number | undefined, log: (s: string) => void, signal?: AbortSignal,
): Promise<TeacherResult> {
  const cacheKey = teacherCacheKey(settings);
  const path = join(cacheDir, `teacher-${cacheKey}.onnx`);
  const started = performance.now();
  try {
    const meta = JSON.parse(await readFile(`${path}.json`, 'utf8')) as { key?: string };
    if (meta.key === cacheKey) {
      const model = await loadModel(path);
      log(`teacher: reusing ${path} (cache key ${cacheKey})`);
      return { model, path, fromCache: true, cacheKey, seconds: (performance.now() - started) / 1000 };
    }
  } catch {
    // No valid cache entry: train.
  }
  log(`teacher: training conv ${JSON.stringify(settings.channels)} + ${settings.hidden} on ${settings.trainCount} digits (${Math.round(settings.shiftedFraction * 100)}% field-like shifts, rotation ±${settings.rotate}°), ${settings.epochs} epochs`);
  const data = teacherTrainingSet(trainSet, settings.shiftedFraction, settings.seed);
  const init = convStudent({ inputShape: [1, 28, 28], classes: 10, channels: settings.channels, hidden: settings.hidden, seed: settings.seed });
  const result = await train(init, {
    train: data, epochs: settings.epochs, batchSize: 64, learningRate: 0.05, seed: settings.seed, threads, reporter, metadata: METADATA,
    optimizer: OPTIMIZER, schedule: SCHEDULE, augment: { shift: 2, rotate: settings.rotate }, ...(signal !== undefined ? { signal } : {}),
  });
  await mkdir(cacheDir, { recursive: true });
  await saveModel(result.model, path);
  await writeFile(`${path}.json`, `${JSON.stringify({ key: cacheKey, settings, createdAt: new Date().toISOString() }, null, 2)}\n`);
  return { model: result.model, path, fromCache: false, cacheKey, seconds: (performance.now() - started) / 1000 };
}

export interface StudentSettings {
  channels: number[];
  hidden: number;
  epochs: number;
  seed: number;
  temperature: number;
  alpha: number;
}

/** Distills a fresh student (same architecture and seed for v1 and v2) on `data` with its teacher logits. */
export async function distillStudent(data: Dataset, settings: StudentSettings, reporter: ProgressReporter, threads: number | undefined, signal?: AbortSignal): Promise<{ model: Model; seconds: number }> {
  const init = convStudent({ inputShape: [1, 28, 28], classes: 10, channels: settings.channels, hidden: settings.hidden, seed: settings.seed });
  const started = performance.now();
  const result = await train(init, {
    train: data, epochs: settings.epochs, batchSize: 64, learningRate: 0.05, seed: settings.seed, threads, reporter, metadata: METADATA,
    optimizer: OPTIMIZER, schedule: SCHEDULE, loss: { kind: 'distillation', temperature: settings.temperature, alpha: settings.alpha },
    ...(signal !== undefined ? { signal } : {}),
  });
  return { model: result.model, seconds: (performance.now() - started) / 1000 };
}

export interface CompiledStudent {
  bundlePath: string;
  bundleBytes: number;
  fp32Bytes: number;
  compiledBytes: number;
  chosen: string;
  fp32LatencyMsP50: number;
  compiledLatencyMsP50: number;
  /** The compiled model exactly as the bundle carries it. */
  model: Model;
  seconds: number;
}

/** compileModel: int8 QDQ (calibrated on clean digit images), signed bundle for `target`. */
export async function compileStudent(
  model: Model, dir: string, name: string, options: { calibration: string; target: string; privateKeyPem: string; version: number; quick: boolean; threads?: number },
): Promise<CompiledStudent> {
  const started = performance.now();
  const source = join(dir, `${name}.onnx`);
  await saveModel(model, source);
  const bundlePath = join(dir, `${name}.elb`);
  const result = await compileModel({
    model: source, target: options.target, calibration: options.calibration, outPath: bundlePath, privateKeyPem: options.privateKeyPem,
    version: options.version, name: 'digits', precision: 'int8', calibrationLimit: options.quick ? 32 : 64, goldenCount: 2,
    ...(options.quick ? { calibrationMethod: 'minmax' as const } : {}),
    ...(options.threads !== undefined ? { threads: options.threads } : {}),
    provenance: { createdBy: 'edgeloop demo', ...(options.version > 1 ? { parentVersion: options.version - 1 } : {}) },
    latency: { warmup: 3, runs: options.quick ? 20 : 50 },
  });
  const report: CompileReport = result.report;
  if (!report.ok || result.bundle === undefined || result.model === undefined) throw new Error(`compile ${name}: ${report.decision}`);
  const chosen = report.candidates.find((c) => c.id === report.chosen);
  if (chosen === undefined) throw new Error(`compile ${name}: no chosen candidate`);
  return {
    bundlePath, bundleBytes: result.bundle.bytes, fp32Bytes: report.baseline.sizeBytes, compiledBytes: chosen.sizeBytes, chosen: chosen.label,
    fp32LatencyMsP50: report.baseline.latencyMs.p50, compiledLatencyMsP50: chosen.latencyMs.p50,
    model: decodeModel(result.model), seconds: (performance.now() - started) / 1000,
  };
}

/** Top-1 accuracy (0..1) of `model` on a labeled set. */
export async function accuracyOn(model: Model, data: Dataset): Promise<number> {
  return (await evaluate(model, data)).accuracy;
}
