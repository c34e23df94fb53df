#!/usr/bin/env bash
# Builds the API reference of gaze/gaze.h (docs/Doxyfile) into build/doxygen/html. Needs Debian's
# doxygen (tools/setup.sh installs it). Any doxygen warning fails the build.
#   tools/doxygen.sh [OUTPUT_DIR]      (default build/doxygen)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/doxygen}
mkdir -p "$out"
(cat docs/Doxyfile; echo "OUTPUT_DIRECTORY = $out") | doxygen -
echo "$out/html/index.html"
