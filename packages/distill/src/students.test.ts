import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeModel, tensorToTypedArray } from '@edgeloop/compiler';
import { evaluate } from './evaluate.js';
import { convStudent, mobileNetStudent, scaledChannels } from './students.js';
import { barsDataset } from './test-support.js';

test('students are seeded: same options, same bytes; other seed, other weights', () => {
  const a = encodeModel(mobileNetStudent({ inputShape: [3, 32, 32], classes: 5, widthMultiplier: 0.5, seed: 1 }));
  const b = encodeModel(mobileNetStudent({ inputShape: [3, 32, 32], classes: 5, widthMultiplier: 0.5, seed: 1 }));
  const c = encodeModel(mobileNetStudent({ inputShape: [3, 32, 32], classes: 5, widthMultiplier: 0.5, seed: 2 }));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

test('MobileNet width multiplier scales channels; depthwise convs have group = channels', () => {
  const model = mobileNetStudent({ inputShape: [3, 32, 32], classes: 5, widthMultiplier: 0.25, seed: 1, activation: 'hardswish' });
  assert.equal(scaledChannels(64, 0.25), 16);
  const dw = model.graph.initializers.find((t) => t.name === 'block2.dw.weight');
  assert.deepEqual(dw?.dims, [scaledChannels(32, 0.25), 1, 3, 3]);
  const dwNode = model.graph.nodes.find((n) => n.name === 'block2.dw');
  assert.equal(Number(dwNode?.attributes.group?.value), scaledChannels(32, 0.25));
  assert.ok(model.graph.nodes.some((n) => n.opType === 'HardSwish'));
  const w = tensorToTypedArray(model.graph.initializers.find((t) => t.name === 'stem.conv.weight') as never) as Float32Array;
  const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
  assert.ok(Math.abs(std - Math.sqrt(2 / 27)) < 0.08, `He init std ${std}`);
});

test('students run on onnxruntime with any batch size and give [batch, classes] logits', async () => {
  const data = barsDataset(5, 1);
  for (const model of [
    convStudent({ inputShape: [1, 8, 8], classes: 3, channels: [4, 8], seed: 1, dropout: 0.2, hidden: 16 }),
    convStudent({ inputShape: [1, 8, 8], classes: 3, channels: [4], head: 'gap', activation: 'relu6', seed: 1 }),
    mobileNetStudent({ inputShape: [1, 8, 8], classes: 3, seed: 1, blocks: [{ out: 8, stride: 2 }] }),
  ]) {
    const result = await evaluate(model, data, { batchSize: 2 });
    assert.equal(result.classes, 3);
    assert.equal(result.logits.length, 15);
    assert.ok(result.logits.every(Number.isFinite));
  }
});
