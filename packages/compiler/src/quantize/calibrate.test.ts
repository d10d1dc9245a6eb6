import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../ir/builder.js';
import { seededFloats } from '../passes/test-support.js';
import { calibrateModel, calibrationStatistics } from './calibrate.js';

test('observes activations in batches and produces manifest calibration statistics', async () => {
  const b = new GraphBuilder('g');
  const x = b.input('x', 'float32', ['N', 3, 4, 4]);
  const y = b.node('Relu', [b.node('Conv', [x, b.initializer('w', seededFloats(2 * 3, 1), [2, 3, 1, 1])], {}, { name: 'conv', outputs: ['c'] })], {}, { name: 'relu', outputs: ['y'] });
  b.output(y);
  const model = b.build();
  const samples = Array.from({ length: 10 }, (_, i) => ({ x: { data: seededFloats(48, i + 1).map((v) => v + (i % 3)), dims: [1, 3, 4, 4] } }));
  async function* stream(): AsyncGenerator<(typeof samples)[number]> {
    yield* samples;
  }
  const data = await calibrateModel(model, stream(), { batchSize: 4, bins: 256 });
  assert.equal(data.samples, 10);
  assert.deepEqual([...data.histograms.keys()].sort(), ['c', 'x', 'y']);
  assert.equal(data.histograms.get('x')!.count, 480);
  assert.equal(data.histograms.get('y')!.min, 0);
  const stats = calibrationStatistics(data, { bins: 16 });
  assert.deepEqual(Object.keys(stats).sort(), ['x', 'y']);
  assert.equal(stats.x.mean.length, 3, 'per-channel mean for an NCHW input');
  const expectedMean0 = samples.reduce((s, f) => s + f.x.data.slice(0, 16).reduce((a, v) => a + v, 0), 0) / 160;
  assert.ok(Math.abs(stats.x.mean[0] - expectedMean0) < 1e-5);
  assert.equal(stats.x.histogram!.counts.reduce((a, c) => a + c, 0), 480);
  assert.ok(stats.y.std.every((v) => v >= 0) && stats.y.histogram!.counts.every((c) => Number.isInteger(c)));
});
