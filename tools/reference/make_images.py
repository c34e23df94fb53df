#!/usr/bin/python3
"""Re-create tests/fixtures/images/ from the sample images of Debian's python3-skimage 0.19.3-8.

Usage: /usr/bin/python3 make_images.py [SKIMAGE_DATA_DIR] [OUT_DIR]
  SKIMAGE_DATA_DIR defaults to /usr/lib/python3/dist-packages/skimage/data
                   (apt-get install python3-skimage, or `apt-get download python3-skimage` + `dpkg -x`)
  OUT_DIR          defaults to ../../tests/fixtures/images (relative to this script)
Needs Debian's python3-pil (Pillow 9.4.0) and python3-numpy. Every transformation is listed in
tests/fixtures/images/SOURCES.md. Output bytes depend on the Pillow/libjpeg/zlib versions, so the
committed files, not this script, are the fixtures; the script documents exactly how they were made.
"""
import hashlib
import os
import shutil
import sys

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = sys.argv[1] if len(sys.argv) > 1 else "/usr/lib/python3/dist-packages/skimage/data"
OUT = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "..", "..", "tests", "fixtures", "images")
LANCZOS = Image.Resampling.LANCZOS


def src(name):
    return Image.open(os.path.join(DATA, name))


def save_png(im, name):
    # No ICC profile, no gAMA, no text chunks: Pillow writes only IHDR/IDAT/IEND (+pHYs if dpi given; none here).
    im.save(os.path.join(OUT, name), format="PNG", optimize=True)


def save_jpeg(im, name, subsampling):
    # subsampling: 0 = 4:4:4, 2 = 4:2:0. Baseline (not progressive), no EXIF, no ICC.
    im.save(os.path.join(OUT, name), format="JPEG", quality=90, subsampling=subsampling,
            optimize=False, progressive=False)


def main():
    os.makedirs(OUT, exist_ok=True)

    # 1. astronaut: 512x512 RGB -> exactly 299x299 (InceptionV3's no-resize path). PNG RGB.
    im = src("astronaut.png").convert("RGB").resize((299, 299), LANCZOS)
    save_png(im, "astronaut_299.png")

    # 2. chelsea the cat: 451x300 RGB -> 400x266. JPEG q90, 4:2:0 chroma subsampling.
    im = src("chelsea.png").convert("RGB").resize((400, 266), LANCZOS)
    save_jpeg(im, "chelsea.jpg", subsampling=2)

    # 3. coffee: 600x400 RGB -> 400x267. JPEG q90, 4:4:4 (no chroma subsampling).
    im = src("coffee.png").convert("RGB").resize((400, 267), LANCZOS)
    save_jpeg(im, "coffee.jpg", subsampling=0)

    # 4. rocket: 640x427 JPEG -> crop box (180, 0, 464, 427) = 284x427 portrait around the rocket
    #    -> 266x400. JPEG q90, 4:4:4. The only portrait (H > W) image.
    im = src("rocket.jpg").convert("RGB").crop((180, 0, 464, 427)).resize((266, 400), LANCZOS)
    save_jpeg(im, "rocket_portrait.jpg", subsampling=0)

    # 5. camera: 512x512 greyscale (mode L) -> exactly 224x224 (MobileNetV2's no-resize path). PNG greyscale.
    im = src("camera.png").convert("L").resize((224, 224), LANCZOS)
    save_png(im, "camera_grey_224.png")

    # 6. motion-blurred clock: 400x300 greyscale, size unchanged, saved as a 1-component (greyscale) JPEG q90.
    im = src("clock_motion.png").convert("L")
    save_jpeg(im, "clock_grey.jpg", subsampling=0)

    # 7. horse (openclipart silhouette, a drawing): 400x328, size unchanged. The source is black on
    #    white with (almost) all alpha 255. Make a real transparency test: luminance
    #    L = Pillow convert("L") of the source composited on white; new alpha = 255 - L (horse opaque,
    #    background fully transparent, anti-aliased edges partly transparent); new RGB = (139, 69, 19)
    #    in EVERY pixel, including fully transparent ones, so a decoder that drops alpha sees a flat brown
    #    image instead of a brown horse on white.
    s = src("horse.png").convert("RGBA")
    white = Image.new("RGBA", s.size, (255, 255, 255, 255))
    lum = np.asarray(Image.alpha_composite(white, s).convert("L"), dtype=np.uint8)
    rgba = np.empty(lum.shape + (4,), dtype=np.uint8)
    rgba[..., 0], rgba[..., 1], rgba[..., 2] = 139, 69, 19
    rgba[..., 3] = 255 - lum
    save_png(Image.fromarray(rgba, "RGBA"), "horse_rgba.png")

    # 8. microaneurysms (a 102x102 greyscale crop of a retina photograph): copied byte for byte, no change.
    #    The only image smaller than both model inputs, so it exercises up-sampling; MobileNetV2 ranks it
    #    Porn first (a harmless retina texture), the one non-Neutral top-1 of the set.
    shutil.copyfile(os.path.join(DATA, "microaneurysms.png"), os.path.join(OUT, "microaneurysms_102.png"))

    for name in sorted(os.listdir(OUT)):
        p = os.path.join(OUT, name)
        if name.endswith((".png", ".jpg")):
            with Image.open(p) as im:
                print(f"{name:24s} {im.mode:5s} {im.size[0]}x{im.size[1]} {os.path.getsize(p):7d} B "
                      f"sha256 {hashlib.sha256(open(p, 'rb').read()).hexdigest()}")


if __name__ == "__main__":
    main()
