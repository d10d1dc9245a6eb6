// Building search candidates: each is a pipeline (data) run by the pass manager on the cleaned
// fp32 model, then measured. Calibration is shared: one run over the calibration set observes
// every tensor any int8 candidate quantizes, and per-tensor / per-channel, method and activation
// type variants all quantize from the same histograms.
import type * as ort from 'onnxruntime-node';
import { encodeModel } from '../ir/serde.js';
import type { Model } from '../ir/types.js';
import { runPipeline } from '../passes/manager.js';
import type { PipelineStep } from '../passes/manager.js';
import type { QuantizationReport, StaticQuantizeOptions } from '../passes/quantize-static.js';
import type { Fp16Result } from '../passes/convert-fp16.js';
import type { CalibrationData } from '../quantize/calibrate.js';
import type { CandidateConfig } from './report.js';
import { createSession, predict } from './measure.js';
import type { Predictions, SessionOptions } from './measure.js';
import type { Sample } from './samples.js';

export interface BuiltCandidate {
  config: CandidateConfig;
  model: Model;
  bytes: Uint8Array;
  floatOps: { node: string; opType: string; reason: string }[];
  quantization?: QuantizationReport;
}

export interface MeasuredCandidate extends BuiltCandidate {
  session: ort.InferenceSession;
  predictions?: Predictions;
}

/** "int8 per-channel entropy u8 (3 excluded, channels 50%)". */
export function candidateLabel(c: CandidateConfig): string {
  const parts: string[] = [c.precision];
  if (c.precision === 'int8') {
    parts.push(c.perChannel === false ? 'per-tensor' : 'per-channel', c.method ?? 'minmax', c.activationType === 'int8' ? 's8' : 'u8');
  }
  const notes: string[] = [];
  if (c.excluded && c.excluded.length > 0) notes.push(`${c.excluded.length} excluded`);
  if (c.prune) notes.push(`${c.prune.mode} ${Math.round(c.prune.ratio * 100)}%`);
  return notes.length > 0 ? `${parts.join(' ')} (${notes.join(', ')})` : parts.join(' ');
}

/** The pruning step of a candidate (before quantization: calibration must see the pruned model). */
export function pruneStep(prune: NonNullable<CandidateConfig['prune']>): PipelineStep {
  return prune.mode === 'channels'
    ? { pass: 'prune-channels', options: { ratio: prune.ratio } }
    : { pass: 'prune-magnitude', options: { sparsity: prune.ratio, measureSize: false } };
}

/** Quantizer options for an int8 candidate. */
export function quantizeOptions(config: CandidateConfig, calibration: CalibrationData, tuning: QuantizeTuning = {}): StaticQuantizeOptions {
  return {
    ...tuning,
    calibration,
    method: config.method ?? 'minmax',
    perChannel: config.perChannel !== false,
    activationType: config.activationType ?? 'uint8',
    exclude: config.excluded ?? [],
  };
}

/** Quantizer settings shared by every candidate of a search. */
export type QuantizeTuning = Pick<StaticQuantizeOptions, 'reduceRange'>;

/**
 * Runs a candidate's precision step on `model` (already pruned when the config prunes):
 * int8 static QDQ from `calibration`, fp16 conversion, or nothing for fp32.
 */
export async function buildCandidate(model: Model, config: CandidateConfig, calibration: CalibrationData | undefined, tuning: QuantizeTuning = {}): Promise<BuiltCandidate> {
  const steps: PipelineStep[] = [];
  if (config.precision === 'int8') {
    if (!calibration) throw new Error('int8 needs calibration data');
    steps.push({ pass: 'quantize-static', options: quantizeOptions(config, calibration, tuning) });
  } else if (config.precision === 'fp16') {
    steps.push({ pass: 'convert-fp16', options: {} });
  }
  const result = await runPipeline(model, steps);
  const report = result.steps[0]?.report;
  let floatOps: BuiltCandidate['floatOps'] = [];
  let quantization: QuantizationReport | undefined;
  if (config.precision === 'int8') {
    quantization = report as QuantizationReport;
    floatOps = quantization.float;
  } else if (config.precision === 'fp16') {
    floatOps = (report as Fp16Result['report']).keptFloat32.map((node) => ({ node, opType: opTypeOf(model, node), reason: 'kept in float32 (fp16 block list)' }));
  }
  const built: BuiltCandidate = { config, model: result.model, bytes: encodeModel(result.model), floatOps };
  if (quantization) built.quantization = quantization;
  return built;
}

function opTypeOf(model: Model, label: string): string {
  return model.graph.nodes.find((n) => n.name === label)?.opType ?? label.replace(/#\d+$/, '');
}

/** Samples per measurement run when the model's batch dimension is free. */
export const MEASURE_BATCH = 8;

/** Whether every graph input's first dimension is symbolic (samples may be stacked along it). */
export function batchDimensionFree(model: Model): boolean {
  const init = new Set(model.graph.initializers.map((t) => t.name));
  return model.graph.inputs
    .filter((v) => !init.has(v.name))
    .every((v) => v.type?.kind === 'tensor' && v.type.shape !== null && v.type.shape.length > 0 && typeof v.type.shape[0] !== 'number');
}

/** Opens a session for the candidate and runs the measurement set through it (batched when the model allows). */
export async function measureCandidate(built: BuiltCandidate, samples: readonly Sample[], session: SessionOptions): Promise<MeasuredCandidate> {
  const s = await createSession(built.bytes, session);
  const out: MeasuredCandidate = { ...built, session: s };
  if (samples.length > 0) out.predictions = await predict(s, samples, { batch: batchDimensionFree(built.model) ? MEASURE_BATCH : 1 });
  return out;
}
