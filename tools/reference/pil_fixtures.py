#!/usr/bin/python3
"""Writes tests/fixtures/images/pil/: what PIL (Debian's python3-pil 9.4.0, which decodes JPEG with
libjpeg-turbo 2.1.5 and WebP with libwebp 1.2.4) makes of the JPEG and WebP fixtures, for gaze's
decoders to match bit for bit (tests/cam/image_test.cpp).

Usage: /usr/bin/python3 tools/reference/pil_fixtures.py
Needs python3-pil and python3-numpy. It writes, from the committed photos in tests/fixtures/images:
- orient_<k>.jpg, k = 1..8: a 24x16 crop of chelsea.jpg with EXIF orientation k (nothing else in
  the EXIF block);
- cmyk.jpg: a 40x30 crop of coffee.jpg saved as CMYK (PIL writes Adobe's inverted convention);
- coffee.webp (lossy, quality 80) and horse_rgba.webp (lossless, with alpha);
- decoded.json: per file its size, the CRC-32 of PIL's RGB as gaze defines it (Image.open, then
  grey replicated and alpha composited over white with (c*a + 255*(255-a) + 127) // 255), the
  EXIF orientation, and the CRC-32 of ImageOps.exif_transpose's RGB (the upright picture);
- chelsea_nsfwjs_224.npy: the model input that nsfwjs's preprocessing makes of PIL's pixels of
  chelsea.jpg for a 224x224 model: float32(v / 255), then TF.js's resizeBilinear with
  alignCorners=true in float64 arithmetic, rounded to float32 once.
The committed files are the fixtures; output bytes of the encoders can depend on library versions.
"""
import json
import os
import zlib

import numpy as np
from PIL import Image, ImageOps

HERE = os.path.dirname(os.path.abspath(__file__))
IMAGES = os.path.join(HERE, "..", "..", "tests", "fixtures", "images")
OUT = os.path.join(IMAGES, "pil")


def as_gaze_rgb(im):
    """PIL's decoded pixels as gaze's RGB: grey replicated, alpha composited over white."""
    if im.mode in ("RGBA", "LA"):
        a = np.asarray(im.convert("RGBA")).astype(np.int64)
        rgb, alpha = a[..., :3], a[..., 3:4]
        return ((rgb * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8)
    return np.asarray(im.convert("RGB"))


def crc(array):
    return zlib.crc32(np.ascontiguousarray(array).tobytes())


def resize_align_corners(x, out_h, out_w):
    """TF.js's resizeBilinear(alignCorners=true): float64 coordinates and blends, float32 out."""
    in_h, in_w, _ = x.shape
    x = x.astype(np.float64)
    rr = (in_h - 1) / (out_h - 1) if out_h > 1 else in_h / out_h
    cr = (in_w - 1) / (out_w - 1) if out_w > 1 else in_w / out_w
    fr = rr * np.arange(out_h, dtype=np.float64)
    fc = cr * np.arange(out_w, dtype=np.float64)
    r0 = np.maximum(0, np.floor(fr)).astype(int)
    r1 = np.minimum(in_h - 1, np.ceil(fr)).astype(int)
    c0 = np.maximum(0, np.floor(fc)).astype(int)
    c1 = np.minimum(in_w - 1, np.ceil(fc)).astype(int)
    dr = (fr - r0)[:, None, None]
    dc = (fc - c0)[None, :, None]
    tl, tr = x[r0][:, c0], x[r0][:, c1]
    bl, br = x[r1][:, c0], x[r1][:, c1]
    top = tl + (tr - tl) * dc
    bottom = bl + (br - bl) * dc
    return (top + (bottom - top) * dr).astype(np.float32)


def main():
    os.makedirs(OUT, exist_ok=True)
    chelsea = Image.open(os.path.join(IMAGES, "chelsea.jpg")).convert("RGB")
    crop = chelsea.crop((180, 100, 204, 116))  # 24x16, the cat's face
    for k in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = k
        crop.save(os.path.join(OUT, f"orient_{k}.jpg"), quality=90, exif=exif.tobytes())
    coffee = Image.open(os.path.join(IMAGES, "coffee.jpg")).convert("RGB")
    coffee.crop((150, 100, 190, 130)).convert("CMYK").save(os.path.join(OUT, "cmyk.jpg"), quality=90)
    coffee.save(os.path.join(OUT, "coffee.webp"), quality=80)
    Image.open(os.path.join(IMAGES, "horse_rgba.png")).save(
        os.path.join(OUT, "horse_rgba.webp"), lossless=True)

    decoded = {}
    files = ["chelsea.jpg", "coffee.jpg", "rocket_portrait.jpg", "clock_grey.jpg"]
    files += [f"pil/orient_{k}.jpg" for k in range(1, 9)]
    files += ["pil/cmyk.jpg", "pil/coffee.webp", "pil/horse_rgba.webp"]
    for name in files:
        im = Image.open(os.path.join(IMAGES, name))
        rgb = as_gaze_rgb(im)
        entry = {"width": im.width, "height": im.height, "crc32": crc(rgb),
                 "orientation": im.getexif().get(0x0112, 1)}
        upright = as_gaze_rgb(ImageOps.exif_transpose(im))
        entry["upright_width"], entry["upright_height"] = upright.shape[1], upright.shape[0]
        entry["upright_crc32"] = crc(upright)
        decoded[name] = entry
    with open(os.path.join(OUT, "decoded.json"), "w") as f:
        json.dump(decoded, f, indent=1, sort_keys=True)
        f.write("\n")

    x = np.asarray(chelsea).astype(np.float64) / 255.0
    tensor = resize_align_corners(x.astype(np.float32), 224, 224)
    np.save(os.path.join(OUT, "chelsea_nsfwjs_224.npy"), tensor[None])


if __name__ == "__main__":
    main()
