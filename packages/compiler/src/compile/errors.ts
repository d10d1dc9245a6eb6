// Named errors of the compile pipeline (kept beside it while passes/ is being finished; they
// extend CompilerError so the CLI reports each as one line).
import { CompilerError } from '../errors.js';
import type { CompileReport } from './report.js';

/** Bad compile options or inputs a user can fix (missing calibration data, bad budget, ...). */
export class CompileError extends CompilerError {}

/** The model's opset cannot be brought to what the target accepts. */
export class OpsetConversionError extends CompilerError {
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
  readonly code = 'COMPILE_BUDGET_NOT_MET';
  readonly report: CompileReport;
  constructor(report: CompileReport) {
    super(`no candidate meets the accuracy budget: ${report.decision}; no bundle written`);
    this.report = report;
  }
}
