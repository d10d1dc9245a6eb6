import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassPipelineError } from '../errors.js';
import { GraphBuilder } from '../ir/builder.js';
import type { Model } from '../ir/types.js';
import { CLEANUP_PIPELINE, runPipeline } from './manager.js';
import { assertCheckerPasses, assertSameOutputs, floatTensorOf, runModel, seededFloats } from './test-support.js';

test('runs the cleanup pipeline (data) and records each pass', async () => {
  const b = new GraphBuilder('g');
  const x = b.input('x', 'float32', [1, 2, 4, 4]);
  let y = b.node('Conv', [x, b.initializer('w', seededFloats(8, 1), [4, 2, 1, 1])]);
  const ones = b.initializer('ones', Float32Array.from([1, 1, 1, 1]), [4]);
  const zeros = b.initializer('zeros', new Float32Array(4), [4]);
  y = b.node('BatchNormalization', [y, ones, zeros, zeros, ones]);
  y = b.node('Identity', [y]);
  const shape = b.constant(BigInt64Array.of(1n, -1n), [2]);
  b.output(b.node('Reshape', [y, shape]));
  const model = b.build();
  const result = await runPipeline(model, CLEANUP_PIPELINE);
  assert.deepEqual(result.steps.map((s) => s.name), CLEANUP_PIPELINE.map((s) => s.pass));
  assert.deepEqual(result.model.graph.nodes.map((n) => n.opType), ['Conv', 'Reshape']);
  const feeds = { x: floatTensorOf(seededFloats(32, 2), [1, 2, 4, 4]) };
  assertSameOutputs(await runModel(result.model, feeds), await runModel(model, feeds), 1e-6);
  assertCheckerPasses(result.model);
});

test('a failing pass is named along with the passes already run', async () => {
  const b = new GraphBuilder('g');
  b.output(b.node('Relu', [b.input('x', 'float32', [1])]));
  const boom = (_model: Model): never => {
    throw new Error('boom');
  };
  await assert.rejects(runPipeline(b.build(), [{ pass: 'remove-identity' }, { pass: 'fold-constants' }, { pass: boom, name: 'exploder' }]), (error: unknown) => {
    assert.ok(error instanceof PassPipelineError);
    assert.equal(error.failedPass, 'exploder');
    assert.deepEqual(error.completed, ['remove-identity', 'fold-constants']);
    assert.match(error.message, /exploder.*boom.*remove-identity, fold-constants/);
    return true;
  });
  await assert.rejects(runPipeline(b.build(), [{ pass: 'no-such-pass' }]), /unknown pass 'no-such-pass'/);
});

test('an async calibrate-and-quantize step runs in a pipeline and its report is recorded', async () => {
  const b = new GraphBuilder('g');
  const x = b.input('x', 'float32', ['N', 2, 4, 4]);
  const y = b.node('Relu', [b.node('Conv', [x, b.initializer('w', seededFloats(8 * 18, 1), [8, 2, 3, 3])], { pads: [1, 1, 1, 1] })]);
  b.output(b.node('GlobalAveragePool', [y], {}, { outputs: ['y'] }));
  const samples = Array.from({ length: 4 }, (_, i) => ({ x: { data: seededFloats(32, 10 + i), dims: [1, 2, 4, 4] } }));
  const result = await runPipeline(b.build({ opset: 13 }), [...CLEANUP_PIPELINE, { pass: 'quantize-static-calibrated', options: { samples } }]);
  const last = result.steps[result.steps.length - 1];
  assert.equal(last.name, 'quantize-static-calibrated');
  assert.deepEqual((last.report as { fusedActivations: unknown[] }).fusedActivations.length, 1);
  assert.ok(result.model.graph.nodes.some((n) => n.opType === 'QuantizeLinear'));
});
