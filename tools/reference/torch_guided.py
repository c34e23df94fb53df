#!/usr/bin/python3
"""Guided backpropagation of a Keras .h5 model in PyTorch (independent reference for gaze's
CamSession::guided_gradients and `gaze cam --method guided-backprop`).

    /usr/bin/python3 tools/reference/torch_guided.py MODEL.h5 INPUT.npy --class-index K --out OUT.npy

INPUT.npy is one preprocessed image, float32 [H,W,3] (or [1,H,W,3]). OUT.npy is float32 [H,W,3]:
d logit_K / d input (logit = the output Dense's pre-activation), computed in float64 by torch autograd
through torch_keras.KerasModel(guided=True): every ReLU-family activation (relu, relu6, ReLU layers,
fused conv/dense relu) passes a gradient only where it is positive and the activation's own gradient
is non-zero (the guided ReLU rule, Springenberg et al. 2015). Everything else (convolutions, pooling,
BatchNormalization, concatenation) backpropagates as usual.

The committed fixture tests/fixtures/torch/tiny_chelsea_bird_guided.npy was made with:
    build/gaze convert --classes cat,dog,fish,bird,frog --preprocessing nsfwjs \
        tests/fixtures/tfjs_tiny/tiny.json /tmp/tiny.h5
    /usr/bin/python3 tools/reference/torch_guided.py /tmp/tiny.h5 \
        tests/fixtures/npy/chelsea_mobilenet_v2.npy --class-index 3 \
        --out tests/fixtures/torch/tiny_chelsea_bird_guided.npy
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_keras import KerasModel  # noqa: E402


def check_rule():
    """The rule on one ReLU and one ReLU6 by hand: dx = dy where dy > 0 and the activation passes a
    gradient (0 < x, and x < 6 for ReLU6), else 0."""
    from torch_keras import _GuidedGate, _Relu6Like
    x = torch.tensor([-1.0, 2.0, 3.0, 7.0, 0.5], dtype=torch.float64, requires_grad=True)
    dy = torch.tensor([1.0, -1.0, 2.0, 3.0, 4.0], dtype=torch.float64)
    (relu,) = torch.autograd.grad(_GuidedGate.apply(torch.relu(x)), x, dy)
    (relu6,) = torch.autograd.grad(_GuidedGate.apply(_Relu6Like.apply(x, 6.0)), x, dy)
    assert relu.tolist() == [0.0, 0.0, 2.0, 3.0, 4.0], relu
    assert relu6.tolist() == [0.0, 0.0, 2.0, 0.0, 4.0], relu6


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("input")
    ap.add_argument("--class-index", type=int, required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    check_rule()
    x = np.load(args.input).astype(np.float32)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4 or x.shape[0] != 1:
        raise SystemExit(f"{args.input}: expected [H,W,C] or [1,H,W,C], got {x.shape}")
    guided = KerasModel.from_h5(args.model, dtype=torch.float64, guided=True)
    plain = KerasModel.from_h5(args.model, dtype=torch.float64)
    g, probs, _ = guided.input_gradient(x, args.class_index)
    g_plain, _, _ = plain.input_gradient(x, args.class_index)
    g = g[0].numpy()
    g_plain = g_plain[0].numpy()
    np.save(args.out, g.astype(np.float32))
    # What the rule changes, for the record: the guided gradient is not the plain one.
    rel = np.abs(g - g_plain).max() / np.abs(g_plain).max()
    print(f"{args.out}: shape {g.shape}, probs {np.round(probs.numpy()[0], 6).tolist()}, "
          f"max |g| {np.abs(g).max():.6g}, nonzero {np.count_nonzero(g) / g.size:.3f}, "
          f"max |guided - plain| / max |plain| = {rel:.3g}")


if __name__ == "__main__":
    main()
