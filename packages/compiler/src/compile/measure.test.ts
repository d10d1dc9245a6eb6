import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../ir/builder.js';
import { encodeModel } from '../ir/serde.js';
import type { Model } from '../ir/types.js';
import { seededFloats } from '../passes/test-support.js';
import { batchDimensionFree } from './candidates.js';
import { createSession, predict } from './measure.js';
import type { Sample } from './samples.js';

/** x [N, 4] -> Gemm -> [N, 5] logits; with `fixedReshape`, a Reshape to [1, -1] that only looks batchable. */
function classifier(fixedReshape: boolean): Model {
  const b = new GraphBuilder('g');
  const x = b.input('x', 'float32', ['N', 4]);
  let y = b.node('Gemm', [x, b.initializer('w', seededFloats(20, 3), [4, 5]), b.initializer('bias', seededFloats(5, 4), [5])]);
  if (fixedReshape) y = b.node('Reshape', [y, b.initializer('shape', BigInt64Array.from([1n, -1n]), [2])]);
  b.output(y);
  return b.build();
}

const samples: Sample[] = Array.from({ length: 19 }, (_, i) => ({ data: seededFloats(4, i + 1, 3), dims: [1, 4], source: `s${i}` }));

for (const fixedReshape of [false, true]) {
  test(`batched predictions equal batch-1 predictions${fixedReshape ? ' (a Reshape to batch 1 falls back to one at a time)' : ''}`, async () => {
    const model = classifier(fixedReshape);
    assert.equal(batchDimensionFree(model), true);
    const session = await createSession(encodeModel(model));
    try {
      const single = await predict(session, samples);
      const batched = await predict(session, samples, { batch: 8 });
      assert.equal(batched.top1.length, samples.length);
      assert.deepEqual(batched.top1.map((r) => [...r]), single.top1.map((r) => [...r]));
      batched.confidence.forEach((c, k) => assert.ok(Math.abs(c - single.confidence[k]) < 1e-6, `sample ${k}: ${c} vs ${single.confidence[k]}`));
      // Not every sample agrees on one class (the comparison means something).
      assert.ok(new Set(single.top1.map((r) => r[0])).size > 1);
    } finally {
      await session.release();
    }
  });
}

test('a fixed batch dimension is not batchable', () => {
  const b = new GraphBuilder('g');
  b.output(b.node('Relu', [b.input('x', 'float32', [1, 4])]));
  assert.equal(batchDimensionFree(b.build()), false);
});
