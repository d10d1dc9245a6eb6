// Named errors of @edgeloop/compiler. Each carries a one-line message suitable for the CLI, a
// stable `code` (the CLI's --json errors carry it, so callers branch without parsing text) and,
// where one exists, the underlying `cause`.
import type { CompileReport } from './compile/report.js';

/** Base class so callers can catch every compiler error with one guard. */
export class CompilerError extends Error {
  /** Stable machine-readable code; each subclass sets its own. */
  readonly code: string = 'COMPILER_ERROR';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A file or byte buffer that is not a readable ONNX model (missing, empty, truncated, garbage). */
export class OnnxLoadError extends CompilerError {
  override readonly code = 'ONNX_LOAD';
  readonly source: string;
  readonly reason: string;
  constructor(source: string, reason: string, options?: { cause?: unknown }) {
    super(`not an ONNX model: ${source}: ${reason}`, options);
    this.source = source;
    this.reason = reason;
  }
}

/** A model that cannot be written (e.g. an unresolvable external-data tensor, an I/O failure). */
export class OnnxSaveError extends CompilerError {
  override readonly code = 'ONNX_SAVE';
  constructor(target: string, reason: string, options?: { cause?: unknown }) {
    super(`cannot save ONNX model: ${target}: ${reason}`, options);
  }
}

/** The graph's data flow has a cycle; `cycle` lists node names along it (first repeated last). */
export class GraphCycleError extends CompilerError {
  override readonly code = 'GRAPH_CYCLE';
  readonly cycle: string[];
  constructor(graphName: string, cycle: string[]) {
    super(`graph '${graphName}' has a cycle: ${cycle.join(' -> ')}`);
    this.cycle = cycle;
  }
}

/** An op that a table-driven component (shape inference, quantizer, ...) has no handler for. */
export class UnsupportedOpError extends CompilerError {
  override readonly code = 'UNSUPPORTED_OP';
  readonly opType: string;
  readonly nodeName: string;
  constructor(opType: string, nodeName: string, what = 'shape inference') {
    super(`${what}: unsupported op '${opType}' (node '${nodeName}')`);
    this.opType = opType;
    this.nodeName = nodeName;
  }
}

/** Shape inference found inputs that cannot go together (rank mismatch, bad broadcast, ...). */
export class ShapeInferenceError extends CompilerError {
  override readonly code = 'SHAPE_INFERENCE';
  readonly opType: string;
  readonly nodeName: string;
  constructor(opType: string, nodeName: string, reason: string, options?: { cause?: unknown }) {
    super(`shape inference: ${opType} node '${nodeName}': ${reason}`, options);
    this.opType = opType;
    this.nodeName = nodeName;
  }
}

/** Misuse of the graph builder (duplicate names, unknown dtype, data/shape size mismatch). */
export class GraphBuildError extends CompilerError {
  override readonly code = 'GRAPH_BUILD';
}

export function isCompilerError(err: unknown): err is CompilerError {
  return err instanceof CompilerError;
}

/** A model that cannot be packaged into a bundle as asked (non-tensor I/O, bad preprocessing, ...). */
export class PackagingError extends CompilerError {
  override readonly code = 'PACKAGING';
}

/** A pass in a pipeline threw; `completed` lists the passes that ran before it, in order. */
export class PassPipelineError extends CompilerError {
  override readonly code = 'PASS_FAILED';
  readonly failedPass: string;
  readonly completed: string[];
  constructor(failedPass: string, completed: string[], cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    const done = completed.length > 0 ? completed.join(', ') : 'none';
    super(`pass '${failedPass}' failed: ${reason} (passes already run: ${done})`, { cause });
    this.failedPass = failedPass;
    this.completed = completed;
  }
}

/** An unknown pass name in a pipeline. */
export class UnknownPassError extends CompilerError {
  override readonly code = 'UNKNOWN_PASS';
  constructor(name: string, known: string[]) {
    super(`unknown pass '${name}'; registered: ${known.join(', ')}`);
  }
}

/** Calibration data missing what a consumer needs, or unusable samples. */
export class CalibrationError extends CompilerError {
  override readonly code = 'CALIBRATION';
}

/** The model cannot be quantized as asked (old opset, ...). */
export class QuantizationError extends CompilerError {
  override readonly code = 'QUANTIZATION';
}

/** Bad compile options or inputs a user can fix (missing calibration data, bad budget, ...). */
export class CompileError extends CompilerError {
  override readonly code: string = 'COMPILE';
}

/** The model's opset cannot be brought to what the target accepts. */
export class OpsetConversionError extends CompilerError {
  override readonly code = 'OPSET_CONVERSION';
  readonly from: number;
  readonly to: number;
  constructor(from: number, to: number, reason: string, options?: { cause?: unknown }) {
    super(`cannot convert the model from opset ${from} to ${to}: ${reason}`, options);
    this.from = from;
    this.to = to;
  }
}

/** No candidate met the accuracy budget; `report` lists every candidate tried. No bundle was written. */
export class BudgetNotMetError extends CompilerError {
  override readonly code = 'COMPILE_BUDGET_NOT_MET';
  readonly report: CompileReport;
  constructor(report: CompileReport) {
    super(`no candidate meets the accuracy budget: ${report.decision}; no bundle written`);
    this.report = report;
  }
}
