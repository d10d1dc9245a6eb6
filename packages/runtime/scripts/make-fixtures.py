#!/usr/bin/python3
"""Writes the small ONNX models and expected outputs used by @edgeloop/runtime's tests.

Run from anywhere with Debian's python3-onnx (onnx 1.12, numpy):
    /usr/bin/python3 packages/runtime/scripts/make-fixtures.py
Outputs (committed, a few KB in all) go to packages/runtime/fixtures/:
  classifier.onnx        image[1,3,8,8] f32 -> Conv(3->4,k3,s2,p1) -> Relu -> Flatten -> Gemm(64->5)
                         -> logits[1,5], Softmax -> probs[1,5]      (opset 13, fixed weights)
  dynamic-batch.onnx     x[batch,4] f32 -> MatMul(4x3) + bias -> y[batch,3]
  expected.json          inputs and numpy-computed outputs for both models
Weights come from a seeded generator, so rerunning the script reproduces the files byte for byte.
"""
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures')
OPSET = 13
rng = np.random.RandomState(20261128)


def f32(a):
    return np.asarray(a, dtype=np.float32)


def conv2d_nchw(x, w, b, stride, pad):
    n, c, h, wd = x.shape
    oc, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh = (h + 2 * pad - kh) // stride + 1
    ow = (wd + 2 * pad - kw) // stride + 1
    y = np.zeros((n, oc, oh, ow), dtype=np.float64)
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw].astype(np.float64)
            y[:, :, i, j] = np.tensordot(patch, w.astype(np.float64), axes=([1, 2, 3], [1, 2, 3]))
    return y + b.astype(np.float64)[None, :, None, None]


def save(model, name):
    onnx.checker.check_model(model)
    path = os.path.join(OUT_DIR, name)
    onnx.save(model, path)
    return path


def make_classifier():
    conv_w = f32(rng.uniform(-0.5, 0.5, size=(4, 3, 3, 3)))
    conv_b = f32(rng.uniform(-0.1, 0.1, size=(4,)))
    gemm_w = f32(rng.uniform(-0.3, 0.3, size=(64, 5)))
    gemm_b = f32(rng.uniform(-0.1, 0.1, size=(5,)))
    nodes = [
        helper.make_node('Conv', ['image', 'conv_w', 'conv_b'], ['conv_out'], kernel_shape=[3, 3],
                         strides=[2, 2], pads=[1, 1, 1, 1], name='conv'),
        helper.make_node('Relu', ['conv_out'], ['relu_out'], name='relu'),
        helper.make_node('Flatten', ['relu_out'], ['flat'], axis=1, name='flatten'),
        helper.make_node('Gemm', ['flat', 'gemm_w', 'gemm_b'], ['logits'], name='gemm'),
        helper.make_node('Softmax', ['logits'], ['probs'], axis=1, name='softmax'),
    ]
    graph = helper.make_graph(
        nodes, 'edgeloop_fixture_classifier',
        [helper.make_tensor_value_info('image', TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info('logits', TensorProto.FLOAT, [1, 5]),
         helper.make_tensor_value_info('probs', TensorProto.FLOAT, [1, 5])],
        [numpy_helper.from_array(conv_w, 'conv_w'), numpy_helper.from_array(conv_b, 'conv_b'),
         numpy_helper.from_array(gemm_w, 'gemm_w'), numpy_helper.from_array(gemm_b, 'gemm_b')])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', OPSET)],
                              producer_name='edgeloop-runtime-fixtures')
    model.ir_version = 7
    save(model, 'classifier.onnx')

    image = f32(rng.uniform(0.0, 1.0, size=(1, 3, 8, 8)))
    conv = np.maximum(conv2d_nchw(image, conv_w, conv_b, stride=2, pad=1), 0.0)
    logits = conv.reshape(1, -1) @ gemm_w.astype(np.float64) + gemm_b.astype(np.float64)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs = e / e.sum(axis=1, keepdims=True)
    return {
        'model': 'classifier.onnx',
        'inputs': {'image': {'dtype': 'float32', 'dims': [1, 3, 8, 8], 'data': image.flatten().tolist()}},
        'outputs': {
            'logits': {'dtype': 'float32', 'dims': [1, 5], 'data': logits.flatten().tolist()},
            'probs': {'dtype': 'float32', 'dims': [1, 5], 'data': probs.flatten().tolist()},
        },
    }


def make_dynamic_batch():
    w = f32(rng.uniform(-1.0, 1.0, size=(4, 3)))
    b = f32(rng.uniform(-0.5, 0.5, size=(3,)))
    nodes = [
        helper.make_node('MatMul', ['x', 'w'], ['xw'], name='matmul'),
        helper.make_node('Add', ['xw', 'b'], ['y'], name='add'),
    ]
    graph = helper.make_graph(
        nodes, 'edgeloop_fixture_dynamic_batch',
        [helper.make_tensor_value_info('x', TensorProto.FLOAT, ['batch', 4])],
        [helper.make_tensor_value_info('y', TensorProto.FLOAT, ['batch', 3])],
        [numpy_helper.from_array(w, 'w'), numpy_helper.from_array(b, 'b')])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', OPSET)],
                              producer_name='edgeloop-runtime-fixtures')
    model.ir_version = 7
    save(model, 'dynamic-batch.onnx')

    x = f32(rng.uniform(-2.0, 2.0, size=(3, 4)))
    y = x.astype(np.float64) @ w.astype(np.float64) + b.astype(np.float64)
    return {
        'model': 'dynamic-batch.onnx',
        'inputs': {'x': {'dtype': 'float32', 'dims': [3, 4], 'data': x.flatten().tolist()}},
        'outputs': {'y': {'dtype': 'float32', 'dims': [3, 3], 'data': y.flatten().tolist()}},
    }


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    expected = {'classifier': make_classifier(), 'dynamicBatch': make_dynamic_batch()}
    with open(os.path.join(OUT_DIR, 'expected.json'), 'w') as f:
        json.dump(expected, f, indent=1)
        f.write('\n')
    for name in sorted(os.listdir(OUT_DIR)):
        print(f'{name}: {os.path.getsize(os.path.join(OUT_DIR, name))} bytes')


if __name__ == '__main__':
    main()
