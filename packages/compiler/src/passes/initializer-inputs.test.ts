import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../ir/builder.js';
import type { Model } from '../ir/types.js';
import { foldBatchNorm } from './fold-batch-norm.js';
import { initializerInputsToConstants } from './initializer-inputs.js';
import { CLEANUP_PIPELINE, runPipeline } from './manager.js';

/** Conv -> BatchNormalization whose weight 'w' is also listed as a graph input (an overridable default). */
function legacyConvBn(): Model {
  const b = new GraphBuilder('g');
  const x = b.input('x', 'float32', [1, 1, 2, 2]);
  b.initializer('w', Float32Array.of(2), [1, 1, 1, 1]);
  const y = b.node('Conv', [x, 'w']);
  for (const [name, v] of [['s', 1], ['bias', 0], ['mean', 0], ['var', 1]] as const) b.initializer(name, Float32Array.of(v), [1]);
  b.output(b.node('BatchNormalization', [y, 's', 'bias', 'mean', 'var']), 'float32', [1, 1, 2, 2]);
  const built = b.build();
  return { ...built, graph: { ...built.graph, inputs: [...built.graph.inputs, { name: 'w', type: { kind: 'tensor' as const, elemType: 1, shape: [1, 1, 1, 1] } }] } };
}

describe('initializerInputsToConstants', () => {
  it('drops initializers from the graph inputs so weights count as constants', () => {
    const legacy = legacyConvBn();
    assert.equal(foldBatchNorm(legacy).modified, false, 'an overridable weight blocks folding');
    const { model, modified } = initializerInputsToConstants(legacy);
    assert.ok(modified);
    assert.deepEqual(model.graph.inputs.map((v) => v.name), ['x']);
    assert.equal(legacy.graph.inputs.length, 2, 'input not mutated');
    assert.equal(foldBatchNorm(model).modified, true);
    assert.equal(initializerInputsToConstants(model).modified, false);
  });

  it('runs first in the cleanup pipeline, so BatchNormalization folds there', async () => {
    const result = await runPipeline(legacyConvBn(), CLEANUP_PIPELINE);
    assert.equal(result.steps[0].name, 'initializer-inputs-to-constants');
    assert.deepEqual(result.model.graph.inputs.map((v) => v.name), ['x']);
    assert.deepEqual(result.model.graph.nodes.map((n) => n.opType), ['Conv']);
  });
});
