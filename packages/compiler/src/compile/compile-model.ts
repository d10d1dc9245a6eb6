// compileModel: student.onnx -> signed bundle for a device profile. Steps: load (with edgeloop
// metadata or preprocessing options), opset check and conversion, cleanup pipeline, calibration
// set (images preprocessed exactly as the manifest says, or tensors), the accuracy-budgeted search
// (search.ts), then bundleModel with the chosen model, its metrics, the input's calibration
// statistics and '@confidence', and golden pairs computed from the compiled model.
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import { loadDeviceProfile } from '@edgeloop/bundle';
import type { Calibration, DeviceProfile, Precision, Preprocessing, Provenance } from '@edgeloop/bundle';
import { opsetVersion } from '../ir/graph.js';
import { decodeModel } from '../ir/serde.js';
import type { Model } from '../ir/types.js';
import { CLEANUP_PIPELINE, runPipeline } from '../passes/manager.js';
import { bundleModel } from '../packaging/bundle-model.js';
import { concreteShape, modelIo, readEdgeloopMetadata, resolvePreprocessing } from '../packaging/model-io.js';
import { calibrationStatistics } from '../quantize/calibrate.js';
import type { RangeMethod } from '../quantize/histogram.js';
import { CompileError, OpsetConversionError } from '../errors.js';
import { MEASURE_BATCH, batchDimensionFree } from './candidates.js';
import { confidenceStatistics, predict } from './measure.js';
import type { LatencyOptions } from './measure.js';
import { convertOpset } from './opset.js';
import type { CompileReport } from './report.js';
import { loadCalibrationSet, loadEvalSet } from './samples.js';
import type { InputSpec } from './samples.js';
import { searchCandidates } from './search.js';

/** Highest opset compile produces by default (TensorRT 8.6's parser; onnx 1.12's checker). */
export const DEFAULT_MAX_OPSET = 17;
/** Static QDQ needs per-channel DequantizeLinear. */
export const MIN_QDQ_OPSET = 13;
export const DEFAULT_CALIBRATION_LIMIT = 64;
export const DEFAULT_MAX_ACCURACY_DROP = 1;
export const CALIBRATION_METHODS: readonly RangeMethod[] = ['minmax', 'percentile', 'entropy'];

export interface CompileOptions {
  /** The fp32 student (ONNX file). */
  model: string;
  /** Device profile name or file (default x86-64-cpu). */
  target?: string;
  profilesDir?: string;
  /** Forces a precision (then fp32 is no fallback); default the profile's (never fp16 on a CPU-only profile). */
  precision?: Precision;
  /** Folder of images or of .bin / .npy float32 tensors. */
  calibration: string;
  /** Only this calibration method (default: the search tries minmax, percentile and entropy). */
  calibrationMethod?: RangeMethod;
  /**
   * Activation types the int8 search tries. Default: uint8 only on an x86-64 host (onnxruntime's
   * QDQ optimizer turns int8 activations into uint8 there, so an int8 candidate would measure the
   * same model twice), both elsewhere.
   */
  activationTypes?: readonly ('uint8' | 'int8')[];
  /** 7-bit int8 weights: 'auto' (default) where x86 u8s8 kernels without VNNI could saturate, or always / never. */
  reduceRange?: boolean | 'auto';
  calibrationLimit?: number;
  /** Labeled folder (class sub-folders): the budget is then on top-1 accuracy. */
  eval?: string;
  evalLimitPerClass?: number;
  /** Points of top-1 accuracy (or agreement with fp32) the compiled model may lose (default 1). */
  maxAccuracyDrop?: number;
  prune?: { mode: 'channels' | 'magnitude'; ratio: number };
  maxExcludedLayers?: number;
  preprocessing?: Partial<Preprocessing>;
  inputShape?: number[];
  labels?: string[];
  /** Bundle output; without it compile measures and reports only. */
  outPath?: string;
  privateKeyPem?: string;
  version?: number;
  name?: string;
  goldenCount?: number;
  provenance?: Provenance;
  /** onnxruntime intra-op threads for measurements (default min(profile threads, host cores)). */
  threads?: number;
  latency?: LatencyOptions;
}

export interface CompileResult {
  report: CompileReport;
  bundle?: { path: string; bytes: number; sha256: string };
  /** The chosen compiled model (also inside the bundle). */
  model?: Uint8Array;
}

const GPU_PROVIDERS = new Set(['cuda', 'tensorrt']);

/** The precision a profile asks for; fp16 only where the profile runs on a GPU provider. */
export function defaultPrecision(profile: DeviceProfile): Precision {
  const gpu = profile.executionProviders.some((p) => GPU_PROVIDERS.has(p.name));
  if (profile.precision === 'fp16' && !gpu) return 'int8';
  return profile.precision ?? (gpu ? 'fp16' : 'int8');
}

/** Names every unnamed node (quantizer exclusions and the report refer to nodes by name). */
function nameNodes(model: Model): Model {
  if (model.graph.nodes.every((n) => n.name !== '')) return model;
  const taken = new Set(model.graph.nodes.map((n) => n.name));
  const nodes = model.graph.nodes.map((n, i) => {
    if (n.name !== '') return n;
    let name = `${n.opType}_${i}`;
    while (taken.has(name)) name += '_';
    taken.add(name);
    return { ...n, name };
  });
  return { ...model, graph: { ...model.graph, nodes } };
}

/** Brings the model's opset within [13 (int8 only), min(17, profile max)], or refuses clearly. */
function fitOpset(model: Model, profile: DeviceProfile, precision: Precision): { model: Model; report: CompileReport['opset'] } {
  const source = opsetVersion(model) ?? 0;
  const max = Math.min(DEFAULT_MAX_OPSET, profile.maxOpset ?? DEFAULT_MAX_OPSET);
  let target = source;
  if (source > max) target = max;
  else if (precision === 'int8' && source < MIN_QDQ_OPSET) target = MIN_QDQ_OPSET;
  if (target === source) return { model, report: { source, compiled: source, rewritten: [] } };
  try {
    const converted = convertOpset(model, { target });
    return { model: converted.model, report: { source, compiled: target, rewritten: converted.report.rewritten } };
  } catch (error) {
    if (error instanceof OpsetConversionError && source > max) {
      throw new OpsetConversionError(source, target, `the model's opset ${source} is above what ${profile.name} takes (${max}) and ${error.message.replace(/^cannot convert[^:]*: /, '')}`, { cause: error });
    }
    throw error;
  }
}

export async function compileModel(options: CompileOptions): Promise<CompileResult> {
  const started = performance.now();
  const maxAccuracyDrop = options.maxAccuracyDrop ?? DEFAULT_MAX_ACCURACY_DROP;
  if (!Number.isFinite(maxAccuracyDrop) || maxAccuracyDrop < -100 || maxAccuracyDrop > 100) {
    throw new CompileError(`max accuracy drop must be a number of points in [-100, 100], got ${maxAccuracyDrop}`);
  }
  if (options.prune && !(options.prune.ratio > 0 && options.prune.ratio < 1)) throw new CompileError(`prune ratio must be in (0, 1), got ${options.prune.ratio}`);
  if (options.outPath && !options.privateKeyPem) throw new CompileError('a bundle needs a signing key');
  const profile = await loadDeviceProfile(options.target ?? 'x86-64-cpu', options.profilesDir ? { profilesDir: options.profilesDir } : {});
  const requested = options.precision ?? defaultPrecision(profile);
  const fp32Fallback = options.precision === undefined && requested !== 'fp32';

  const phases: Record<string, number> = {};
  let mark = started;
  const lap = (phase: string): void => {
    const now = performance.now();
    phases[phase] = Math.round(now - mark);
    mark = now;
  };
  const sourceBytes = new Uint8Array(await readFile(options.model));
  const source = decodeModel(sourceBytes, { source: options.model });
  const meta = readEdgeloopMetadata(source);
  const fitted = fitOpset(nameNodes(source), profile, requested);
  const cleanup = await runPipeline(fitted.model, CLEANUP_PIPELINE);
  const reference = cleanup.model;

  const io = modelIo(reference);
  if (io.inputs.length !== 1) throw new CompileError(`compile takes models with one input; ${basename(options.model)} has ${io.inputs.length}`);
  const input = io.inputs[0];
  if (input.dtype !== 'float32') throw new CompileError(`input '${input.name}' is ${input.dtype}; compile calibrates float32 inputs`);
  const dims = concreteShape(input.shape, options.inputShape);
  dims[0] = 1;
  const preprocessing = resolvePreprocessing(input, dims, meta.preprocessing, options.preprocessing);
  const spec: InputSpec = { name: input.name, dims, ...(preprocessing ? { preprocessing } : {}) };
  lap('load');
  const calibrationSet = await loadCalibrationSet(options.calibration, spec, options.calibrationLimit ?? DEFAULT_CALIBRATION_LIMIT);
  const labels = options.labels ?? meta.labels ?? [];
  const evalSet = options.eval ? await loadEvalSet(options.eval, spec, labels, options.evalLimitPerClass) : undefined;
  const methods = options.calibrationMethod ? [options.calibrationMethod] : CALIBRATION_METHODS;
  const threads = options.threads ?? Math.max(1, Math.min(profile.threads?.intra ?? 4, availableParallelism()));
  lap('samples');

  const search = await searchCandidates({
    reference, requested, fp32Fallback, methods, maxAccuracyDrop,
    calibration: calibrationSet.samples,
    measurement: evalSet ? evalSet.samples : calibrationSet.samples,
    labeled: evalSet !== undefined,
    session: { intraOpNumThreads: threads },
    latency: options.latency ?? {},
    ...(options.prune ? { prune: options.prune } : {}),
    ...(options.maxExcludedLayers === undefined ? {} : { maxExcludedLayers: options.maxExcludedLayers }),
    phases,
    ...(options.reduceRange === undefined ? {} : { reduceRange: options.reduceRange }),
    activationTypes: options.activationTypes ?? defaultActivationTypes(),
  });
  mark = performance.now();
  const chosen = search.chosen ? search.candidates.find((c) => c.id === search.chosen) : undefined;
  const chosenModel = search.chosen ? search.models.get(search.chosen) : undefined;
  const report: CompileReport = {
    ok: chosen !== undefined,
    model: options.model,
    target: profile.name,
    requestedPrecision: requested,
    fp32Fallback,
    opset: fitted.report,
    cleanup: cleanup.steps.map((s) => ({ pass: s.name, modified: s.modified, ms: Math.round(s.ms * 10) / 10 })),
    calibration: { folder: calibrationSet.folder, kind: calibrationSet.kind, samples: calibrationSet.samples.length, skipped: calibrationSet.skipped, method: methods.join('|') },
    metric: evalSet ? 'accuracy' : 'agreement',
    maxAccuracyDrop,
    baseline: search.baseline,
    candidates: search.candidates,
    decision: search.decision,
    unsupportedOps: chosen?.floatOps ?? [],
    durationMs: 0,
    phasesMs: phases,
  };
  if (evalSet) report.evaluation = { folder: evalSet.folder, samples: evalSet.samples.length, classes: evalSet.classes, skipped: evalSet.skipped };
  if (search.sensitivity) report.sensitivity = search.sensitivity;
  if (chosen) report.chosen = chosen.id;

  let bundle: CompileResult['bundle'];
  if (chosen && chosenModel && options.outPath && options.privateKeyPem) {
    const calibration: Calibration = {};
    const stats = calibrationStatistics(search.calibration);
    for (const name of search.calibration.inputs) if (stats[name]) calibration[name] = stats[name];
    // The search measured on the calibration set unless an evaluation set was given.
    const onCalibration = !evalSet && chosenModel.predictions
      ? chosenModel.predictions
      : await predict(chosenModel.session, calibrationSet.samples, { batch: batchDimensionFree(chosenModel.model) ? MEASURE_BATCH : 1 });
    calibration['@confidence'] = confidenceStatistics(onCalibration.confidence);
    const metrics: Record<string, number | string> = {
      agreement: round(chosen.agreement),
      latencyMs: round(chosen.latencyMs.p50, 4),
      latencyP95Ms: round(chosen.latencyMs.p95, 4),
      fp32LatencyMs: round(search.baseline.latencyMs.p50, 4),
      sizeBytes: chosen.sizeBytes,
      fp32SizeBytes: search.baseline.sizeBytes,
      accuracyMetric: report.metric,
      accuracyDrop: round(chosen.drop),
      maxAccuracyDrop,
      calibrationSamples: calibrationSet.samples.length,
      candidate: chosen.label,
      measuredOn: `${process.platform}-${process.arch} onnxruntime-node, ${threads} thread(s)`,
    };
    if (chosen.accuracy !== undefined) metrics.accuracy = round(chosen.accuracy);
    if (search.baseline.accuracy !== undefined) metrics.fp32Accuracy = round(search.baseline.accuracy);
    const precision = chosen.config.precision;
    const created = await bundleModel({
      model: { bytes: chosenModel.bytes, name: options.model },
      outPath: options.outPath,
      privateKeyPem: options.privateKeyPem,
      version: options.version ?? 1,
      targetProfile: options.target ?? 'x86-64-cpu',
      ...(options.profilesDir ? { profilesDir: options.profilesDir } : {}),
      ...(options.preprocessing ? { preprocessing: options.preprocessing } : {}),
      inputShape: dims.map((d, i) => (i === 0 ? 1 : d)),
      ...(labels.length > 0 ? { labels } : {}),
      ...(options.name ? { name: options.name } : {}),
      goldenCount: options.goldenCount ?? 2,
      // Quantized kernels differ by a rounding step between CPUs (AVX2 / VNNI / NEON).
      goldenTolerance: precision === 'int8' ? { abs: 0.05, rel: 0.02 } : precision === 'fp16' ? { abs: 1e-2, rel: 1e-2 } : { abs: 1e-4, rel: 1e-3 },
      precision,
      metrics,
      calibration,
      provenance: { compiler: 'edgeloop compile', ...(options.provenance ?? {}) },
    });
    bundle = { path: options.outPath, bytes: created.bytes, sha256: created.sha256 };
    report.bundle = bundle;
  }
  for (const m of new Set([...search.models.values()].map((c) => c.session))) await m.release();
  lap('bundle');
  report.durationMs = Math.round(performance.now() - started);
  const result: CompileResult = { report };
  if (bundle) result.bundle = bundle;
  if (chosenModel) result.model = chosenModel.bytes;
  return result;
}

/** uint8 only where onnxruntime converts int8 QDQ activations to uint8 (x86-64), else both. */
export function defaultActivationTypes(arch: string = process.arch): ('uint8' | 'int8')[] {
  return arch === 'x64' ? ['uint8'] : ['uint8', 'int8'];
}

function round(v: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
