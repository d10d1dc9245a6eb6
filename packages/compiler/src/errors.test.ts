import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as compiler from './index.js';
import {
  BudgetNotMetError, CalibrationError, CompileError, CompilerError, OpsetConversionError, PassPipelineError,
  QuantizationError, UnknownPassError, UnsupportedOpError, isCompilerError,
} from './errors.js';
import type { CompileReport } from './compile/report.js';

test('every compiler error is a CompilerError with its own stable code', () => {
  const errors: [CompilerError, string][] = [
    [new CompilerError('x'), 'COMPILER_ERROR'],
    [new UnsupportedOpError('Foo', 'n1', 'int8 quantization'), 'UNSUPPORTED_OP'],
    [new PassPipelineError('fold-constants', ['topological-sort'], new Error('boom')), 'PASS_FAILED'],
    [new UnknownPassError('nope', ['a']), 'UNKNOWN_PASS'],
    [new CalibrationError('no histogram'), 'CALIBRATION'],
    [new QuantizationError('old opset'), 'QUANTIZATION'],
    [new CompileError('bad budget'), 'COMPILE'],
    [new OpsetConversionError(9, 13, 'why'), 'OPSET_CONVERSION'],
    [new BudgetNotMetError({ decision: 'none fits' } as CompileReport), 'COMPILE_BUDGET_NOT_MET'],
  ];
  for (const [error, code] of errors) {
    assert.ok(isCompilerError(error), error.name);
    assert.equal(error.code, code, error.name);
    assert.equal(error.name, error.constructor.name);
  }
});

test('the package index exports the error classes from errors.ts', () => {
  assert.equal(compiler.PassPipelineError, PassPipelineError);
  assert.equal(compiler.CalibrationError, CalibrationError);
  assert.equal(compiler.QuantizationError, QuantizationError);
  assert.equal(compiler.BudgetNotMetError, BudgetNotMetError);
});
