#!/usr/bin/python3
"""Deletion, insertion and average drop of a saliency map, in PyTorch float64 (independent reference for
`gaze evaluate`, cam/evaluate.h). Written from the definitions, not from gaze's code:

  - the map [h, w] is upsampled to the network's input size [H, W] bilinearly with half-pixel centres
    (torch's interpolate, align_corners=False, which is cv2/tf.image's rule);
  - pixels are ranked by that upsampled value, highest first, ties by increasing row-major index; the
    value is rounded to float32 first (--rank-dtype), because the map is a float32 array in gaze: the
    deletion curve is so sensitive to the order that ranking the unrounded float64 values, which breaks
    float32's ties differently for at most 42 of 89401 pixels at a step, moves single points of the
    curve by up to 0.054 (astronaut_299, Grad-CAM++, step 37: 0.1897 against 0.1358);
  - step i (i = 0..N) changes the first floor(i * H * W / N) pixels of the ranking:
      deletion:  the input with those pixels set to 0 (of the preprocessed input, every channel);
      insertion: the input blurred by a normalized 11x11 Gaussian of sigma 5 (one 2-D convolution,
                 the border extended by repeating the edge pixels), with those pixels put back;
  - the class probability after each step is integrated over the fraction changed (count / (H W)) by
    the trapezoid rule;
  - average drop: the map is min-max normalized at its own resolution, then upsampled; O is the class
    probability of input * map (every channel), Y of the input; drop = 100 max(0, Y - O) / Y, and the
    increase in confidence is O > Y.

The forward passes run in float64 through tools/reference/torch_keras.py (the same .h5 as gaze).

    /usr/bin/python3 tools/reference/torch_evaluate.py                 # writes the fixture below
    /usr/bin/python3 tools/reference/torch_evaluate.py --out /tmp/e.json --steps 10

The default run writes tests/fixtures/torch/evaluate_reference.json: for astronaut_299 and horse_rgba
(tests/fixtures/npy/*_inception_v3.npy), the nsfwjs InceptionV3 at mixed10, the top class, and the two
maps the torch fixtures already hold for that case (tests/fixtures/torch/<image>_mixed10_class<K>_gradcam.npy
and _gradcampp.npy, float32): gaze's test (tests/cam/evaluate_reference_test.cpp) feeds the same .npy maps
to cam/evaluate, so that only the metrics are compared.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_keras import KerasModel  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def upsample(m, H, W):
    """[h, w] float64 -> [H, W], bilinear, half-pixel centres."""
    t = torch.as_tensor(m, dtype=torch.float64)[None, None]
    return F.interpolate(t, size=(H, W), mode="bilinear", align_corners=False)[0, 0].numpy()


def ranking(sal, dtype=np.float32):
    """Row-major pixel indices, highest value first (of the value in `dtype`), equal values by increasing
    index."""
    v = sal.reshape(-1).astype(dtype).astype(np.float64)
    idx = np.arange(v.size)
    return np.lexsort((idx, -v))        # last key is primary: -v ascending, then idx ascending


def gaussian_blur(x):
    """x [1, H, W, C] float64 -> the same, blurred by the normalized 11x11 Gaussian of sigma 5 (2-D)."""
    d = np.arange(11, dtype=np.float64) - 5.0
    g = np.exp(-(d[:, None] ** 2 + d[None, :] ** 2) / (2.0 * 5.0 ** 2))
    g /= g.sum()
    C = x.shape[-1]
    t = torch.as_tensor(x, dtype=torch.float64).permute(0, 3, 1, 2)          # NCHW
    t = F.pad(t, (5, 5, 5, 5), mode="replicate")
    k = torch.as_tensor(g, dtype=torch.float64)[None, None].repeat(C, 1, 1, 1)
    out = F.conv2d(t, k, groups=C)
    return out.permute(0, 2, 3, 1).numpy()


class Scorer:
    def __init__(self, model, batch):
        self.model = model
        self.batch = batch

    def __call__(self, xs, k):
        """xs [B, H, W, C] float64 -> p_k for each, float64."""
        out = []
        with torch.no_grad():
            for s in range(0, xs.shape[0], self.batch):
                p = self.model(torch.as_tensor(xs[s:s + self.batch], dtype=self.model.dtype)).probs
                out.extend(float(v) for v in p[:, k])
        return out


def curve(score, start, end, order, k, steps):
    """The images going from `start` to `end` pixel by pixel in `order`, after each of steps+1 steps."""
    H, W, C = start.shape[1:]
    n = H * W
    counts = [(i * n) // steps for i in range(steps + 1)]
    imgs = np.empty((steps + 1, H, W, C), dtype=np.float64)
    flat_start = start.reshape(n, C)
    flat_end = end.reshape(n, C)
    for i, c in enumerate(counts):
        cur = flat_start.copy()
        sel = order[:c]
        cur[sel] = flat_end[sel]
        imgs[i] = cur.reshape(H, W, C)
    scores = score(imgs, k)
    fraction = [c / n for c in counts]
    auc = 0.0
    for i in range(1, len(fraction)):
        auc += (fraction[i] - fraction[i - 1]) * (scores[i] + scores[i - 1]) * 0.5
    return dict(auc=auc, fraction=fraction, score=scores)


def evaluate(score, x, m, k, steps, rank_dtype=np.float32):
    """x [1, H, W, C] float64, m [h, w] -> the metrics, as a dict."""
    H, W = x.shape[1:3]
    order = ranking(upsample(m, H, W), rank_dtype)
    deletion = curve(score, x, np.zeros_like(x), order, k, steps)
    insertion = curve(score, gaussian_blur(x), x, order, k, steps)
    lo, hi = float(m.min()), float(m.max())
    unit = (m - lo) / (hi - lo) if hi > lo else np.zeros_like(m)
    masked = x * upsample(unit, H, W)[None, :, :, None]
    Y, O = score(np.concatenate([x, masked]), k)
    return dict(deletion=deletion, insertion=insertion, prob=Y, masked_prob=O,
                average_drop=100.0 * max(0.0, Y - O) / Y if Y > 0 else 0.0, increase=bool(O > Y))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="models/nsfwjs_inception_v3.h5")
    ap.add_argument("--images", default="astronaut_299,horse_rgba")
    ap.add_argument("--layer", default="mixed10")
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--batch", type=int, default=6)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rank-dtype", choices=("float32", "float64"), default="float32",
                    help="the precision of the upsampled map that is ranked (default float32, as gaze's map)")
    ap.add_argument("--out", default="tests/fixtures/torch/evaluate_reference.json")
    args = ap.parse_args()
    os.chdir(ROOT)
    torch.set_num_threads(args.threads)
    model = KerasModel.from_h5(args.model, dtype=torch.float64)
    score = Scorer(model, args.batch)
    cases = []
    t0 = time.time()
    for image in args.images.split(","):
        inp = f"tests/fixtures/npy/{image}_inception_v3.npy"
        x = np.load(inp).astype(np.float64)
        x = x.reshape((1,) + x.shape[-3:])
        with torch.no_grad():
            probs = model(torch.as_tensor(x)).probs[0]
        k = int(torch.argmax(probs))
        for method, suffix in (("gradcam", "gradcam"), ("gradcam++", "gradcampp")):
            map_path = f"tests/fixtures/torch/{image}_{args.layer}_class{k}_{suffix}.npy"
            m = np.load(map_path).astype(np.float64)
            r = evaluate(score, x, m, k, args.steps, np.dtype(args.rank_dtype).type)
            print(f"{image} {method} {args.layer} class {k}: deletion {r['deletion']['auc']:.6f} "
                  f"insertion {r['insertion']['auc']:.6f} drop {r['average_drop']:.4f}% "
                  f"({time.time() - t0:.0f} s)", flush=True)
            cases.append(dict(image=image, input=inp, map=map_path, method=method, layer=args.layer,
                              class_index=k, **r))
    doc = dict(model=args.model, steps=args.steps, dtype="float64", rank_dtype=args.rank_dtype,
               generator="tools/reference/torch_evaluate.py", cases=cases)
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"wrote {args.out} ({len(cases)} cases)")


if __name__ == "__main__":
    main()
