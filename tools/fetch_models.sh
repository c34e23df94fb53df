#!/usr/bin/env bash
# Fetches the nsfwjs models (npm package nsfwjs@4.4.0, MIT) and converts them to Keras HDF5:
#   models/nsfwjs_inception_v3.h5   InceptionV3, 299x299 input
#   models/nsfwjs_mobilenet_v2.h5   MobileNetV2, 224x224 input
# Both carry the package's class names and --preprocessing nsfwjs.
# Idempotent: models already present are skipped; prints nothing when both are there.
# Environment: GAZE_CACHE  download cache (default ~/.cache/gaze)
#              GAZE_BIN    the gaze program (default build/gaze, built with cmake if missing)
set -euo pipefail
cd "$(dirname "$0")/.."

readonly package=nsfwjs@4.4.0
readonly tarball_name=nsfwjs-4.4.0.tgz
readonly tarball_sha256=585cd178f3b994337c4d10a87b080d342fc52f8b9bf0085c4d1f345a3a1c5382
# "bundled model folder:output file". (The package's third model, mobilenet_v2_mid, is a TF.js
# graph model, not a Keras model, so gaze cannot convert it.)
readonly models=(
  inception_v3:models/nsfwjs_inception_v3.h5
  mobilenet_v2:models/nsfwjs_mobilenet_v2.h5
)

cache=${GAZE_CACHE:-$HOME/.cache/gaze}
gaze=${GAZE_BIN:-build/gaze}
tarball=$cache/$tarball_name
unpacked=$cache/nsfwjs-4.4.0

say() { echo "fetch_models: $*" >&2; }
die() {
  echo "fetch_models: error: $*" >&2
  exit 1
}

ensure_npm() {
  command -v npm >/dev/null && return
  say "npm is missing; installing Debian's npm package"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "npm is missing; install it (apt-get install npm) and rerun"
    sudo=sudo
  fi
  export DEBIAN_FRONTEND=noninteractive
  { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends npm >/dev/null; } ||
    die "could not install npm with apt-get; install it (apt-get install npm) and rerun"
  command -v npm >/dev/null || die "npm is still missing after installing Debian's npm package"
}

# The package tarball in the cache, downloaded once and checked every time.
fetch_tarball() {
  if [ ! -f "$tarball" ]; then
    ensure_npm
    say "downloading $package with npm pack"
    mkdir -p "$cache"
    local work
    work=$(mktemp -d "$cache/pack.XXXXXX")
    if ! (cd "$work" && npm pack --silent "$package" >/dev/null); then
      rm -rf "$work"
      die "npm pack $package failed (is the npm registry reachable?)"
    fi
    mv "$work/$tarball_name" "$tarball"
    rmdir "$work"
  fi
  local actual
  actual=$(sha256sum "$tarball" | cut -d' ' -f1)
  [ "$actual" = "$tarball_sha256" ] ||
    die "checksum mismatch for $tarball: expected sha256 $tarball_sha256, got $actual" \
      "(delete the file to download it again)"
}

# Unpacked beside the tarball; the rename makes a half-unpacked folder impossible.
unpack() {
  [ -d "$unpacked" ] && return
  rm -rf "$unpacked.tmp"
  mkdir -p "$unpacked.tmp"
  tar -xzf "$tarball" -C "$unpacked.tmp"
  mv "$unpacked.tmp" "$unpacked"
}

# Writes the class names, one per line in index order, as the package's own source lists them:
#   export var NSFW_CLASSES = { 0: 'Drawing', 1: 'Hentai', ... };
write_class_names() {
  local source=$unpacked/package/dist/esm/nsfw_classes.js out=$1
  [ -f "$source" ] || die "$source is missing: cannot read the class names"
  grep -q 'NSFW_CLASSES' "$source" || die "$source does not define NSFW_CLASSES"
  sed -n -E "s/^[[:space:]]*([0-9]+)[[:space:]]*:[[:space:]]*['\"]([^'\"]+)['\"][[:space:]]*,?[[:space:]]*$/\1 \2/p" \
    "$source" | sort -n >"$out.indexed"
  # The indices must run 0, 1, 2, ... with no gap, or the parse went wrong.
  if [ ! -s "$out.indexed" ] || ! awk '$1 != NR - 1 { exit 1 }' "$out.indexed"; then
    die "cannot read the class names from $source"
  fi
  cut -d' ' -f2- "$out.indexed" >"$out"
  rm -f "$out.indexed"
}

ensure_gaze() {
  [ -x "$gaze" ] && return
  [ -z "${GAZE_BIN:-}" ] || die "GAZE_BIN=$gaze is not an executable"
  say "building gaze"
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build --target gaze -j "$(nproc)" >/dev/null
}

missing=()
for entry in "${models[@]}"; do
  [ -f "${entry#*:}" ] || missing+=("$entry")
done
[ ${#missing[@]} -eq 0 ] && exit 0

fetch_tarball
unpack
classes=$(mktemp "$cache/classes.XXXXXX")
trap 'rm -f "$classes" "$classes.indexed"' EXIT
write_class_names "$classes"
say "classes: $(paste -sd, "$classes")"
ensure_gaze
mkdir -p models
for entry in "${missing[@]}"; do
  folder=${entry%%:*}
  output=${entry#*:}
  say "converting $folder -> $output"
  "$gaze" convert --classes "@$classes" --preprocessing nsfwjs \
    "$unpacked/package/dist/models/$folder/model.min.js" "$output"
done
