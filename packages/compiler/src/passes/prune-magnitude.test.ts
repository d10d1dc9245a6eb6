import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../ir/builder.js';
import { tensorToTypedArray } from '../ir/tensor.js';
import type { Model } from '../ir/types.js';
import { pruneMagnitude } from './prune-magnitude.js';
import { assertCheckerPasses, floatTensorOf, relativeError, runModel, seededFloats } from './test-support.js';

function net(): Model {
  const b = new GraphBuilder('g');
  const x = b.input('x', 'float32', ['N', 4, 8, 8]);
  let y = b.node('Conv', [x, b.initializer('w1', seededFloats(32 * 36, 1, 0.3), [32, 4, 3, 3])], { pads: [1, 1, 1, 1] }, { name: 'conv' });
  y = b.node('Flatten', [b.node('GlobalAveragePool', [b.node('Relu', [y])])]);
  b.output(b.node('Gemm', [y, b.initializer('fc', seededFloats(10 * 32, 2, 3), [10, 32])], { transB: 1 }, { name: 'fc', outputs: ['y'] }));
  return b.build({ opset: 13 });
}

const zerosOf = (m: Model, name: string): number => {
  const v = tensorToTypedArray(m.graph.initializers.find((t) => t.name === name)!) as Float32Array;
  return v.filter((x) => x === 0).length / v.length;
};

test('per-layer magnitude pruning hits each layer\'s sparsity exactly and shrinks the gzip size', async () => {
  const model = net();
  const { model: pruned, report } = pruneMagnitude(model, { sparsity: 0.5, scope: 'per-layer', layers: { fc: 0.25 } });
  assert.equal(zerosOf(pruned, 'w1'), 0.5);
  assert.equal(zerosOf(pruned, 'fc'), 0.25);
  assert.deepEqual(report.layers.map((l) => [l.node, l.sparsity]), [['conv', 0.5], ['fc', 0.25]]);
  assert.ok(report.after!.gzipBytes < report.before!.gzipBytes * 0.8, `${report.before!.gzipBytes} -> ${report.after!.gzipBytes}`);
  assert.equal(report.after!.bytes, report.before!.bytes, 'same shape, same raw size');
  // Small weights go first, so the outputs move only a little at moderate sparsity.
  const feeds = { x: floatTensorOf(seededFloats(2 * 256, 3), [2, 4, 8, 8]) };
  const err = relativeError((await runModel(pruned, feeds)).y, (await runModel(model, feeds)).y);
  assert.ok(err < 0.5, `relative error ${err}`);
  assertCheckerPasses(pruned);
});

test('global pruning uses one threshold: layers with smaller weights lose more', () => {
  const { report } = pruneMagnitude(net(), { sparsity: 0.5, measureSize: false });
  const byNode = Object.fromEntries(report.layers.map((l) => [l.node, l.sparsity]));
  assert.ok(Math.abs(report.overallSparsity - 0.5) < 0.01);
  assert.ok(byNode.conv > 0.5 && byNode.fc < 0.5, JSON.stringify(byNode));
  assert.equal(report.before, undefined);
});
