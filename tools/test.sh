#!/usr/bin/env bash
# The test command: install what is missing, configure, build, fetch the real models
# (tools/fetch_models.sh), run every test; then the same under AddressSanitizer +
# UndefinedBehaviorSanitizer. Tests that need the models show as skipped if fetching failed.
#   tools/test.sh               both passes (what CI runs)
#   tools/test.sh --fast        the optimized build only
#   tools/test.sh --sanitize    the sanitizer build only
set -euo pipefail
cd "$(dirname "$0")/.."

mode=both
case "${1:-}" in
  "") ;;
  --fast) mode=fast ;;
  --sanitize) mode=sanitize ;;
  -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "test.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
esac

tools/setup.sh
jobs=$(nproc)

run_pass() {  # build dir, extra cmake flags...
  local dir=$1; shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
  (cd "$dir" && ctest --output-on-failure -j "$jobs")
}

# The real models: fetched once (npm registry), converted by the optimized build's gaze.
fetch_models() {
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build -j "$jobs" --target gaze
  GAZE_BIN=build/gaze tools/fetch_models.sh || echo "test.sh: model fetch failed; model tests will be skipped" >&2
}

fetch_models
if [ "$mode" != sanitize ]; then
  echo "== tests (optimized build) =="
  run_pass build
fi
if [ "$mode" != fast ]; then
  echo "== tests (ASan + UBSan) =="
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 run_pass build-sanitize -DGAZE_SANITIZE=ON
fi
