import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { UnsupportedOpError } from '../errors.js';
import { GraphBuilder } from '../ir/builder.js';
import { loadModelSync } from '../ir/model-file.js';
import { encodeModel } from '../ir/serde.js';
import type { Model } from '../ir/types.js';
import { calibrateModel } from '../quantize/calibrate.js';
import { quantizeStatic, staticQuantizationTargets } from './quantize-static.js';
import { assertCheckerPasses, floatTensorOf, relativeError, runModel, seededFloats } from './test-support.js';

/** Conv -> Relu -> depthwise Conv -> Clip(0,6) -> MaxPool, a residual Add, GAP -> Flatten -> Gemm -> Softmax. */
function smallNet(): Model {
  const b = new GraphBuilder('net');
  const x = b.input('x', 'float32', ['N', 3, 16, 16]);
  const he = (n: number, fan: number, seed: number): Float32Array => seededFloats(n, seed, Math.sqrt(6 / fan));
  let y = b.node('Conv', [x, b.initializer('w1', he(16 * 27, 27, 1), [16, 3, 3, 3]), b.initializer('b1', seededFloats(16, 2, 0.1), [16])], { pads: [1, 1, 1, 1] }, { name: 'conv1' });
  y = b.node('Relu', [y], {}, { name: 'relu1' });
  const dw = b.node('Conv', [y, b.initializer('w2', he(16 * 9, 9, 3), [16, 1, 3, 3])], { pads: [1, 1, 1, 1], group: 16 }, { name: 'dw' });
  const clipped = b.node('Clip', [dw, b.initializer('lo', Float32Array.of(0), []), b.initializer('hi', Float32Array.of(6), [])], {}, { name: 'relu6' });
  y = b.node('Add', [clipped, y], {}, { name: 'residual' });
  y = b.node('MaxPool', [y], { kernel_shape: [2, 2], strides: [2, 2] }, { name: 'pool' });
  y = b.node('Flatten', [b.node('GlobalAveragePool', [y], {}, { name: 'gap' })], {}, { name: 'flatten' });
  y = b.node('Gemm', [y, b.initializer('fc', he(10 * 16, 16, 4), [10, 16]), b.initializer('fcb', seededFloats(10, 5, 0.1), [10])], { transB: 1 }, { name: 'fc', outputs: ['logits'] });
  b.output(y);
  b.output(b.node('Softmax', [y], { axis: 1 }, { name: 'softmax', outputs: ['probs'] }));
  return b.build({ opset: 13 });
}

const sample = (i: number): Float32Array => seededFloats(3 * 16 * 16, 100 + i, 2);

test('static QDQ quantization: fused activations, float ops reported, close to fp32, fused by onnxruntime', async () => {
  const model = smallNet();
  const targets = staticQuantizationTargets(model);
  assert.ok(targets.includes('relu1_output'), 'a fused Relu is calibrated at its output');
  assert.ok(targets.includes('conv1_output'), 'and at its input, which needs its own range once relu1 is excluded');
  const calibration = await calibrateModel(model, Array.from({ length: 16 }, (_, i) => ({ x: { data: sample(i), dims: [1, 3, 16, 16] } })), { tensors: targets });
  const feeds = { x: floatTensorOf(Float32Array.from({ length: 4 * 768 }, (_, i) => sample(50 + Math.floor(i / 768))[i % 768]), [4, 3, 16, 16]) };
  const expected = await runModel(model, feeds);
  for (const activationType of ['uint8', 'int8'] as const) {
    const { model: q, report, modified } = quantizeStatic(model, { calibration, activationType });
    assert.equal(modified, true);
    assert.deepEqual(report.quantized.map((r) => r.node).sort(), ['conv1', 'dw', 'fc', 'flatten', 'gap', 'pool', 'residual'].sort());
    assert.deepEqual(report.fusedActivations, [{ node: 'relu1', into: 'conv1' }, { node: 'relu6', into: 'dw' }]);
    assert.deepEqual(report.float, [{ node: 'softmax', opType: 'Softmax', reason: 'no quantization handler' }]);
    assert.equal(report.tensors.relu1_output.low, 0);
    assert.deepEqual(report.reducedRange, ['conv1', 'fc'], 'signed input and dense pooled features');
    assert.equal(report.tensors.pool_output.scale, report.tensors.residual_output.scale, 'MaxPool shares its input parameters');
    const types = new Set(q.graph.nodes.map((n) => n.opType));
    assert.ok(types.has('QuantizeLinear') && types.has('DequantizeLinear') && !types.has('Relu') && !types.has('Clip'));
    const wq = q.graph.initializers.find((t) => t.name.includes('w1_quantized'));
    assert.equal(wq?.dataType, 3, 'int8 weights');
    const actual = await runModel(q, feeds);
    const err = relativeError(actual.logits, expected.logits);
    assert.ok(err < 0.05, `${activationType}: logits relative error ${err}`);
    assertCheckerPasses(q);
    // onnxruntime turns the QDQ groups into integer kernels (int8 activations: see activationType).
    if (activationType === 'int8') continue;
    const dir = mkdtempSync(join(tmpdir(), 'edgeloop-qdq-'));
    try {
      const path = join(dir, 'opt.onnx');
      const s = await ort.InferenceSession.create(encodeModel(q), { graphOptimizationLevel: 'all', optimizedModelFilePath: path });
      await s.release();
      const ops = loadModelSync(path).graph.nodes.map((n) => n.opType);
      assert.equal(ops.filter((o) => o === 'QLinearConv').length, 2, ops.join(','));
      assert.ok(ops.includes('QLinearAdd') && ops.includes('QGemm'), ops.join(','));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('targets calibrated without exclude serve quantization with any node excluded', async () => {
  const model = smallNet();
  const calibration = await calibrateModel(model, Array.from({ length: 4 }, (_, i) => ({ x: { data: sample(i), dims: [1, 3, 16, 16] } })), { tensors: staticQuantizationTargets(model) });
  for (const node of ['conv1', 'relu1', 'dw', 'relu6', 'residual', 'pool', 'gap', 'flatten', 'fc']) {
    const { report } = quantizeStatic(model, { calibration, exclude: [node] });
    assert.ok(report.float.some((f) => f.node === node), node);
  }
  const { report } = quantizeStatic(model, { calibration, exclude: ['residual', 'pool'] });
  assert.ok('pool_output' in report.tensors, 'read by gap, it needs its own range once pool is float');
});

test('unsupported ops raise a named error on request; missing calibration is a named error', async () => {
  const model = smallNet();
  const calibration = await calibrateModel(model, [{ x: { data: sample(1), dims: [1, 3, 16, 16] } }], { tensors: ['x'] });
  assert.throws(() => quantizeStatic(model, { calibration, onUnsupported: 'error' }), (e: unknown) => e instanceof UnsupportedOpError && e.nodeName === 'softmax');
  assert.throws(() => quantizeStatic(model, { calibration }), /no calibration histogram for tensor 'relu1_output'/);
});

test('graph outputs stay float by default; quantizeGraphOutputs makes a DequantizeLinear write them', async () => {
  const model = smallNet();
  const samples = Array.from({ length: 8 }, (_, i) => ({ x: { data: sample(i), dims: [1, 3, 16, 16] } }));
  const feeds = { x: floatTensorOf(sample(60), [1, 3, 16, 16]) };
  const expected = await runModel(model, feeds);
  for (const quantizeGraphOutputs of [false, true]) {
    const calibration = await calibrateModel(model, samples, { tensors: staticQuantizationTargets(model, { quantizeGraphOutputs }) });
    const { model: q, report } = quantizeStatic(model, { calibration, quantizeGraphOutputs });
    const producer = q.graph.nodes.find((n) => n.outputs.includes('logits'))!;
    assert.equal(producer.opType, quantizeGraphOutputs ? 'DequantizeLinear' : 'Gemm');
    assert.equal('logits' in report.tensors, quantizeGraphOutputs);
    const actual = await runModel(q, feeds);
    assert.ok(relativeError(actual.logits, expected.logits) < 0.05);
    assertCheckerPasses(q);
  }
});
