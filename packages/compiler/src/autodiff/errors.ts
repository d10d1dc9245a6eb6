// Named errors of the gradient-graph builder.
import { CompilerError } from '../errors.js';

/** A node on the path from a trainable weight to the loss whose op has no gradient rule. */
export class NoGradientRuleError extends CompilerError {
  override readonly code = 'NO_GRADIENT_RULE';
  readonly opType: string;
  readonly nodeName: string;
  constructor(opType: string, nodeName: string) {
    super(`gradient graph: no gradient rule for op '${opType}' (node '${nodeName}')`);
    this.opType = opType;
    this.nodeName = nodeName;
  }
}

/** The model cannot be differentiated as asked (unknown loss output, dynamic shapes, unsupported attribute). */
export class GradientGraphError extends CompilerError {
  override readonly code = 'GRADIENT_GRAPH';
}
