import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { PostprocessError } from '../errors.js';
import { classify, classifyBatch, entropy, looksLikeProbabilities, softmax, topK } from './classification.js';

void describe('classification postprocessing', () => {
  void it('softmax matches the closed form and survives huge logits', () => {
    const p = softmax([0, Math.log(2), Math.log(5)]);
    assert.ok(Math.abs(p[0] - 1 / 8) < 1e-7 && Math.abs(p[1] - 2 / 8) < 1e-7 && Math.abs(p[2] - 5 / 8) < 1e-7);
    const big = softmax([1000, 1000 + Math.log(3)]);
    assert.ok(Math.abs(big[0] - 0.25) < 1e-7 && Math.abs(big[1] - 0.75) < 1e-7);
    const withNegInf = softmax([-Infinity, 0]);
    assert.deepEqual([...withNegInf], [0, 1]);
    assert.throws(() => softmax([0, NaN]), PostprocessError);
  });

  void it('tells probabilities from logits', () => {
    assert.equal(looksLikeProbabilities([0.2, 0.3, 0.5]), true);
    assert.equal(looksLikeProbabilities([0.2, 0.3, 0.6]), false);
    assert.equal(looksLikeProbabilities([1.5, -0.5]), false);
  });

  void it('top-k orders by score and breaks ties by lower index', () => {
    assert.deepEqual(topK([0.1, 0.4, 0.4, 0.05, 0.05], 3, ['a', 'b', 'c', 'd', 'e']), [
      { index: 1, score: 0.4, label: 'b' },
      { index: 2, score: 0.4, label: 'c' },
      { index: 0, score: 0.1, label: 'a' },
    ]);
    assert.deepEqual(topK([3, 1, 3, 3], 2).map((s) => s.index), [0, 2]);
    assert.equal(topK([1, 2], 10).length, 2);
  });

  void it('entropy: zero for one-hot, ln(C) for uniform', () => {
    assert.equal(entropy([0, 1, 0]), 0);
    assert.ok(Math.abs(entropy([0.25, 0.25, 0.25, 0.25]) - Math.log(4)) < 1e-12);
  });

  void it('classifies logits: softmax, labels, entropy and margin', () => {
    const logits = { dtype: 'float32' as const, dims: [1, 3], data: Float32Array.from([Math.log(5), Math.log(2), 0]) };
    const result = classify(logits, { labels: ['cat', 'dog', 'bird'], topK: 2 });
    assert.deepEqual(result.top.map((t) => t.label), ['cat', 'dog']);
    assert.ok(Math.abs(result.top[0].score - 5 / 8) < 1e-6);
    assert.ok(Math.abs(result.margin - 3 / 8) < 1e-6);
    const h = -(5 / 8) * Math.log(5 / 8) - (2 / 8) * Math.log(2 / 8) - (1 / 8) * Math.log(1 / 8);
    assert.ok(Math.abs(result.entropy - h) < 1e-6);
    assert.ok(Math.abs(result.normalizedEntropy - h / Math.log(3)) < 1e-6);
  });

  void it('leaves probabilities alone in auto mode, and obeys an explicit outputKind', () => {
    const probs = [0.7, 0.2, 0.1];
    assert.ok(Math.abs(classify(probs).top[0].score - 0.7) < 1e-6);
    const forcedLogits = classify(probs, { outputKind: 'logits' });
    assert.ok(Math.abs(forcedLogits.top[0].score - softmax(probs)[0]) < 1e-7);
    const unnormalised = classify([2, 1, 1], { outputKind: 'probabilities' });
    assert.equal(unnormalised.top[0].score, 2);
  });

  void it('classifies each row of a batch and refuses a batch in classify', () => {
    const batch = { dtype: 'float32' as const, dims: [2, 2], data: Float32Array.from([0, 10, 10, 0]) };
    assert.deepEqual(classifyBatch(batch).map((c) => c.top[0].index), [1, 0]);
    assert.throws(() => classify(batch), PostprocessError);
    assert.throws(() => classify([1, 2], { labels: ['only one'] }), PostprocessError);
    assert.throws(() => classify({ dtype: 'int32', dims: [1, 2], data: new Int32Array(2) }), PostprocessError);
  });

  void it('keeps the margin when topK is 1, ranks one class alone, and reads rows at their offset', () => {
    const one = classify(Float32Array.from([0.1, 2, 0.3, 1.5]), { topK: 1, outputKind: 'logits' });
    assert.equal(one.top.length, 1);
    assert.equal(one.top[0].index, 1);
    const p = softmax([0.1, 2, 0.3, 1.5]);
    assert.ok(Math.abs(one.margin - (p[1] - p[3])) < 1e-6, 'margin still top1 - top2');
    const single = classify([3], { outputKind: 'logits' });
    assert.deepEqual(single.top, [{ index: 0, score: 1 }]);
    assert.equal(single.margin, 1);
    assert.equal(single.normalizedEntropy, 0);
    const batch = { dtype: 'float32' as const, dims: [3, 3], data: Float32Array.from([0.2, 0.5, 0.3, 0.6, 0.3, 0.1, 0.1, 0.1, 0.8]) };
    const rows = classifyBatch(batch, { labels: ['a', 'b', 'c'], topK: 3 });
    assert.deepEqual(rows.map((r) => r.top.map((t) => t.label).join('')), ['bca', 'abc', 'cab']);
    assert.deepEqual([...rows[2].probabilities], [0.1, 0.1, 0.8].map(Math.fround));
  });

  void it('entropy from logits equals the entropy of the probabilities, also with infinite logits', () => {
    let seed = 99;
    const next = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 30 - 15;
    const cases = [
      Array.from({ length: 1000 }, next),
      Array.from({ length: 10 }, next),
      [0, -Infinity, 1, -Infinity],
      [Infinity, 3, Infinity, -Infinity],
      [-Infinity, -Infinity],
      [1e4, 0, -1e4],
    ];
    for (const logits of cases) {
      const result = classify(logits, { outputKind: 'logits' });
      const direct = entropy(softmax(logits));
      assert.ok(Math.abs(result.entropy - direct) < 1e-6, `${result.entropy} vs ${direct} for ${logits.length} logits`);
    }
  });
});
