// The accuracy-budgeted search. Candidates are built from the cleaned fp32 model, measured on the
// measurement set (labeled evaluation images: top-1 accuracy; else the calibration set: top-1
// agreement with fp32), then timed together (interleaved, batch 1). The fastest candidate whose
// drop is within the budget wins; p50s within TIE_TOLERANCE of the fastest count as a tie, broken
// by the smaller model (timing noise on a shared host should not pick a 4x larger model).
// Order: int8 variants (per-channel / per-tensor x calibration methods x u8 / s8 activations);
// if none fits, the k most sensitive layers stay float (k = 1, 2, 4, ...); with pruning, pruned
// versions of the best configuration; fp32 itself when fallback is allowed.
import type * as ort from 'onnxruntime-node';
import type { Precision } from '@edgeloop/bundle';
import type { Model } from '../ir/types.js';
import { runPipeline } from '../passes/manager.js';
import { staticQuantizationTargets } from '../passes/quantize-static.js';
import { calibrateModel } from '../quantize/calibrate.js';
import type { CalibrationData, CalibrationFeed } from '../quantize/calibrate.js';
import type { RangeMethod } from '../quantize/histogram.js';
import { buildCandidate, candidateLabel, measureCandidate, pruneStep } from './candidates.js';
import type { MeasuredCandidate } from './candidates.js';
import { accuracy, agreement, measureLatency } from './measure.js';
import type { LatencyOptions, SessionOptions } from './measure.js';
import type { CandidateConfig, CandidateResult, CompileReport } from './report.js';
import type { Sample } from './samples.js';

/** p50s within this share of the fastest are a tie (broken by size). */
export const TIE_TOLERANCE = 0.03;

export interface SearchOptions {
  reference: Model;
  requested: Precision;
  fp32Fallback: boolean;
  calibration: readonly Sample[];
  /** Labeled evaluation samples, or the calibration samples (agreement). */
  measurement: readonly Sample[];
  labeled: boolean;
  methods: readonly RangeMethod[];
  maxAccuracyDrop: number;
  prune?: { mode: 'channels' | 'magnitude'; ratio: number };
  /** Most layers the search may keep in float (default half of the quantized ones). */
  maxExcludedLayers?: number;
  session: SessionOptions;
  latency: LatencyOptions;
  /** Activation types of int8 candidates (default both). */
  activationTypes?: readonly ('uint8' | 'int8')[];
  /** Weight range of int8 candidates (see StaticQuantizeOptions.reduceRange; default 'auto'). */
  reduceRange?: boolean | 'auto';
  /** Wall time per search phase (ms) is added here. */
  phases?: Record<string, number>;
}

export interface SearchResult {
  candidates: CandidateResult[];
  /** Built models by candidate id (the chosen one is bundled). */
  models: Map<string, MeasuredCandidate>;
  chosen?: string;
  decision: string;
  baseline: CompileReport['baseline'];
  sensitivity?: CompileReport['sensitivity'];
  /** Calibration of the fp32 model (input statistics for the manifest). */
  calibration: CalibrationData;
}

function feeds(model: Model, samples: readonly Sample[]): CalibrationFeed[] {
  const init = new Set(model.graph.initializers.map((t) => t.name));
  const input = model.graph.inputs.find((v) => !init.has(v.name));
  if (!input) throw new Error('model has no input');
  return samples.map((s) => ({ [input.name]: { data: s.data, dims: s.dims } }));
}

export async function searchCandidates(options: SearchOptions): Promise<SearchResult> {
  const { reference, measurement, labeled, maxAccuracyDrop } = options;
  const phases = options.phases ?? {};
  const tuning = options.reduceRange === undefined ? {} : { reduceRange: options.reduceRange };
  let mark = performance.now();
  const lap = (phase: string): void => {
    const now = performance.now();
    phases[phase] = Math.round((phases[phase] ?? 0) + now - mark);
    mark = now;
  };
  const models = new Map<string, MeasuredCandidate>();
  const results = new Map<string, CandidateResult>();
  const sessions: ort.InferenceSession[] = [];
  const baseline = await measureCandidate(await buildCandidate(reference, { precision: 'fp32' }, undefined), measurement, options.session);
  sessions.push(baseline.session);
  lap('baseline');
  const metricOf = (c: MeasuredCandidate): { accuracy?: number; agreement: number; metric: number } => {
    const agree = agreement(baseline.predictions!, c.predictions!);
    if (!labeled) return { agreement: agree, metric: agree };
    const acc = accuracy(c.predictions!, measurement);
    return { accuracy: acc, agreement: agree, metric: acc };
  };
  const baselineMetric = metricOf(baseline).metric;
  const int8 = options.requested === 'int8';
  const quantizable = int8 ? staticQuantizationTargets(reference) : [];
  // Histograms only when a method needs them; minmax alone is summarized inside onnxruntime.
  const histograms = options.methods.some((m) => m !== 'minmax');
  const threads = options.session.intraOpNumThreads === undefined ? {} : { intraOpNumThreads: options.session.intraOpNumThreads };
  const calibration = await calibrateModel(reference, feeds(reference, options.calibration), { tensors: quantizable, histograms, ...threads });
  lap('calibrate');

  let nextId = 0;
  const add = async (config: CandidateConfig, model: Model, data: CalibrationData | undefined): Promise<CandidateResult> => {
    const id = `c${nextId++}`;
    const label = candidateLabel(config);
    let result: CandidateResult;
    try {
      const measured = await measureCandidate(await buildCandidate(model, config, data, tuning), measurement, options.session);
      sessions.push(measured.session);
      models.set(id, measured);
      const m = metricOf(measured);
      const drop = baselineMetric - m.metric;
      result = {
        id, label, config, agreement: m.agreement, drop, withinBudget: drop <= maxAccuracyDrop + 1e-9,
        latencyMs: { p50: 0, p95: 0 }, sizeBytes: measured.bytes.byteLength, floatOps: measured.floatOps,
        ...(m.accuracy === undefined ? {} : { accuracy: m.accuracy }),
        ...(measured.quantization ? { reducedRange: measured.quantization.reducedRange } : {}),
      };
    } catch (error) {
      const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
      result = { id, label, config, agreement: 0, drop: Infinity, withinBudget: false, latencyMs: { p50: 0, p95: 0 }, sizeBytes: 0, error: message };
    }
    results.set(id, result);
    return result;
  };
  const best = (list: CandidateResult[]): CandidateResult | undefined =>
    list.filter((c) => !c.error).sort((a, b) => a.drop - b.drop)[0];

  // Stage 1: the requested precision's variants.
  const precisionResults: CandidateResult[] = [];
  if (int8) {
    for (const perChannel of [true, false]) {
      for (const method of options.methods) {
        for (const activationType of options.activationTypes ?? (['uint8', 'int8'] as const)) {
          precisionResults.push(await add({ precision: 'int8', perChannel, method, activationType }, reference, calibration));
        }
      }
    }
  } else if (options.requested === 'fp16') {
    precisionResults.push(await add({ precision: 'fp16' }, reference, undefined));
  }
  lap('candidates');

  // Stage 2: keep the most sensitive layers in float when no int8 variant fits.
  let sensitivity: SearchResult['sensitivity'];
  let bestConfig = best(precisionResults)?.config;
  if (int8 && bestConfig && !precisionResults.some((c) => c.withinBudget)) {
    const top = models.get(best(precisionResults)!.id)!;
    const quantized = top.quantization?.quantized ?? [];
    const names = quantized.map((q) => q.node);
    sensitivity = [];
    for (const q of quantized) {
      const config: CandidateConfig = { ...bestConfig, excluded: names.filter((n) => n !== q.node) };
      try {
        const alone = await measureCandidate(await buildCandidate(reference, config, calibration, tuning), measurement, options.session);
        sensitivity.push({ node: q.node, opType: q.opType, agreementDrop: 100 - agreement(baseline.predictions!, alone.predictions!) });
        await alone.session.release();
      } catch (error) {
        sensitivity.push({ node: q.node, opType: q.opType, agreementDrop: Infinity });
        void error;
      }
    }
    sensitivity.sort((a, b) => b.agreementDrop - a.agreementDrop);
    const limit = Math.min(options.maxExcludedLayers ?? Math.ceil(names.length / 2), names.length - 1);
    for (let k = 1; k <= limit; k = k * 2 > limit && k < limit ? limit : k * 2) {
      const config: CandidateConfig = { ...bestConfig, excluded: sensitivity.slice(0, k).map((s) => s.node) };
      const r = await add(config, reference, calibration);
      if (r.withinBudget) {
        bestConfig = config;
        break;
      }
    }
  }

  lap('sensitivity');

  // Stage 3: pruned versions of the best configuration (and of fp32 when it may be chosen).
  if (options.prune) {
    for (const ratio of [options.prune.ratio, options.prune.ratio / 2]) {
      const prune = { mode: options.prune.mode, ratio };
      let pruned: Model;
      try {
        pruned = (await runPipeline(reference, [pruneStep(prune)])).model;
      } catch (error) {
        const id = `c${nextId++}`;
        const config: CandidateConfig = { precision: options.requested, prune };
        const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
        results.set(id, { id, label: candidateLabel(config), config, agreement: 0, drop: Infinity, withinBudget: false, latencyMs: { p50: 0, p95: 0 }, sizeBytes: 0, error: message });
        continue;
      }
      if (int8 && bestConfig) {
        const data = await calibrateModel(pruned, feeds(pruned, options.calibration), { tensors: staticQuantizationTargets(pruned), histograms, ...threads });
        await add({ ...bestConfig, prune }, pruned, data);
      } else if (options.requested === 'fp16') {
        await add({ precision: 'fp16', prune }, pruned, undefined);
      }
      if (options.fp32Fallback || options.requested === 'fp32') await add({ precision: 'fp32', prune }, pruned, undefined);
    }
  }

  lap('prune');

  // fp32 itself, as a fallback (or as the request).
  if (options.fp32Fallback || options.requested === 'fp32') {
    const id = `c${nextId++}`;
    models.set(id, baseline);
    const m = metricOf(baseline);
    results.set(id, {
      id, label: 'fp32', config: { precision: 'fp32' }, agreement: m.agreement, drop: 0, withinBudget: 0 <= maxAccuracyDrop + 1e-9,
      latencyMs: { p50: 0, p95: 0 }, sizeBytes: baseline.bytes.byteLength, floatOps: [],
      ...(m.accuracy === undefined ? {} : { accuracy: m.accuracy }),
    });
  }

  // Latency of everything built, together with the fp32 reference.
  const timed = [...models.entries()].filter(([, m]) => m !== baseline);
  const feed = measurement[0] ?? options.calibration[0];
  const stats = await measureLatency([{ session: baseline.session, feed }, ...timed.map(([, m]) => ({ session: m.session, feed }))], options.latency);
  const baselineLatency = { p50: stats[0].p50, p95: stats[0].p95 };
  timed.forEach(([id], i) => {
    const r = results.get(id)!;
    r.latencyMs = { p50: stats[i + 1].p50, p95: stats[i + 1].p95 };
  });
  for (const r of results.values()) if (r.config.precision === 'fp32' && !r.config.prune) r.latencyMs = baselineLatency;
  for (const s of sessions) if (s !== baseline.session && ![...models.values()].some((m) => m.session === s)) await s.release();
  lap('latency');

  const candidates = [...results.values()];
  const fitting = candidates.filter((c) => c.withinBudget);
  const fastest = Math.min(...fitting.map((c) => c.latencyMs.p50));
  const chosen = fitting
    .filter((c) => c.latencyMs.p50 <= fastest * (1 + TIE_TOLERANCE))
    .sort((a, b) => a.sizeBytes - b.sizeBytes || a.latencyMs.p50 - b.latencyMs.p50)[0];
  const decision = describe(chosen, candidates, options, baselineLatency.p50);
  const out: SearchResult = {
    candidates, models, decision,
    baseline: { latencyMs: baselineLatency, sizeBytes: baseline.bytes.byteLength, ...(labeled ? { accuracy: baselineMetric } : {}) },
    calibration,
  };
  if (chosen) out.chosen = chosen.id;
  if (sensitivity) out.sensitivity = sensitivity;
  return out;
}

function describe(chosen: CandidateResult | undefined, all: readonly CandidateResult[], options: SearchOptions, fp32P50: number): string {
  const budget = options.maxAccuracyDrop;
  const requested = all.filter((c) => c.config.precision === options.requested && !c.error);
  const closest = [...requested].sort((a, b) => a.drop - b.drop)[0];
  const metric = options.labeled ? 'accuracy' : 'agreement';
  if (!chosen) {
    const why = closest ? `the closest, ${closest.label}, loses ${closest.drop.toFixed(2)} points of ${metric} (budget ${budget})` : `no ${options.requested} candidate could be built`;
    return `none of ${all.length} candidates is within the budget: ${why}${options.fp32Fallback ? '' : '; fp32 fallback is off because --precision was given'}`;
  }
  const speed = `p50 ${chosen.latencyMs.p50.toFixed(3)} ms vs fp32 ${fp32P50.toFixed(3)} ms`;
  const within = `drop ${chosen.drop.toFixed(2)} <= ${budget} points of ${metric}`;
  const parts = [`${chosen.label}: the fastest within budget (${speed}; ${within})`];
  const fittingRequested = requested.filter((c) => c.withinBudget).sort((a, b) => a.latencyMs.p50 - b.latencyMs.p50)[0];
  if (chosen.config.precision !== options.requested && fittingRequested) {
    parts.push(`${options.requested} candidates are within budget but slower on this host (fastest: ${fittingRequested.label}, p50 ${fittingRequested.latencyMs.p50.toFixed(3)} ms)`);
  } else if (chosen.config.precision !== options.requested) {
    parts.push(`no ${options.requested} candidate is within budget${closest ? ` (closest: ${closest.label}, drop ${closest.drop.toFixed(2)})` : ''}, so it fell back to ${chosen.config.precision}`);
  } else if (chosen.config.excluded && chosen.config.excluded.length > 0) {
    parts.push(`no fully quantized variant was within budget; the ${chosen.config.excluded.length} most sensitive layer(s) stay float: ${chosen.config.excluded.join(', ')}`);
  }
  return parts.join('; ');
}
