// The compile report: what was done to the model, every candidate the search measured, and the
// choice with its reason. It is plain JSON (the CLI's --json prints it as is) plus a text form.
import type { Precision } from '@edgeloop/bundle';
import type { ActivationType } from '../quantize/qparams.js';
import type { RangeMethod } from '../quantize/histogram.js';

export interface CandidateConfig {
  precision: Precision;
  /** int8: per-channel weight scales (else per tensor). */
  perChannel?: boolean;
  /** int8: how activation ranges come from the calibration histograms. */
  method?: RangeMethod;
  /** int8: activation type of the QDQ pairs. */
  activationType?: ActivationType;
  /** int8: nodes kept in float because they are the most sensitive to quantization. */
  excluded?: string[];
  prune?: { mode: 'channels' | 'magnitude'; ratio: number };
}

export interface CandidateResult {
  id: string;
  /** Short human description, e.g. "int8 per-channel entropy u8". */
  label: string;
  config: CandidateConfig;
  /** Top-1 accuracy in percent (with an evaluation set). */
  accuracy?: number;
  /** Top-1 agreement with the fp32 model in percent, on the evaluation or calibration set. */
  agreement: number;
  /** Points lost against fp32 in the budgeted metric (accuracy with labels, else agreement). */
  drop: number;
  withinBudget: boolean;
  latencyMs: { p50: number; p95: number };
  sizeBytes: number;
  /** Ops left in float by the quantizer, with reasons. */
  floatOps?: { node: string; opType: string; reason: string }[];
  /** int8: nodes whose weights got 7 bits (reduce-range). */
  reducedRange?: string[];
  /** Why this candidate could not be built or run (it is then not within budget). */
  error?: string;
}

export interface CompileReport {
  ok: boolean;
  model: string;
  target: string;
  /** Precision the profile (or --precision) asked for. */
  requestedPrecision: Precision;
  /** Whether the search may fall back to fp32 (not when --precision names one explicitly). */
  fp32Fallback: boolean;
  opset: { source: number; compiled: number; rewritten: { node: string; opType: string; change: string }[] };
  cleanup: { pass: string; modified: boolean; ms: number }[];
  calibration?: { folder: string; kind: 'images' | 'tensors'; samples: number; skipped: { file: string; reason: string }[]; method: string };
  evaluation?: { folder: string; samples: number; classes: string[]; skipped: { file: string; reason: string }[] };
  /** 'accuracy' with an evaluation set, else 'agreement' with fp32 on the calibration set. */
  metric: 'accuracy' | 'agreement';
  maxAccuracyDrop: number;
  baseline: { accuracy?: number; latencyMs: { p50: number; p95: number }; sizeBytes: number };
  /** Layers ranked by agreement drop when quantized alone (only when the search needed it). */
  sensitivity?: { node: string; opType: string; agreementDrop: number }[];
  candidates: CandidateResult[];
  chosen?: string;
  /** Why the choice was made, or why nothing was chosen. */
  decision: string;
  /** Ops the chosen model keeps in float (unsupported by the pass, or excluded). */
  unsupportedOps: { node: string; opType: string; reason: string }[];
  bundle?: { path: string; bytes: number; sha256: string };
  durationMs: number;
  /** Where the time went (ms): load, calibration set, baseline, calibrate, candidates, sensitivity, prune, latency, bundle. */
  phasesMs: Record<string, number>;
}

const pct = (v: number | undefined): string => (v === undefined ? '-' : `${v.toFixed(2)}%`);
const kib = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;

function pad(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  '));
}

/** The report as text for a terminal. */
export function renderCompileReport(r: CompileReport): string {
  const lines = [
    `compile ${r.model} for ${r.target}: ${r.ok ? 'OK' : 'FAILED'} (${(r.durationMs / 1000).toFixed(1)} s: ${Object.entries(r.phasesMs).filter(([, ms]) => ms >= 50).map(([phase, ms]) => `${phase} ${(ms / 1000).toFixed(1)}`).join(', ')})`,
    `  opset ${r.opset.source} -> ${r.opset.compiled}${r.opset.rewritten.length ? ` (${r.opset.rewritten.length} nodes rewritten)` : ''}; cleanup: ${r.cleanup.filter((c) => c.modified).map((c) => c.pass).join(', ') || 'nothing to do'}`,
  ];
  if (r.calibration) {
    const c = r.calibration;
    lines.push(`  calibration: ${c.samples} ${c.kind} from ${c.folder}${c.skipped.length ? `, ${c.skipped.length} skipped (${c.skipped.slice(0, 3).map((s) => s.file).join(', ')}${c.skipped.length > 3 ? ', …' : ''})` : ''}`);
  }
  if (r.evaluation) lines.push(`  evaluation: ${r.evaluation.samples} labeled images in ${r.evaluation.classes.length} classes from ${r.evaluation.folder}`);
  lines.push(`  budget: at most ${r.maxAccuracyDrop} points of top-1 ${r.metric} lost against fp32; requested ${r.requestedPrecision}${r.fp32Fallback ? ' (fp32 fallback allowed)' : ''}`);
  lines.push('');
  const rows = [['', 'candidate', 'accuracy', 'agreement', 'drop', 'p50 ms', 'p95 ms', 'size', 'note']];
  for (const c of r.candidates) {
    rows.push([
      c.id === r.chosen ? '*' : c.withinBudget ? '+' : ' ',
      c.label,
      pct(c.accuracy),
      pct(c.agreement),
      c.error ? '-' : c.drop.toFixed(2),
      c.error ? '-' : c.latencyMs.p50.toFixed(3),
      c.error ? '-' : c.latencyMs.p95.toFixed(3),
      kib(c.sizeBytes),
      c.error ? `error: ${c.error}` : c.withinBudget ? '' : 'over budget',
    ]);
  }
  lines.push(...pad(rows).map((l) => `  ${l}`));
  lines.push('', `  ${r.ok ? 'chosen' : 'no choice'}: ${r.decision}`);
  if (r.unsupportedOps.length > 0) {
    const byOp = new Map<string, number>();
    for (const u of r.unsupportedOps) byOp.set(`${u.opType} (${u.reason})`, (byOp.get(`${u.opType} (${u.reason})`) ?? 0) + 1);
    lines.push(`  kept in float: ${[...byOp].map(([k, n]) => `${n}x ${k}`).join('; ')}`);
  }
  if (r.bundle) lines.push(`  wrote ${r.bundle.path} (${kib(r.bundle.bytes)}, sha256 ${r.bundle.sha256})`);
  else lines.push('  no bundle written');
  return lines.join('\n');
}
