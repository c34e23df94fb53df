#!/usr/bin/python3
"""Makes the 20 JPEG photos of about 0.3 MP that tools/bench_e2e.sh runs on.

Usage: /usr/bin/python3 tools/reference/bench_photos.py SKIMAGE_DATA_DIR OUT_DIR
SKIMAGE_DATA_DIR is the sample data of Debian's python3-skimage 0.19.3-8 (`apt-get download
python3-skimage` and `dpkg -x`; tools/bench_e2e.sh does it). Only photographs that scikit-image
states to be public domain, CC0 or without known copyright restrictions are used (see
tests/fixtures/images/SOURCES.md for the first four): astronaut, chelsea, coffee, rocket,
hubble_deep_field (NASA), retina (CC0) and ihc (no known copyright restrictions).
Each photo is a crop, possibly mirrored, resized with Lanczos to 672x448 or 548x548
(0.30 MP), saved as JPEG quality 90 (Pillow's default 4:2:0 subsampling), baseline, no EXIF.
"""
import os
import sys

from PIL import Image, ImageOps

LANCZOS = Image.Resampling.LANCZOS

# (source, crop box or None, mirrored, output size)
PLAN = [
    ("astronaut.png", None, False, (548, 548)),
    ("astronaut.png", None, True, (548, 548)),
    ("astronaut.png", (0, 0, 512, 341), False, (672, 448)),
    ("chelsea.png", None, False, (672, 448)),
    ("chelsea.png", None, True, (672, 448)),
    ("coffee.png", None, False, (672, 448)),
    ("coffee.png", None, True, (672, 448)),
    ("coffee.png", (100, 0, 500, 400), False, (548, 548)),
    ("rocket.jpg", None, False, (672, 448)),
    ("rocket.jpg", None, True, (672, 448)),
    ("rocket.jpg", (106, 0, 533, 427), False, (548, 548)),
    ("hubble_deep_field.jpg", (0, 0, 1000, 667), False, (672, 448)),
    ("hubble_deep_field.jpg", (0, 205, 1000, 872), True, (672, 448)),
    ("hubble_deep_field.jpg", (64, 0, 936, 872), False, (548, 548)),
    ("retina.jpg", (0, 235, 1411, 1176), False, (672, 448)),
    ("retina.jpg", (300, 300, 1111, 1111), False, (548, 548)),
    ("retina.jpg", (0, 0, 900, 600), True, (672, 448)),
    ("ihc.png", None, False, (548, 548)),
    ("ihc.png", None, True, (548, 548)),
    ("ihc.png", (0, 85, 512, 426), False, (672, 448)),
]


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    data, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    for i, (name, box, mirrored, size) in enumerate(PLAN):
        im = Image.open(os.path.join(data, name)).convert("RGB")
        if box:
            im = im.crop(box)
        if mirrored:
            im = ImageOps.mirror(im)
        im = im.resize(size, LANCZOS)
        stem = os.path.splitext(name)[0]
        im.save(os.path.join(out, f"{i:02d}_{stem}.jpg"), quality=90, optimize=False,
                progressive=False)


if __name__ == "__main__":
    main()
