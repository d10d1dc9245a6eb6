import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { GraphBuilder, attr } from '../ir/builder.js';
import { opsetVersion } from '../ir/graph.js';
import { createTensor } from '../ir/tensor.js';
import { assertCheckerPasses, assertSameOutputs, runModel, seededFloats } from '../passes/test-support.js';
import { OpsetConversionError } from '../errors.js';
import { convertOpset } from './opset.js';

describe('convertOpset', () => {
  it('upgrades opset 9 Clip / Unsqueeze / Upsample / Softmax to 13 with the same outputs', async () => {
    const b = new GraphBuilder('old');
    const x = b.input('x', 'float32', [1, 2, 3, 3]);
    const c = b.node('Clip', [x], { min: attr.float(0), max: attr.float(0.5) });
    const scales = b.constant(Float32Array.of(1, 1, 2, 2), [4]);
    const up = b.node('Upsample', [c, scales], { mode: 'nearest' });
    const u = b.node('Unsqueeze', [up], { axes: [0] });
    const s = b.node('Softmax', [u], { axis: 4 });
    b.output(s, 'float32', [1, 1, 2, 6, 6]);
    const old = b.build({ opset: 9, irVersion: 4 });
    const { model, report } = convertOpset(old, { target: 13 });
    assert.equal(opsetVersion(model), 13);
    assert.deepEqual(report.rewritten.map((r) => r.opType).sort(), ['Clip', 'Unsqueeze', 'Upsample']);
    assert.ok(model.graph.nodes.some((n) => n.opType === 'Resize'));
    assertCheckerPasses(model);
    const feeds = { x: new ort.Tensor('float32', seededFloats(18, 3), [1, 2, 3, 3]) };
    assertSameOutputs(await runModel(model, feeds), await runModel(old, feeds), 1e-6);
  });

  it('refuses a Softmax whose opset-9 axis flattens trailing dims', () => {
    const b = new GraphBuilder('softmax');
    const x = b.input('x', 'float32', [1, 4, 5]);
    b.output(b.node('Softmax', [x], { axis: 1 }), 'float32', [1, 4, 5]);
    assert.throws(() => convertOpset(b.build({ opset: 11 }), { target: 13 }), (e: unknown) => e instanceof OpsetConversionError && /Softmax.*axis 1/.test(e.message));
  });

  it('refuses an op it has no converter for, naming op and node', () => {
    const b = new GraphBuilder('odd');
    const x = b.input('x', 'float32', [2, 3]);
    b.output(b.node('Scan', [x], {}, { name: 'the_scan' }), 'float32', [2, 3]);
    assert.throws(() => convertOpset(b.build({ opset: 11 }), { target: 13 }), /op 'Scan' \(node 'the_scan'\)/);
  });

  it('downgrades opset 18 ReduceMean with constant axes to 17', async () => {
    const b = new GraphBuilder('reduce');
    const x = b.input('x', 'float32', [1, 3, 4]);
    b.initializer('axes', createTensor('axes', BigInt64Array.of(2n), [1]));
    b.output(b.node('ReduceMean', [x, 'axes'], { keepdims: 0 }), 'float32', [1, 3]);
    const m18 = b.build({ opset: 18 });
    const { model } = convertOpset(m18, { target: 17 });
    assert.equal(opsetVersion(model), 17);
    assert.deepEqual(model.graph.nodes[0].inputs, ['x']);
    assertCheckerPasses(model);
    const feeds = { x: new ort.Tensor('float32', seededFloats(12, 5), [1, 3, 4]) };
    assertSameOutputs(await runModel(model, feeds), await runModel(m18, feeds), 0);
  });

  it('refuses a downgrade that would drop a newer feature', () => {
    const b = new GraphBuilder('split');
    const x = b.input('x', 'float32', [4]);
    const [p, q] = [b.node('Split', [x], { num_outputs: 2 }, { outputs: ['p', 'q'] }), 'q'];
    b.output(p, 'float32', [2]);
    b.output(q, 'float32', [2]);
    assert.throws(() => convertOpset(b.build({ opset: 18 }), { target: 17 }), /num_outputs/);
  });
});
