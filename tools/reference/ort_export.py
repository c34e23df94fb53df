#!/usr/bin/python3
"""Exports the PyTorch reference of a Keras model (torch_keras.py) to ONNX, for ONNX Runtime in tools/bench.sh.

    /usr/bin/python3 tools/reference/ort_export.py MODEL.h5 OUT.onnx [--batch B]

The graph is the same network gaze runs: torch_keras.KerasModel, float32, NCHW inside, each
BatchNormalization folded into the convolution before it (the form ONNX Runtime would fuse to anyway).
Its input is NHWC [B, H, W, 3] (the layout of gaze's .npy inputs), its output the probabilities
[B, classes]. torch.onnx.export with opset 13 and static shapes (ONNX Runtime specializes on them).
Written to a temporary name and renamed, so a stopped export leaves no partial file.
"""
import argparse
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from torch_keras import KerasModel  # noqa: E402


class Probabilities(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x).probs


def input_hw(model):
    """(H, W) of the Keras InputLayer's batch_input_shape [None, H, W, C]."""
    for name, cls, cfg, _ in model.nodes:
        if cls == "InputLayer":
            shape = cfg.get("batch_input_shape") or cfg.get("batch_shape")
            return int(shape[1]), int(shape[2]), int(shape[3])
    raise SystemExit("ort_export: error: the model has no InputLayer with a batch_input_shape")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--batch", type=int, default=1)
    args = ap.parse_args()
    if args.batch < 1:
        ap.error("--batch must be >= 1")
    model = KerasModel.from_h5(args.model, dtype=torch.float32, channels_last=False, fold_bn=True).eval()
    h, w, c = input_hw(model)
    x = torch.zeros(args.batch, h, w, c)
    tmp = args.out + ".tmp"
    with torch.no_grad():
        torch.onnx.export(Probabilities(model), (x,), tmp, opset_version=13, input_names=["input"],
                          output_names=["probabilities"])
    os.replace(tmp, args.out)
    print(f"ort_export: wrote {args.out} (input [{args.batch}, {h}, {w}, {c}])", file=sys.stderr)


if __name__ == "__main__":
    main()
