#!/usr/bin/env node
// Writes examples/models/digits-cnn.onnx: a small CNN for 28x28 grey digits, built with the
// compiler's graph builder, with seeded (untrained) weights and edgeloop's preprocessing and
// label metadata. It exists so `edgeloop inspect` and `edgeloop bundle create` have a real model
// to work on from a fresh clone; the trained digits student comes from the distillation example.
// Run after `npm run build`: node scripts/make-example-models.mjs
import { GraphBuilder, METADATA_KEYS, saveModel, seededRandom } from '@edgeloop/compiler';

const random = seededRandom(2026);
function heInit(count, fanIn) {
  const std = Math.sqrt(2 / fanIn);
  return Float32Array.from({ length: count }, () => {
    const u = Math.max(random(), 1e-12);
    return std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  });
}

const b = new GraphBuilder('digits_cnn');
let x = b.input('image', 'float32', ['batch', 1, 28, 28]);
const conv = (input, cin, cout, name) => {
  const w = b.initializer(`${name}.weight`, heInit(cout * cin * 9, cin * 9), [cout, cin, 3, 3]);
  const bias = b.initializer(`${name}.bias`, new Float32Array(cout), [cout]);
  return b.node('Conv', [input, w, bias], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, { name });
};
x = conv(x, 1, 8, 'conv1');
x = b.node('Relu', [x]);
x = b.node('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] });
x = conv(x, 8, 16, 'conv2');
x = b.node('Relu', [x]);
x = b.node('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] });
x = b.node('Flatten', [x], { axis: 1 });
const fcW = b.initializer('fc.weight', heInit(10 * 16 * 7 * 7, 16 * 7 * 7), [10, 16 * 7 * 7]);
const fcB = b.initializer('fc.bias', new Float32Array(10), [10]);
const logits = b.node('Gemm', [x, fcW, fcB], { transB: 1 }, { name: 'fc', outputs: ['logits'] });
b.output(logits);
const model = b.build({ opset: 17, docString: 'edgeloop example: small digits CNN (seeded, untrained weights)' });
model.metadataProps.push(
  {
    key: METADATA_KEYS.preprocessing,
    value: JSON.stringify({
      resize: 'stretch', colorOrder: 'GRAY', layout: 'NCHW', dtype: 'float32', scale: 1 / 255, mean: [0.1307], std: [0.3081],
    }),
  },
  { key: METADATA_KEYS.labels, value: JSON.stringify(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']) },
  { key: METADATA_KEYS.task, value: 'classification' },
);
const out = new URL('../examples/models/digits-cnn.onnx', import.meta.url).pathname;
await saveModel(model, out);
console.log(`wrote ${out}`);
