#!/usr/bin/env bash
# The consumer test (ctest: consumer_test): installs the build into a temporary prefix, then
# configures, builds and runs tests/consumer, a separate project that finds it with
# find_package(gaze), on the bundled photo and the committed tiny model (converted by the
# installed gaze). Also checks that the pkg-config file gives a working compile line.
#   run.sh BUILD_DIR SOURCE_DIR [EXTRA_CXX_FLAGS]
set -euo pipefail
build=$1 src=$2 flags=${3:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
prefix=$tmp/prefix
"$prefix/bin/gaze" convert --classes cat,dog,fish,bird,frog --preprocessing nsfwjs \
  "$src/tests/fixtures/tfjs_tiny/tiny.json" "$tmp/tiny.h5" >/dev/null
cmake -S "$src/tests/consumer" -B "$tmp/consumer" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_FLAGS="$flags" >/dev/null
cmake --build "$tmp/consumer" >/dev/null
"$tmp/consumer/consumer" "$tmp/tiny.h5" "$src/tests/fixtures/images/chelsea.jpg"
# pkg-config: the same program from one compile line.
pc=$(find "$prefix" -name gaze.pc)
export PKG_CONFIG_PATH=$(dirname "$pc")
# shellcheck disable=SC2046  # the flags are words
c++ -std=c++20 $flags "$src/tests/consumer/main.cpp" -o "$tmp/consumer_pc" $(pkg-config --cflags --libs gaze)
"$tmp/consumer_pc" "$tmp/tiny.h5" "$src/tests/fixtures/images/chelsea.jpg"
echo "consumer: find_package(gaze) and pkg-config builds ran"
