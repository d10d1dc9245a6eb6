import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../ir/builder.js';
import { foldBatchNorm } from '../passes/fold-batch-norm.js';
import { initializerInputsToConstants } from './initializer-inputs.js';

describe('initializerInputsToConstants', () => {
  it('drops initializers from the graph inputs so weights count as constants', () => {
    const b = new GraphBuilder('g');
    const x = b.input('x', 'float32', [1, 1, 2, 2]);
    b.initializer('w', Float32Array.of(2), [1, 1, 1, 1]);
    const y = b.node('Conv', [x, 'w']);
    for (const [name, v] of [['s', 1], ['bias', 0], ['mean', 0], ['var', 1]] as const) b.initializer(name, Float32Array.of(v), [1]);
    b.output(b.node('BatchNormalization', [y, 's', 'bias', 'mean', 'var']), 'float32', [1, 1, 2, 2]);
    const built = b.build();
    const legacy = { ...built, graph: { ...built.graph, inputs: [...built.graph.inputs, { name: 'w', type: { kind: 'tensor' as const, elemType: 1, shape: [1, 1, 1, 1] } }] } };
    assert.equal(foldBatchNorm(legacy).modified, false, 'an overridable weight blocks folding');
    const { model, modified } = initializerInputsToConstants(legacy);
    assert.ok(modified);
    assert.deepEqual(model.graph.inputs.map((v) => v.name), ['x']);
    assert.equal(legacy.graph.inputs.length, 2, 'input not mutated');
    assert.equal(foldBatchNorm(model).modified, true);
    assert.equal(initializerInputsToConstants(model).modified, false);
  });
});
