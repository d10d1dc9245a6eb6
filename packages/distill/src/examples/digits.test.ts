import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readEdgeloopMetadata } from '@edgeloop/compiler';
import { convStudent } from '../students.js';
import { loadDigits, runDigitsExample } from './digits.js';

test('loadDigits reads the 10,000 real digits of the mnist package, normalized, about 1,000 per class', () => {
  const digits = loadDigits();
  assert.equal(digits.count, 10000);
  assert.deepEqual(digits.sampleShape, [1, 28, 28]);
  const perClass = new Array<number>(10).fill(0);
  for (const label of digits.labels ?? []) perClass[label]++;
  assert.ok(perClass.every((n) => n > 800 && n < 1200), perClass.join(','));
  let min = Infinity;
  let max = -Infinity;
  for (const v of digits.inputs) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  assert.ok(Math.abs(min - -0.1307 / 0.3081) < 1e-4 && max > 2.5, `range ${min}..${max}`);
});

test('the digits example trains teacher, student and distilled student and prints a table (smoke size)', async () => {
  const result = await runDigitsExample({
    trainCount: 1280, teacherEpochs: 3, studentEpochs: 3, reporter: 'silent', threads: 1,
    teacher: convStudent({ inputShape: [1, 28, 28], classes: 10, channels: [8, 16], seed: 1 }),
    students: [{ name: 'tiny', model: convStudent({ inputShape: [1, 28, 28], classes: 10, channels: [4], seed: 2 }) }],
  });
  assert.equal(result.rows.length, 3);
  for (const row of result.rows) assert.ok(row.testError < 0.4, `${row.model}: ${row.testError}`);
  assert.match(result.table, /teacher/);
  assert.match(result.table, /tiny distilled \(T=4, alpha=0.9\)/);
  assert.deepEqual(readEdgeloopMetadata(result.models['tiny distilled']).labels, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  assert.equal(readEdgeloopMetadata(result.models.teacher).preprocessing?.colorOrder, 'GRAY');
});
