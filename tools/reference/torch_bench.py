#!/usr/bin/python3
"""Times the PyTorch reference (for comparisons with gaze): classify (no-grad forward) and Grad-CAM (no-grad
forward + recorded pass from the layer + backward), median of --repeat runs after one warm-up.

    /usr/bin/python3 tools/reference/torch_bench.py models/nsfwjs_inception_v3.h5 \
        tests/fixtures/npy/astronaut_299_inception_v3.npy --layer mixed10 --threads 1 [--channels-last] [--fold-bn]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_keras import KerasModel  # noqa: E402
import torch_cam  # noqa: E402


def timed(fn, repeat):
    fn()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), min(ts)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("input")
    ap.add_argument("--layer", default="mixed10")
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--fold-bn", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dtype = torch.float64 if args.dtype == "float64" else torch.float32
    t0 = time.perf_counter()
    model = KerasModel.from_h5(args.model, dtype=dtype, channels_last=args.channels_last, fold_bn=args.fold_bn)
    t_load = time.perf_counter() - t0
    x = torch_cam.load_input(args.input)

    def classify():
        with torch.no_grad():
            model(x)

    fwd = timed(classify, args.repeat)
    cam = timed(lambda: torch_cam.compute(model, x, args.layer, 0), args.repeat)
    print(f"torch {torch.__version__} {args.dtype} threads={args.threads} channels_last={args.channels_last} "
          f"fold_bn={args.fold_bn}: load {t_load * 1e3:.0f} ms; classify median {fwd[0] * 1e3:.1f} ms "
          f"(min {fwd[1] * 1e3:.1f}); gradcam@{args.layer} median {cam[0] * 1e3:.1f} ms (min {cam[1] * 1e3:.1f})")


if __name__ == "__main__":
    main()
