#!/usr/bin/env bash
# Fetches the nsfwjs models (npm package nsfwjs@4.4.0, MIT) and converts them to Keras HDF5:
#   models/nsfwjs_inception_v3.h5   InceptionV3, 299x299 input
#   models/nsfwjs_mobilenet_v2.h5   MobileNetV2, 224x224 input
# Both carry the package's class names and --preprocessing nsfwjs.
# Also writes the 1000 ImageNet class names, one per line in index order, for models without
# stored class names (keras.applications' ImageNet weights), from the npm package
# @tensorflow-models/mobilenet@2.1.1 (Apache-2.0):
#   models/imagenet_classes.txt
# The models are keyed by the converter's version (`gaze convert --version`), kept beside them in
#   models/.converter-version
# When it differs from the gaze program's, or is missing, both models are converted again.
# Idempotent otherwise: files already present are skipped; prints nothing when all are there.
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
# The ImageNet class names: dist/imagenet_classes.js of this package.
readonly imagenet_package=@tensorflow-models/mobilenet@2.1.1
readonly imagenet_tarball_name=tensorflow-models-mobilenet-2.1.1.tgz
readonly imagenet_tarball_sha256=29b97f8db758d1d699c5654100fd363beaaeda1874e1488b5bceb267d13f90ff
readonly imagenet_classes=models/imagenet_classes.txt

cache=${GAZE_CACHE:-$HOME/.cache/gaze}
gaze=${GAZE_BIN:-build/gaze}

say() { echo "fetch_models: $*" >&2; }
die() {
  echo "fetch_models: error: $*" >&2
  exit 1
}

# Temporary files, removed however the script ends.
temporaries=()
cleanup() { [ ${#temporaries[@]} -eq 0 ] || rm -rf "${temporaries[@]}"; }
trap cleanup EXIT

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

# Node.js, which Debian's npm package depends on: prints the program's name.
node_program() {
  local name
  for name in node nodejs; do
    command -v "$name" >/dev/null && echo "$name" && return
  done
  ensure_npm
  for name in node nodejs; do
    command -v "$name" >/dev/null && echo "$name" && return
  done
  die "node is missing; install it (apt-get install nodejs) and rerun"
}

# fetch_tarball PACKAGE FILE SHA256: the package tarball in the cache, downloaded once and
# checked every time.
fetch_tarball() {
  local pkg=$1 name=$2 sha256=$3
  local file=$cache/$name
  if [ ! -f "$file" ]; then
    ensure_npm
    say "downloading $pkg with npm pack"
    mkdir -p "$cache"
    local work
    work=$(mktemp -d "$cache/pack.XXXXXX")
    if ! (cd "$work" && npm pack --silent "$pkg" >/dev/null); then
      rm -rf "$work"
      die "npm pack $pkg failed (is the npm registry reachable?)"
    fi
    if [ ! -f "$work/$name" ]; then
      rm -rf "$work"
      die "npm pack $pkg did not write $name"
    fi
    mv "$work/$name" "$file"
    rmdir "$work"
  fi
  local actual
  actual=$(sha256sum "$file" | cut -d' ' -f1)
  [ "$actual" = "$sha256" ] ||
    die "checksum mismatch for $file: expected sha256 $sha256, got $actual" \
      "(delete the file to download it again)"
}

# unpack FILE FOLDER: the tarball unpacked beside it; the rename makes a half-unpacked folder
# impossible.
unpack() {
  local file=$1 folder=$2
  [ -d "$folder" ] && return
  rm -rf "$folder.tmp"
  mkdir -p "$folder.tmp"
  tar -xzf "$file" -C "$folder.tmp"
  mv "$folder.tmp" "$folder"
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

# The nsfwjs models: converted from the package's TF.js models by `gaze convert`; all of them
# again when the converter's version is not the one they were converted by.
fetch_nsfwjs_models() {
  ensure_gaze
  local version stamp=models/.converter-version stamped=""
  version=$("$gaze" convert --version) || die "$gaze convert --version failed"
  [ -f "$stamp" ] && stamped=$(cat "$stamp")
  local missing=() entry
  for entry in "${models[@]}"; do
    if [ "$stamped" != "$version" ] || [ ! -f "${entry#*:}" ]; then missing+=("$entry"); fi
  done
  [ ${#missing[@]} -eq 0 ] && return
  if [ -n "$stamped" ] && [ "$stamped" != "$version" ]; then
    say "the converter changed (the models are from '$stamped', gaze is '$version'): converting them again"
  fi

  fetch_tarball "$package" "$tarball_name" "$tarball_sha256"
  unpacked=$cache/nsfwjs-4.4.0
  unpack "$cache/$tarball_name" "$unpacked"
  local classes
  classes=$(mktemp "$cache/classes.XXXXXX")
  temporaries+=("$classes" "$classes.indexed")
  write_class_names "$classes"
  say "classes: $(paste -sd, "$classes")"
  mkdir -p models
  local folder output
  for entry in "${missing[@]}"; do
    folder=${entry%%:*}
    output=${entry#*:}
    say "converting $folder -> $output"
    "$gaze" convert --force --classes "@$classes" --preprocessing nsfwjs \
      "$unpacked/package/dist/models/$folder/model.min.js" "$output" ||
      die "gaze convert failed for $folder"
  done
  # Written last, and by a rename: a stamp never vouches for a model that was not converted.
  printf '%s\n' "$version" >"$stamp.tmp"
  mv "$stamp.tmp" "$stamp"
}

# The ImageNet class names, from the package's CommonJS source, which reads
#   exports.IMAGENET_CLASSES = { 0: 'tench, Tinca tinca', ..., 2: 'great white shark, ' +
#       'Carcharodon carcharias', ... };
# Node evaluates the file in an empty sandbox (no require, no process), so string concatenation
# and escapes are read exactly as JavaScript reads them; the keys must be exactly 0..999 and
# every name a non-empty single line.
fetch_imagenet_classes() {
  [ -f "$imagenet_classes" ] && return
  fetch_tarball "$imagenet_package" "$imagenet_tarball_name" "$imagenet_tarball_sha256"
  local folder=$cache/${imagenet_tarball_name%.tgz}
  unpack "$cache/$imagenet_tarball_name" "$folder"
  local source=$folder/package/dist/imagenet_classes.js
  [ -f "$source" ] || die "$source is missing: cannot read the ImageNet class names"
  local node
  node=$(node_program)
  mkdir -p models
  local out
  out=$(mktemp "models/.imagenet_classes.XXXXXX")
  temporaries+=("$out")
  # shellcheck disable=SC2016  # JavaScript, not shell
  "$node" -e '
    const fs = require("fs"), vm = require("vm");
    const [source, out] = process.argv.slice(1);
    const fail = (why) => { console.error(`fetch_models: error: ${source}: ${why}`); process.exit(1); };
    const sandbox = { exports: {} };
    sandbox.module = { exports: sandbox.exports };
    try {
      vm.runInNewContext(fs.readFileSync(source, "utf8"), sandbox, { timeout: 5000 });
    } catch (e) {
      fail(`cannot evaluate it: ${e.message}`);
    }
    const classes = sandbox.exports.IMAGENET_CLASSES || sandbox.module.exports.IMAGENET_CLASSES;
    if (!classes || typeof classes !== "object") fail("it does not define IMAGENET_CLASSES");
    const keys = Object.keys(classes);
    if (keys.length !== 1000) fail(`IMAGENET_CLASSES has ${keys.length} entries, not 1000`);
    const names = [];
    for (let i = 0; i < 1000; ++i) {
      const name = classes[String(i)];
      if (typeof name !== "string" || name.trim() === "" || /[\r\n]/.test(name))
        fail(`IMAGENET_CLASSES[${i}] is not a one-line name`);
      names.push(name.trim());
    }
    fs.writeFileSync(out, names.join("\n") + "\n");
  ' "$source" "$out" || exit 1
  local lines
  lines=$(wc -l <"$out")
  [ "$lines" -eq 1000 ] || die "$out has $lines lines, not 1000"
  chmod 644 "$out"
  mv "$out" "$imagenet_classes"
  say "ImageNet classes: $imagenet_classes ($(head -n1 "$imagenet_classes" | cut -d, -f1), ..., $(tail -n1 "$imagenet_classes" | cut -d, -f1))"
}

fetch_nsfwjs_models
fetch_imagenet_classes
