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

for (const opset of [11, 13, 17, 18]) {
  test(`without histograms (minmax only, opset ${opset}), onnxruntime summarizes activations to the same min / max / mean / count`, async () => {
    const b = new GraphBuilder('g');
    const x = b.input('x', 'float32', ['N', 3, 4, 4]);
    const c = b.node('Conv', [x, b.initializer('w', seededFloats(4 * 3, 2), [4, 3, 1, 1])], {}, { name: 'conv', outputs: ['c'] });
    const r = b.node('Relu', [c], {}, { name: 'relu', outputs: ['r'] });
    const y = b.node('Conv', [r, b.initializer('w2', seededFloats(2 * 4, 3), [2, 4, 1, 1])], {}, { name: 'conv2', outputs: ['y'] });
    b.output(y);
    const model = b.build({ opset });
    const samples = Array.from({ length: 7 }, (_, i) => ({ x: { data: seededFloats(48, i + 10).map((v) => v * (1 + i)), dims: [1, 3, 4, 4] } }));
    const full = await calibrateModel(model, samples, { batchSize: 3, tensors: ['x', 'c', 'r', 'y'] });
    const summary = await calibrateModel(model, samples, { batchSize: 3, tensors: ['x', 'c', 'r', 'y'], histograms: false });
    for (const name of ['x', 'c', 'r', 'y']) {
      const a = full.histograms.get(name)!;
      const s = summary.histograms.get(name)!;
      assert.equal(s.count, a.count, name);
      assert.ok(Math.abs(s.min - a.min) < 1e-6 && Math.abs(s.max - a.max) < 1e-6, `${name}: [${s.min}, ${s.max}] vs [${a.min}, ${a.max}]`);
      assert.ok(Math.abs(s.mean - a.mean) < 1e-5 && Math.abs(s.std - a.std) < 1e-4, `${name}: mean ${s.mean} vs ${a.mean}, std ${s.std} vs ${a.std}`);
      assert.deepEqual(s.quantizationRange({ method: 'minmax' }), [s.min, s.max]);
    }
    // Intermediates have no bins: percentile / entropy refuse rather than invent a range.
    assert.equal(summary.histograms.get('c')!.summaryOnly, true);
    assert.throws(() => summary.histograms.get('c')!.quantizationRange({ method: 'percentile' }), /need histograms/);
    // The model's input and output keep full histograms for the manifest's drift statistics.
    assert.equal(summary.histograms.get('x')!.summaryOnly, false);
    assert.equal(summary.histograms.get('y')!.summaryOnly, false);
    const stats = calibrationStatistics(summary, { bins: 8 });
    assert.equal(stats.x.histogram!.counts.reduce((sum, k) => sum + k, 0), 7 * 48);
  });
}

test('large activations are histogrammed from a strided sample taken in onnxruntime; statistics stay exact and ranges close', async () => {
  const b = new GraphBuilder('g');
  const x = b.input('x', 'float32', ['N', 3, 32, 32]);
  const c = b.node('Conv', [x, b.initializer('w', seededFloats(8 * 3 * 9, 5), [8, 3, 3, 3])], { pads: [1, 1, 1, 1] }, { name: 'conv', outputs: ['c'] });
  const y = b.node('GlobalAveragePool', [b.node('Relu', [c], {}, { name: 'relu', outputs: ['r'] })], {}, { name: 'gap', outputs: ['y'] });
  b.output(y);
  const model = b.build();
  const samples = Array.from({ length: 48 }, (_, i) => ({ x: { data: seededFloats(3 * 32 * 32, i + 40, 2), dims: [1, 3, 32, 32] } }));
  const tensors = ['x', 'c', 'r', 'y'];
  const full = await calibrateModel(model, samples, { batchSize: 4, tensors, histogramSample: 0 });
  const sampled = await calibrateModel(model, samples, { batchSize: 4, tensors, histogramSample: 2500 });
  for (const name of ['c', 'r']) {
    const a = full.histograms.get(name)!;
    const s = sampled.histograms.get(name)!;
    // 8 * 32 * 32 = 8192 values per sample: a stride of 5 (the first prime >= 8192 / 2500 = 3.3 -> 4).
    const binned = s.counts.reduce((sum, k) => sum + k, 0);
    assert.ok(binned > 48 * 8192 / 5 - 12 && binned < 48 * 8192 / 5 + 12, `${name}: ${binned} values binned`);
    assert.equal(s.count, a.count);
    assert.equal(s.summaryOnly, false);
    assert.ok(Math.abs(s.min - a.min) < 1e-6 && Math.abs(s.max - a.max) < 1e-6);
    assert.ok(Math.abs(s.mean - a.mean) < 1e-4 && Math.abs(s.std - a.std) < 1e-3, `${name}: mean ${s.mean} vs ${a.mean}`);
    // Percentiles move little; the KL search is noisier where the tail is sparse.
    for (const [method, tolerance] of [['percentile', 0.02], ['entropy', 0.06]] as const) {
      const [lowA, highA] = a.quantizationRange({ method, percentile: 99.9 });
      const [lowS, highS] = s.quantizationRange({ method, percentile: 99.9 });
      const span = a.max - a.min;
      assert.ok(Math.abs(highS - highA) < tolerance * span && Math.abs(lowS - lowA) < tolerance * span, `${name} ${method}: [${lowS}, ${highS}] vs [${lowA}, ${highA}]`);
    }
  }
  // The input and the (small) output are binned in full.
  assert.equal(sampled.histograms.get('x')!.counts.reduce((sum, k) => sum + k, 0), 48 * 3 * 32 * 32);
  assert.deepEqual([...sampled.histograms.get('y')!.counts], [...full.histograms.get('y')!.counts]);
});
