import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { METADATA_KEYS, readEdgeloopMetadata, tensorToTypedArray } from '@edgeloop/compiler';
import { loadCheckpoint } from './checkpoint.js';
import { CheckpointError } from './errors.js';
import { evaluate } from './evaluate.js';
import { convStudent, mobileNetStudent } from './students.js';
import { barsDataset } from './test-support.js';
import { train } from './trainer.js';

const student = (): ReturnType<typeof convStudent> => convStudent({ inputShape: [1, 8, 8], classes: 3, channels: [4, 8], seed: 3 });

test('a tiny CNN learns the bars task: loss falls and test accuracy rises', async () => {
  const trainSet = barsDataset(480, 1);
  const testSet = barsDataset(300, 2);
  const before = await evaluate(student(), testSet);
  const result = await train(student(), {
    train: trainSet, validation: testSet, epochs: 4, batchSize: 32, learningRate: 0.05, seed: 1, reporter: 'silent', threads: 1,
    metadata: { labels: ['horizontal', 'vertical', 'diagonal'], task: 'classification' },
  });
  const losses = result.history.map((h) => h.trainLoss);
  assert.ok(losses[losses.length - 1] < losses[0] * 0.5, `losses ${losses.join(', ')}`);
  const after = await evaluate(result.model, testSet);
  assert.ok(before.accuracy < 0.6, `untrained accuracy ${before.accuracy}`);
  assert.ok(after.accuracy > 0.9, `trained accuracy ${after.accuracy}`);
  assert.ok(Math.abs((result.history.at(-1)?.valAccuracy ?? 0) - after.accuracy) < 1e-9, 'validation during training uses the same weights');
  assert.ok(result.samplesPerSecond > 0);
  // The exported model is an inference model with trained BN statistics and edgeloop metadata.
  const meta = readEdgeloopMetadata(result.model);
  assert.deepEqual(meta.labels, ['horizontal', 'vertical', 'diagonal']);
  assert.equal(meta.task, 'classification');
  assert.ok(result.model.metadataProps.some((e) => e.key === METADATA_KEYS.labels));
  const runningVar = result.model.graph.initializers.find((t) => t.name === 'block1.bn.running_var');
  assert.ok(runningVar);
  assert.ok(Array.from(tensorToTypedArray(runningVar) as Float32Array).some((v) => Math.abs(v - 1) > 1e-3), 'running variance was updated');
  assert.ok(result.model.graph.nodes.some((n) => n.opType === 'BatchNormalization'), 'BatchNormalization stays an inference node');
});

test('the same seed gives the same run; Adam with weight decay and a step schedule also learns', async () => {
  const data = barsDataset(192, 5);
  const options = {
    train: data, epochs: 2, batchSize: 32, learningRate: 0.01, seed: 9, reporter: 'silent' as const, threads: 1,
    optimizer: { kind: 'adam' as const, weightDecay: 1e-4 }, schedule: { kind: 'step' as const, everyEpochs: 1, gamma: 0.5 },
    augment: { shift: 1, noise: 0.05 },
  };
  const a = await train(student(), options);
  const b = await train(student(), options);
  assert.deepEqual(a.history.map((h) => h.trainLoss), b.history.map((h) => h.trainLoss));
  assert.equal(a.history[1].lr, 0.005);
  assert.ok(a.history[1].trainLoss < a.history[0].trainLoss);
});

test('checkpoints resume after an interruption and reproduce the uninterrupted run', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edgeloop-ckpt-'));
  try {
    const data = barsDataset(160, 7);
    const base = { train: data, epochs: 3, batchSize: 32, learningRate: 0.05, seed: 4, reporter: 'silent' as const, threads: 1, augment: { shift: 1 } };
    const straight = await train(student(), base);
    const path = join(dir, 'run.ckpt');
    const first = await train(student(), { ...base, checkpoint: { path }, maxEpochsThisRun: 1 });
    assert.equal(first.history.length, 1);
    const saved = await loadCheckpoint(path);
    assert.equal(saved?.meta.nextEpoch, 1);
    // Another configuration is refused by name rather than mixed into this run.
    await assert.rejects(train(student(), { ...base, learningRate: 0.1, checkpoint: { path } }), (err: Error) =>
      err instanceof CheckpointError && /written by a different run \(learningRate 0\.05 in the checkpoint, 0\.1 now\)/.test(err.message));
    await assert.rejects(train(student(), { ...base, train: barsDataset(160, 8), checkpoint: { path } }), /\(data differs\)/);
    await assert.rejects(train(student(), { ...base, checkpoint: { path, config: { arch: 'other' } } }), /\(arch none in the checkpoint, "other" now\)/);
    const resumed = await train(student(), { ...base, checkpoint: { path } });
    assert.equal(resumed.resumedFromEpoch, 1);
    assert.deepEqual(resumed.history.map((h) => h.trainLoss), straight.history.map((h) => h.trainLoss));
    const weight = (m: typeof straight.model): Float32Array =>
      tensorToTypedArray(m.graph.initializers.find((t) => t.name === 'classifier.weight') as never) as Float32Array;
    assert.deepEqual(weight(resumed.model), weight(straight.model));

    await writeFile(join(dir, 'bad.ckpt'), 'EDGECKPT\x10\x00\x00\x00{"meta"');
    await assert.rejects(loadCheckpoint(join(dir, 'bad.ckpt')), CheckpointError);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('early stopping halts when validation stops improving and returns the best weights', async () => {
  const data = barsDataset(96, 8);
  const result = await train(student(), {
    train: data, validation: barsDataset(60, 9), epochs: 10, batchSize: 32, learningRate: 0, batchNorm: 'frozen', seed: 1, reporter: 'silent', threads: 1,
    earlyStopping: { patience: 2, metric: 'loss' },
  });
  assert.equal(result.stoppedEarly, true);
  assert.equal(result.history.length, 3);
  assert.equal(result.bestEpoch, 0);
});

test('a MobileNet-style student (depthwise separable, width 0.5) trains with distillation from teacher logits', async () => {
  const trainSet = barsDataset(192, 11);
  const teacher = await train(student(), { train: trainSet, epochs: 3, batchSize: 32, learningRate: 0.05, seed: 2, reporter: 'silent', threads: 1 });
  const teacherLogits = (await evaluate(teacher.model, trainSet)).logits;
  const mobile = mobileNetStudent({
    inputShape: [1, 8, 8], classes: 3, widthMultiplier: 0.5, seed: 5, blocks: [{ out: 16, stride: 2 }, { out: 32, stride: 1 }],
  });
  const result = await train(mobile, {
    train: { ...trainSet, teacherLogits }, epochs: 3, batchSize: 32, learningRate: 0.05, seed: 3, reporter: 'silent', threads: 1,
    loss: { kind: 'distillation', temperature: 2, alpha: 0.5 },
  });
  assert.ok(result.trainingGraph.lossTerms.kd && result.trainingGraph.lossTerms.ce);
  const losses = result.history.map((h) => h.trainLoss);
  assert.ok(losses[2] < losses[0], `losses ${losses.join(', ')}`);
});
