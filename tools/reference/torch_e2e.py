#!/usr/bin/python3
"""A PyTorch user's `gaze cam`, end to end, timed per image: for tools/bench_e2e.sh.

    /usr/bin/python3 tools/reference/torch_e2e.py [--model models/nsfwjs_inception_v3.h5] [--layer mixed10]
        [--variant channels_last_foldbn] [--threads T] --out-dir DIR [--json] PHOTO...

Per photo, what a user writes with PIL, numpy and PyTorch:
  1. PIL decode (Image.open(...).convert("RGB")), to a float tensor / 255 (nsfwjs's preprocessing),
     resized to 299x299 with torch's bilinear interpolation (align_corners=True, as TF.js's);
  2. the same .h5 in PyTorch through torch_keras.py, in its fastest form (default channels_last with
     BatchNorm folded, the fastest variant of tools/bench.sh): a no-grad pass to the layer, then the
     recorded pass from it, backward from the top class's logit, the Grad-CAM map (torch_bench's timed call);
  3. the overlay in numpy: the map upsampled to the photo (torch, bilinear, half-pixel centres),
     min-max normalized, matplotlib's jet table, blended at alpha 0.5 over the photo;
  4. a panel (photo and overlay side by side on white) saved with PIL as PNG (its default settings).
The model is loaded once, outside the timing. Prints one line per photo, then a summary; with --json one JSON
line: per-image milliseconds (first photo included), their median over all but the first, and the mean.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time


def parse_args():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(root, "models", "nsfwjs_inception_v3.h5"))
    ap.add_argument("--layer", default="mixed10")
    ap.add_argument("--variant", default="channels_last_foldbn",
                    choices=["nchw", "channels_last", "nchw_foldbn", "channels_last_foldbn"])
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("photos", nargs="+")
    return ap.parse_args()


ARGS = parse_args() if __name__ == "__main__" else None
if ARGS is not None:  # before torch (and its OpenMP / OpenBLAS) is loaded
    os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)
    os.environ["OPENBLAS_NUM_THREADS"] = str(ARGS.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from PIL import Image  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_bench import make_cam  # noqa: E402
from torch_keras import KerasModel  # noqa: E402

# matplotlib's jet: (x, y) breakpoints per channel (matplotlib/_cm.py, _jet_data).
_JET = {
    "r": [(0, 0), (0.35, 0), (0.66, 1), (0.89, 1), (1, 0.5)],
    "g": [(0, 0), (0.125, 0), (0.375, 1), (0.64, 1), (0.91, 0), (1, 0)],
    "b": [(0, 0.5), (0.11, 1), (0.34, 1), (0.65, 0), (1, 0)],
}
_X = np.linspace(0, 1, 256)
JET = np.stack([np.interp(_X, *zip(*_JET[c])) for c in "rgb"], axis=1).astype(np.float32) * 255


def explain(model, layer, path, out_dir):
    rgb = np.array(Image.open(path).convert("RGB"))
    x = torch.from_numpy(rgb).float().div_(255.0)[None].permute(0, 3, 1, 2)
    x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=True).permute(0, 2, 3, 1)
    m, _ = make_cam(model, x, layer, "gradcam")()
    h, w = rgb.shape[:2]
    up = F.interpolate(m[None, None], size=(h, w), mode="bilinear", align_corners=False)[0, 0].numpy()
    lo, hi = up.min(), up.max()
    unit = (up - lo) / (hi - lo) if hi > lo else np.zeros_like(up)
    heat = JET[np.clip((unit * 255).astype(np.int64), 0, 255)]
    overlay = (0.5 * rgb + 0.5 * heat).round().astype(np.uint8)
    panel = np.full((h + 8, 2 * w + 12, 3), 255, np.uint8)
    panel[4:4 + h, 4:4 + w] = rgb
    panel[4:4 + h, 8 + w:8 + 2 * w] = overlay
    out = os.path.join(out_dir, os.path.splitext(os.path.basename(path))[0] + "_gradcam.png")
    Image.fromarray(panel).save(out)


def main():
    args = ARGS
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    channels_last = args.variant.startswith("channels_last")
    model = KerasModel.from_h5(args.model, dtype=torch.float32, channels_last=channels_last,
                               fold_bn=args.variant.endswith("foldbn"))
    model.eval()
    os.makedirs(args.out_dir, exist_ok=True)
    times = []
    for path in args.photos:
        t0 = time.perf_counter()
        explain(model, args.layer, path, args.out_dir)
        times.append((time.perf_counter() - t0) * 1e3)
        if not args.json:
            print(f"{path}: {times[-1]:.1f} ms", flush=True)
    rest = times[1:] or times
    summary = {"tool": "torch_e2e", "variant": args.variant, "threads": args.threads, "images": len(times),
               "median_ms": round(float(np.median(rest)), 2), "mean_ms": round(float(np.mean(rest)), 2),
               "ms": [round(t, 2) for t in times]}
    print(json.dumps(summary) if args.json else
          f"median {summary['median_ms']} ms, mean {summary['mean_ms']} ms per image (first excluded)")


if __name__ == "__main__":
    main()
