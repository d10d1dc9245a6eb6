import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CalibrationError } from '@edgeloop/compiler';
import { reportError } from './output.js';

test('--json errors carry a compiler error code, not INTERNAL', () => {
  const written: string[] = [];
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string) => written.push(chunk) > 0) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  let exitCode: number;
  try {
    exitCode = reportError(new CalibrationError("no calibration histogram for tensor 'x'"), { json: true });
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
  assert.equal(exitCode, 1);
  const parsed = JSON.parse(written.join('')) as { ok: boolean; error: { code: string; message: string } };
  assert.deepEqual(parsed, { ok: false, error: { code: 'CALIBRATION', message: "no calibration histogram for tensor 'x'" } });
});
