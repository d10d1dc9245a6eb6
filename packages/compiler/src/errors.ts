// Named errors of @edgeloop/compiler. Each carries a one-line message suitable for the CLI and,
// where one exists, the underlying `cause`.

/** Base class so callers can catch every compiler error with one guard. */
export class CompilerError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A file or byte buffer that is not a readable ONNX model (missing, empty, truncated, garbage). */
export class OnnxLoadError extends CompilerError {
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
  constructor(target: string, reason: string, options?: { cause?: unknown }) {
    super(`cannot save ONNX model: ${target}: ${reason}`, options);
  }
}

/** The graph's data flow has a cycle; `cycle` lists node names along it (first repeated last). */
export class GraphCycleError extends CompilerError {
  readonly cycle: string[];
  constructor(graphName: string, cycle: string[]) {
    super(`graph '${graphName}' has a cycle: ${cycle.join(' -> ')}`);
    this.cycle = cycle;
  }
}

/** An op that a table-driven component (shape inference, quantizer, ...) has no handler for. */
export class UnsupportedOpError extends CompilerError {
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
  readonly opType: string;
  readonly nodeName: string;
  constructor(opType: string, nodeName: string, reason: string, options?: { cause?: unknown }) {
    super(`shape inference: ${opType} node '${nodeName}': ${reason}`, options);
    this.opType = opType;
    this.nodeName = nodeName;
  }
}

/** Misuse of the graph builder (duplicate names, unknown dtype, data/shape size mismatch). */
export class GraphBuildError extends CompilerError {}

export function isCompilerError(err: unknown): err is CompilerError {
  return err instanceof CompilerError;
}

/** A model that cannot be packaged into a bundle as asked (non-tensor I/O, bad preprocessing, ...). */
export class PackagingError extends CompilerError {}
