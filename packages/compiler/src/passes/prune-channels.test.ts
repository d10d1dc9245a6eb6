import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../ir/builder.js';
import type { Model } from '../ir/types.js';
import { pruneChannels } from './prune-channels.js';
import { assertCheckerPasses, assertSameOutputs, floatTensorOf, runModel, seededFloats } from './test-support.js';

/** Filters of the listed output channels are zero (and so are their biases / BN shifts). */
function withDeadChannels(values: Float32Array, cout: number, dead: Set<number>): Float32Array {
  const per = values.length / cout;
  return values.map((v, i) => (dead.has(Math.floor(i / per)) ? 0 : v));
}

/**
 * conv1 (16) -> BN -> Relu -> depthwise -> Relu -> conv2 (16), + residual from conv1 -> Add ->
 * Concat with conv3 (8) -> conv4 (12) -> GAP -> Flatten -> Gemm; plus a branch reaching a graph output.
 */
function net(dead: boolean): Model {
  const b = new GraphBuilder('g');
  const x = b.input('x', 'float32', ['N', 3, 8, 8]);
  const d16 = new Set(dead ? [1, 4, 5, 9, 12, 15] : []);
  const d8 = new Set(dead ? [0, 3, 6] : []);
  const d12 = new Set(dead ? [2, 7, 8, 10, 11] : []);
  const z = (v: Float32Array, c: number, s: Set<number>): Float32Array => withDeadChannels(v, c, s);
  const c1 = b.node('Conv', [x, b.initializer('w1', z(seededFloats(16 * 27, 1, 0.4), 16, d16), [16, 3, 3, 3]), b.initializer('b1', z(seededFloats(16, 2, 0.1), 16, d16), [16])], { pads: [1, 1, 1, 1] }, { name: 'conv1' });
  const bnShift = z(seededFloats(16, 3, 0.1), 16, d16);
  const bn = b.node('BatchNormalization', [c1, b.initializer('g', seededFloats(16, 4).map((v) => 1 + v / 4), [16]), b.initializer('be', bnShift, [16]), b.initializer('m', z(seededFloats(16, 5, 0.1), 16, d16), [16]), b.initializer('v', seededFloats(16, 6).map((v) => 1 + v / 4), [16])], {}, { name: 'bn' });
  const r1 = b.node('Relu', [bn], {}, { name: 'relu1' });
  const dw = b.node('Conv', [r1, b.initializer('wd', seededFloats(16 * 9, 7, 0.5), [16, 1, 3, 3]), b.initializer('bd', z(seededFloats(16, 8, 0.1), 16, d16), [16])], { pads: [1, 1, 1, 1], group: 16 }, { name: 'dw' });
  const c2 = b.node('Conv', [b.node('Relu', [dw]), b.initializer('w2', z(seededFloats(16 * 16, 9, 0.3), 16, d16), [16, 16, 1, 1])], {}, { name: 'conv2' });
  const scale = b.initializer('chscale', seededFloats(16, 10).map((v) => 1 + v / 2), [16, 1, 1]);
  const sum = b.node('Mul', [b.node('Add', [c2, r1], {}, { name: 'residual' }), scale], {}, { name: 'scale' });
  const c3 = b.node('Conv', [x, b.initializer('w3', z(seededFloats(8 * 3, 11, 0.5), 8, d8), [8, 3, 1, 1])], {}, { name: 'conv3' });
  const cat = b.node('Concat', [sum, c3], { axis: 1 }, { name: 'concat' });
  const c4 = b.node('Conv', [cat, b.initializer('w4', z(seededFloats(12 * 24, 12, 0.3), 12, d12), [12, 24, 1, 1])], {}, { name: 'conv4' });
  const flat = b.node('Flatten', [b.node('GlobalAveragePool', [b.node('Relu', [c4])])], {}, { name: 'flatten' });
  b.output(b.node('Gemm', [flat, b.initializer('fc', seededFloats(5 * 12, 13, 0.5), [5, 12])], { transB: 1 }, { name: 'fc', outputs: ['y'] }));
  const side = b.node('Conv', [x, b.initializer('w5', seededFloats(4 * 3, 14), [4, 3, 1, 1])], {}, { name: 'side', outputs: ['side_out'] });
  b.output(side);
  return b.build({ opset: 13 });
}

test('pruning exactly the zero channels leaves the outputs unchanged, and every reader is rewritten', async () => {
  const model = net(true);
  const { model: pruned, report } = pruneChannels(model, { ratio: 0.4 });
  const kept = Object.fromEntries(report.groups.map((g) => [g.convs.join('+'), [g.channels, g.kept]]));
  assert.deepEqual(kept, { 'conv1+conv2': [16, 10], conv3: [8, 5], conv4: [12, 7] });
  assert.deepEqual(report.frozen.map((f) => [f.convs, f.reason]), [[['side'], "graph output 'side_out'"]]);
  const dims = (name: string): number[] => pruned.graph.initializers.find((t) => t.name === pruned.graph.nodes.find((n) => n.name === name)!.inputs[1])!.dims;
  assert.deepEqual(dims('conv1'), [10, 3, 3, 3]);
  assert.deepEqual(dims('dw'), [10, 1, 3, 3]);
  assert.equal(Number(pruned.graph.nodes.find((n) => n.name === 'dw')!.attributes.group.value), 10);
  assert.deepEqual(dims('conv2'), [10, 10, 1, 1]);
  assert.deepEqual(dims('conv4'), [7, 15, 1, 1]);
  assert.deepEqual(dims('fc'), [5, 7]);
  const feeds = { x: floatTensorOf(seededFloats(2 * 192, 20, 2), [2, 3, 8, 8]) };
  assertSameOutputs(await runModel(pruned, feeds), await runModel(model, feeds), 1e-5);
  assertCheckerPasses(pruned);
});

test('on ordinary weights the lowest-norm channels go and the model still runs', async () => {
  const model = net(false);
  const { model: pruned, report } = pruneChannels(model, { ratio: 0.5, criterion: 'l2', layers: { conv3: 0 } });
  assert.deepEqual(report.groups.map((g) => g.kept), [8, 6]);
  const feeds = { x: floatTensorOf(seededFloats(192, 21), [1, 3, 8, 8]) };
  const out = await runModel(pruned, feeds);
  assert.deepEqual(out.y.dims, [1, 5]);
  assert.deepEqual(out.side_out.dims, [1, 4, 8, 8]);
});
