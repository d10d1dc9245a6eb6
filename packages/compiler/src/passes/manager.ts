// The pass manager: a pipeline is data (a list of { pass, options }) and one runner executes it.
// Passes are looked up by name in a registry (or given as functions); when one fails, the error
// names the failing pass and every pass already run, with the original error as `cause`.
import { PassPipelineError, UnknownPassError } from '../errors.js';
import type { Model } from '../ir/types.js';
import { constantToInitializer } from './constant-to-initializer.js';
import { convertToFp16 } from './convert-fp16.js';
import { foldBatchNorm } from './fold-batch-norm.js';
import { foldConstants } from './fold-constants.js';
import { initializerInputsToConstants } from './initializer-inputs.js';
import type { PassResult } from './pass.js';
import { pruneChannels } from './prune-channels.js';
import { pruneMagnitude } from './prune-magnitude.js';
import { quantizeStaticCalibrated } from './quantize-calibrated.js';
import { quantizeDynamic } from './quantize-dynamic.js';
import { quantizeStatic } from './quantize-static.js';
import { removeDeadCode } from './remove-dead-code.js';
import { removeIdentity } from './remove-identity.js';
import { topologicalSort } from './topological-sort.js';

/** Any pass: sync or async (calibration-driven passes may need onnxruntime). */
export type AnyPass = (model: Model, options: never) => PassResult | Promise<PassResult>;

export interface PipelineStep {
  /** A registered pass name, or the pass itself. */
  pass: string | AnyPass;
  options?: unknown;
  /** Shown in reports and errors; defaults to the registered name or the function name. */
  name?: string;
}

export interface PipelineRecord {
  name: string;
  modified: boolean;
  ms: number;
  /** The pass's report, when its result carries one (quantizers, pruners, fp16). */
  report?: unknown;
}

export interface PipelineResult extends PassResult {
  steps: PipelineRecord[];
}

const registry = new Map<string, AnyPass>([
  ['initializer-inputs-to-constants', initializerInputsToConstants],
  ['constant-to-initializer', constantToInitializer],
  ['remove-identity', removeIdentity],
  ['fold-constants', foldConstants as AnyPass],
  ['fold-batch-norm', foldBatchNorm],
  ['remove-dead-code', removeDeadCode],
  ['topological-sort', topologicalSort],
  ['quantize-static', quantizeStatic as AnyPass],
  ['quantize-static-calibrated', quantizeStaticCalibrated as AnyPass],
  ['quantize-dynamic', quantizeDynamic as AnyPass],
  ['convert-fp16', convertToFp16 as AnyPass],
  ['prune-magnitude', pruneMagnitude as AnyPass],
  ['prune-channels', pruneChannels as AnyPass],
]);

/** Makes `pass` available by name in pipelines (later registrations replace earlier ones). */
export function registerPass(name: string, pass: AnyPass): void {
  registry.set(name, pass);
}

export function registeredPasses(): string[] {
  return [...registry.keys()].sort();
}

/** The cleanup pipeline: initializers stop being graph inputs, constants become initializers, copies go, constants fold, BN folds, dead code goes. */
export const CLEANUP_PIPELINE: readonly PipelineStep[] = [
  { pass: 'initializer-inputs-to-constants' },
  { pass: 'topological-sort' },
  { pass: 'constant-to-initializer' },
  { pass: 'remove-identity' },
  { pass: 'fold-constants' },
  { pass: 'fold-batch-norm' },
  { pass: 'remove-dead-code' },
];

export async function runPipeline(model: Model, steps: readonly PipelineStep[]): Promise<PipelineResult> {
  const records: PipelineRecord[] = [];
  let current = model;
  let modified = false;
  for (const step of steps) {
    const name = step.name ?? (typeof step.pass === 'string' ? step.pass : step.pass.name || 'anonymous pass');
    const pass = typeof step.pass === 'string' ? registry.get(step.pass) : step.pass;
    if (!pass) throw new PassPipelineError(name, records.map((r) => r.name), new UnknownPassError(name, registeredPasses()));
    const start = performance.now();
    let result: PassResult;
    try {
      result = await pass(current, step.options as never);
    } catch (error) {
      throw new PassPipelineError(name, records.map((r) => r.name), error);
    }
    const record: PipelineRecord = { name, modified: result.modified, ms: performance.now() - start };
    if ('report' in result) record.report = (result as { report: unknown }).report;
    records.push(record);
    current = result.model;
    modified ||= result.modified;
  }
  return { model: current, modified, steps: records };
}
