#!/usr/bin/env bash
# The main job in one command: install what is missing, build, fetch the models, and draw where
# the nsfwjs InceptionV3 looks for its two most probable classes on a bundled photo.
#   tools/demo.sh [PHOTO]      (default: tests/fixtures/images/astronaut_299.png)
# Writes out/<photo>_gradcam.png and prints its path and the predictions.
set -euo pipefail
cd "$(dirname "$0")/.."

photo=${1:-tests/fixtures/images/astronaut_299.png}
tools/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target gaze >/dev/null
GAZE_BIN=build/gaze tools/fetch_models.sh
mkdir -p out
build/gaze cam --model models/nsfwjs_inception_v3.h5 --top 2 \
  --rating 'Sexy=10,Porn=10,Neutral=5,Drawing=2,Hentai=2' --out-dir out "$photo"
