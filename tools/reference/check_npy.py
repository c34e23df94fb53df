#!/usr/bin/python3
"""Check the reference outputs with NumPy (Debian python3-numpy, python3-pil), independently of tfjs.

Usage: /usr/bin/python3 tools/reference/check_npy.py

For every image and model in tests/fixtures/nsfwjs_reference.json:
  - the .npy loads with numpy, is float32 '<f4', C order, shape (s, s, 3), values in [0, 1];
  - probs_image and probs_npy have 5 entries, sum to 1 (float32 softmax) and are equal bit for bit.
For the PNG images (lossless, so Pillow decodes them to the same bytes as pngjs):
  - Pillow's decode with the same grey/alpha rules gives the recorded rgb_sha256;
  - the .npy equals a NumPy re-implementation of nsfwjs's preprocessing, bit for bit:
    x = float32(c) / float32(255); if H or W != s: tfjs CPU resizeBilinear(alignCorners=true), whose
    arithmetic is in float64 on the float32 inputs, rounded once to float32 at the end.
"""
import hashlib
import json
import os
import sys

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "..", "tests", "fixtures")
SIZES = {"inception_v3": 299, "mobilenet_v2": 224}


def pil_rgb(path):
    im = Image.open(path)
    im.load()
    if im.mode in ("L", "RGB"):
        return np.asarray(im.convert("RGB"), dtype=np.uint8)
    a = np.asarray(im.convert("RGBA"), dtype=np.int64)
    alpha = a[..., 3:4]
    return ((alpha * a[..., :3] + (255 - alpha) * 255 + 127) // 255).astype(np.uint8)


def tfjs_resize_bilinear_align_corners(x, s):
    """tfjs-backend-cpu 4.22.0 ResizeBilinear.js with alignCorners=true, halfPixelCenters=false."""
    h, w, _ = x.shape
    xd = x.astype(np.float64)
    rr = (h - 1) / (s - 1) if s > 1 else h / s
    cr = (w - 1) / (s - 1) if s > 1 else w / s
    out = np.empty((s, s, 3), dtype=np.float32)
    cols = np.arange(s) * cr
    c0 = np.maximum(0, np.floor(cols)).astype(np.int64)
    cf = cols - c0
    c1 = np.minimum(w - 1, np.ceil(cols)).astype(np.int64)
    for r in range(s):
        fr = rr * r
        r0 = max(0, int(np.floor(fr)))
        rf = fr - r0
        r1 = min(h - 1, int(np.ceil(fr)))
        tl, tr = xd[r0, c0], xd[r0, c1]
        bl, br = xd[r1, c0], xd[r1, c1]
        top = tl + (tr - tl) * cf[:, None]
        bot = bl + (br - bl) * cf[:, None]
        out[r] = (top + (bot - top) * rf).astype(np.float32)
    return out


def main():
    ref = json.load(open(os.path.join(FIX, "nsfwjs_reference.json")))
    assert ref["classes"] == ["Drawing", "Hentai", "Neutral", "Porn", "Sexy"]
    bad = 0
    for im in ref["images"]:
        path = os.path.join(FIX, im["file"])
        is_png = im["file"].endswith(".png")
        rgb = pil_rgb(path) if is_png else None
        if is_png:
            assert rgb.shape == (im["height"], im["width"], 3)
            sha = hashlib.sha256(rgb.tobytes()).hexdigest()
            ok = sha == im["rgb_sha256"]
            bad += not ok
            print(f"{im['file']:30s} Pillow decode sha256 {'matches' if ok else 'DIFFERS from'} the pngjs one")
        for key, m in im["models"].items():
            s = SIZES[key]
            arr = np.load(os.path.join(FIX, m["npy"]), allow_pickle=False)
            assert arr.dtype == np.dtype("<f4"), arr.dtype
            assert arr.shape == (s, s, 3), arr.shape
            assert arr.flags["C_CONTIGUOUS"]
            assert np.isfinite(arr).all() and arr.min() >= 0.0 and arr.max() <= 1.0, (arr.min(), arr.max())
            p1 = np.array(m["probs_image"], dtype=np.float64)
            p2 = np.array(m["probs_npy"], dtype=np.float64)
            assert p1.shape == (5,) and p2.shape == (5,)
            assert (p1.astype(np.float32).astype(np.float64) == p1).all(), "not float32 values"
            assert abs(p1.sum() - 1) < 1e-5, p1.sum()
            same = (p1 == p2).all()
            bad += not same
            line = (f"  {key:13s} {m['npy']:40s} shape {arr.shape} {arr.dtype.str} range [{arr.min():.6f}, "
                    f"{arr.max():.6f}] probs_image {'==' if same else '!='} probs_npy")
            if is_png:
                x = rgb.astype(np.float32) / np.float32(255)
                if rgb.shape[0] != s or rgb.shape[1] != s:
                    x = tfjs_resize_bilinear_align_corners(x, s)
                diff = np.abs(x.astype(np.float64) - arr).max()
                exact = np.array_equal(x, arr)
                bad += not exact
                line += f"; NumPy re-implementation {'bit-exact' if exact else f'max |diff| {diff:.3g}'}"
            print(line)
    print("all checks passed" if bad == 0 else f"{bad} check(s) FAILED")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
