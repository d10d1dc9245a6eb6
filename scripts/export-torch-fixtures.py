#!/usr/bin/env python3
"""Exports small real PyTorch models to ONNX as fixtures for the compiler's tests.

Real exporters emit what graphs built in code do not: Conv+BatchNormalization, depthwise convs,
HardSigmoid/HardSwish, Resize, Concat, Transpose/Reshape, weights in Constant nodes, old opsets
(where Clip takes attributes) and dynamic batch dims. This script needs PyTorch and torchvision
(no pretrained weights are downloaded: weights are seeded), so it does not run in CI; its outputs
are committed under test/fixtures/exported/. Run: python3 scripts/export-torch-fixtures.py OUT_DIR
"""
import json
import sys

import torch
import torch.nn as nn
import torchvision

out_dir = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/exported"
torch.manual_seed(0)
made = []


def export(model, name, shape, opset, dynamic_batch=True, keep_initializers=True):
    model.eval()
    # Put non-trivial statistics into BatchNorm so folding it is really exercised.
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.1)
    x = torch.rand(*shape)
    path = f"{out_dir}/{name}.onnx"
    kwargs = dict(
        input_names=["input"],
        output_names=["output"],
        opset_version=opset,
        do_constant_folding=False,
        keep_initializers_as_inputs=not keep_initializers,
    )
    if dynamic_batch:
        kwargs["dynamic_axes"] = {"input": {0: "batch"}, "output": {0: "batch"}}
    try:
        torch.onnx.export(model, (x,), path, dynamo=False, **kwargs)
    except TypeError:
        torch.onnx.export(model, (x,), path, **kwargs)
    with torch.no_grad():
        y = model(x)
    made.append({"file": f"{name}.onnx", "opset": opset, "input_shape": list(shape), "output_shape": list(y.shape)})


class UpsampleNet(nn.Module):
    """Small segmentation-style net: strided convs down, Resize up, Concat skip, Softmax over classes."""

    def __init__(self):
        super().__init__()
        self.down1 = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.BatchNorm2d(8), nn.ReLU6())
        self.down2 = nn.Sequential(nn.Conv2d(8, 16, 3, 2, 1, groups=8), nn.BatchNorm2d(16), nn.Hardswish())
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.head = nn.Conv2d(24, 4, 1)

    def forward(self, x):
        a = self.down1(x)
        b = self.down2(a)
        u = self.up(b)
        y = self.head(torch.cat([u, a], dim=1))
        y = y.permute(0, 2, 3, 1).reshape(y.shape[0], -1, 4)
        return torch.softmax(y, dim=-1)


export(torchvision.models.mobilenet_v3_small(num_classes=10, width_mult=0.5), "mobilenet_v3_small_w05_op11", (1, 3, 96, 96), 11)
export(torchvision.models.mobilenet_v2(num_classes=10, width_mult=0.35), "mobilenet_v2_w035_op13", (1, 3, 96, 96), 13, keep_initializers=False)
export(torchvision.models.shufflenet_v2_x0_5(num_classes=10), "shufflenet_v2_x05_op17", (1, 3, 64, 64), 17, dynamic_batch=False)
export(UpsampleNet(), "upsample_net_op11", (1, 3, 32, 32), 11)
export(UpsampleNet(), "upsample_net_op9", (1, 3, 32, 32), 9)

with open(f"{out_dir}/manifest.json", "w") as f:
    json.dump({"torch": torch.__version__, "torchvision": torchvision.__version__, "models": made}, f, indent=2)
print(json.dumps(made, indent=2))
