#!/usr/bin/env bash
# ctest docs_runnable: runs every fenced block of README.md and docs/*.md whose info string is
# `sh runnable` (or `sh runnable models`, for commands that need the fetched models), so every
# command shown as runnable runs as written. Each page's blocks run in order, with `bash -e`, in
# one scratch folder of that page holding `build` (the built tree), `models` and a copy of
# `tests/fixtures`, so the commands read the bundled photos and write nothing into the sources.
#   run_runnable.sh BUILD_DIR SOURCE_DIR
# Blocks marked `models` skip (exit 77) when models/ lacks the nsfwjs models, and fail instead
# under GAZE_NO_SKIP=1 or CI=true, as the C++ tests do (tests/support/fixtures.h).
set -uo pipefail
shopt -s nullglob
build=$1 src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
have_models=1
[ -f "$src/models/nsfwjs_inception_v3.h5" ] && [ -f "$src/models/nsfwjs_mobilenet_v2.h5" ] || have_models=0
no_skip=0
[ "${GAZE_NO_SKIP:-}" = 1 ] || [ "${CI:-}" = true ] && no_skip=1

ran=0 skipped=0 failed=0
for page in "$src/README.md" "$src"/docs/*.md; do
  name=${page#"$src"/}
  dir="$work/$(echo "$name" | tr / _)"
  mkdir -p "$dir/tests"
  ln -s "$build" "$dir/build"
  ln -s "$src/models" "$dir/models"
  cp -r "$src/tests/fixtures" "$dir/tests/fixtures"
  # One file per block: NNN.sh, with the block's first line number and its kind.
  awk -v out="$dir/block" '
    /^```sh runnable( models)?[[:space:]]*$/ { n++; kind = ($3 == "models") ? "models" : "plain";
      file = sprintf("%s%03d.%s.%d.sh", out, n, kind, NR); inb = 1; next }
    inb && /^```/ { inb = 0; close(file); next }
    inb { print > file }' "$page"
  for block in "$dir"/block*.sh; do
    [ -e "$block" ] || continue
    base=$(basename "$block" .sh)
    line=${base##*.}
    kind=$(echo "$base" | cut -d. -f2)
    if [ "$kind" = models ] && [ $have_models = 0 ]; then
      if [ $no_skip = 1 ]; then
        echo "docs_runnable: $name:$line: needs models/nsfwjs_*.h5, which are not there: run tools/fetch_models.sh (GAZE_NO_SKIP=1 or CI=true: not skipped)" >&2
        failed=$((failed + 1))
      else
        echo "docs_runnable: $name:$line: skipped, models/ lacks the nsfwjs models (tools/fetch_models.sh)"
        skipped=$((skipped + 1))
      fi
      continue
    fi
    echo "docs_runnable: $name:$line"
    if (cd "$dir" && PATH="$build:$PATH" bash -e -o pipefail "$block" >"$block.out" 2>&1); then
      ran=$((ran + 1))
    else
      echo "docs_runnable: $name:$line: FAILED; its commands and output:" >&2
      sed 's/^/  | /' "$block" >&2
      tail -20 "$block.out" | sed 's/^/  > /' >&2
      failed=$((failed + 1))
    fi
  done
done
echo "docs_runnable: $ran blocks ran, $skipped skipped, $failed failed"
[ $failed -eq 0 ] || exit 1
[ $ran -gt 0 ] || { echo "docs_runnable: no runnable block found" >&2; exit 1; }
[ $skipped -eq 0 ] || exit 77
