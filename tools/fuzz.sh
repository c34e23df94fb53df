#!/usr/bin/env bash
# Builds the libFuzzer harnesses (fuzz/) with clang, ASan and UBSan in build-fuzz/ and runs them
# (docs/fuzzing.md).
#   tools/fuzz.sh --short        CI's pass: every harness briefly on its corpus, ~1 minute in all
#                                (but those with an open finding in fuzz/open/, named instead)
#   tools/fuzz.sh --full         the budget: each harness until it has run 1,000,000 executions
#                                or 30 minutes in total, in chunks, resumable (build-fuzz/budget/)
#   --only NAME[,NAME...]        these harnesses only
#   --chunk SECONDS              (--full) the longest single run of one harness (default 600)
#   --lock FILE                  run each build step and fuzzing run under `flock FILE`
#   --build-only                 build, assemble the corpora, run nothing
# The corpus of each harness grows in build-fuzz/corpus/<harness>/ (kept between runs); it starts
# from fuzz/seeds.txt, fuzz/corpus/<harness>/ and fuzz/regressions/<harness>/. A crash, leak,
# timeout or out-of-memory input is saved in build-fuzz/findings/<harness>/ and fails the run:
# fix it, then copy the input to fuzz/regressions/<harness>/ (ctest fuzz_replay_<harness>).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=""
only=""
chunk=600
lock=""
build_only=false
while [ $# -gt 0 ]; do
  case "$1" in
    --short) mode=short ;;
    --full) mode=full ;;
    --only) only=$2; shift ;;
    --chunk) chunk=$2; shift ;;
    --lock) lock=$2; shift ;;
    --build-only) build_only=true ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fuzz.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ -z "$mode" ] && ! $build_only; then
  echo "fuzz.sh: give --short, --full or --build-only (see --help)" >&2
  exit 2
fi

harnesses=(image npy tfjs keras_config keras_zip hdf5 jsonl)
if [ -n "$only" ]; then
  IFS=, read -r -a harnesses <<<"$only"
fi
locked() { if [ -n "$lock" ]; then flock "$lock" "$@"; else "$@"; fi; }

# clang: the newest clang-N on the machine, or plain clang.
cc=""
for v in 19 18 17 16 15 14; do
  if command -v "clang++-$v" >/dev/null; then cc=$v; break; fi
done
cxx=clang++${cc:+-$cc}
c=clang${cc:+-$cc}
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
dir=build-fuzz
locked cmake -S . -B "$dir" -DGAZE_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_C_COMPILER="$c" "${launcher[@]}" >/dev/null
targets=()
for h in "${harnesses[@]}"; do targets+=("${h}_fuzz"); done
locked cmake --build "$dir" -j "$(nproc)" --target "${targets[@]}"

# The corpora: the fixtures of fuzz/seeds.txt, the committed seeds and the regressions, copied
# into the growing corpus (names by content, so a copy never duplicates).
for h in "${harnesses[@]}"; do
  mkdir -p "$dir/corpus/$h" "$dir/findings/$h"
  files=()
  while read -r name pattern; do
    [ "$name" = "$h" ] || continue
    # shellcheck disable=SC2206  # the pattern is a glob, expanded here
    matched=($pattern)
    files+=("${matched[@]}")
  done < <(grep -E '^[a-z_0-9]+ ' fuzz/seeds.txt)
  for f in "${files[@]}" fuzz/corpus/"$h"/* fuzz/regressions/"$h"/*; do
    [ -f "$f" ] || continue
    cp "$f" "$dir/corpus/$h/seed-$(sha1sum "$f" | cut -c1-16)"
  done
done
$build_only && exit 0

# Per-harness libFuzzer options: images decode up to gaze's pixel limit, so they get more memory.
options_of() {
  case "$1" in
    image) echo "-rss_limit_mb=4096 -malloc_limit_mb=3072 -timeout=30" ;;
    *) echo "-rss_limit_mb=2048 -timeout=20" ;;
  esac
}

# allocator_may_return_null=1: a C library's malloc fails as it does outside ASan (libhdf5 reports
# it as an error; weights/hdf5_file.cpp); gaze's operator new still reports an impossible size.
# max_allocation_size_mb=2048: libhdf5 mallocs sizes read from the file (16 GiB for a 28 KB file)
# before it finds they are past its end; outside ASan that is untouched address space, under ASan
# its shadow is poisoned (2 GiB of RSS), so such a malloc fails here, as on a small machine.
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1:max_allocation_size_mb=2048
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export OMP_NUM_THREADS=1

# run <harness> <seconds>: one libFuzzer run; appends "executions seconds" to the harness's
# budget log; prints the figures of the run. Returns 1 when it found something.
failed=0
run() {
  local h=$1 seconds=$2 log="$dir/logs/$1-$(date +%Y%m%d-%H%M%S).log"
  mkdir -p "$dir/logs" "$dir/budget"
  local start end status=0
  # The clock starts once the lock is held: waiting for it is not fuzzing time.
  # shellcheck disable=SC2046  # the options are separate words
  locked sh -c 'date +%s >"$0"; exec "$@"' "$log.start" "$dir/fuzz/${h}_fuzz" "$dir/corpus/$h" \
    -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$dir/findings/$h/" \
    $(options_of "$h") >"$log" 2>&1 || status=$?
  end=$(date +%s)
  start=$(cat "$log.start")
  rm -f "$log.start"
  local execs rate
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  [ -n "$execs" ] || execs=0
  local corpus findings
  corpus=$(find "$dir/corpus/$h" -type f | wc -l)
  findings=$(find "$dir/findings/$h" -type f | wc -l)
  echo "$execs $((end - start))" >>"$dir/budget/$h.tsv"
  printf '%-13s %10s execs %6ss %8s exec/s  corpus %5s  findings %s\n' "$h" "$execs" \
    "$((end - start))" "${rate:-?}" "$corpus" "$findings"
  if [ "$status" -ne 0 ] || [ "$findings" -gt 0 ]; then
    echo "fuzz.sh: $h: finding (exit $status) in $dir/findings/$h/; log $log:" >&2
    grep -E 'ERROR|SUMMARY|runtime error|==[0-9]+==' "$log" | head -20 >&2 || true
    failed=1
  fi
}

# The totals of a harness over all its runs: "executions seconds".
totals() {
  [ -f "$dir/budget/$1.tsv" ] || { echo "0 0"; return; }
  awk '{e += $1; s += $2} END {printf "%d %d\n", e, s}' "$dir/budget/$1.tsv"
}

# A harness with an open finding, an input in fuzz/open/<harness>_* that is not fixed yet (a bug
# inside a library, docs/fuzzing.md), finds it again within seconds: the short pass, which is for
# regressions, names it and leaves it out, so that CI stays a test of everything else. Its seeds
# and regressions are still replayed by ctest (fuzz_replay_<harness>), and --full still runs it.
open_finding() { compgen -G "fuzz/open/$1_*" | head -n1; }

if [ "$mode" = short ]; then
  per=$(( (60 + ${#harnesses[@]} - 1) / ${#harnesses[@]} ))
  for h in "${harnesses[@]}"; do
    if finding=$(open_finding "$h") && [ -n "$finding" ]; then
      echo "$h: not fuzzed in the short pass: open finding $finding (docs/fuzzing.md)"
      continue
    fi
    run "$h" "$per"
  done
else
  # Round robin, one chunk per harness per round, until every budget is met; a harness that
  # found something stops (its finding must be fixed first).
  mkdir -p "$dir/budget"
  stopped=" "
  while :; do
    pending=0
    for h in "${harnesses[@]}"; do
      [[ "$stopped" == *" $h "* ]] && continue
      read -r execs seconds < <(totals "$h")
      if [ "$execs" -ge 1000000 ] || [ "$seconds" -ge 1800 ]; then continue; fi
      # A harness fuzzed by another --full stream at the moment is left to it: two streams would
      # share its corpus and each compute the time left from the same totals.
      exec {held}>"$dir/budget/$h.lock"
      if ! flock -n "$held"; then
        echo "$h: being fuzzed by another stream, left to it"
        exec {held}>&-
        stopped+="$h "
        continue
      fi
      read -r execs seconds < <(totals "$h")
      pending=1
      left=$((1800 - seconds))
      before=$failed
      failed=0
      [ "$left" -gt 0 ] && run "$h" $((left < chunk ? left : chunk))
      exec {held}>&-
      [ "$failed" -eq 1 ] && stopped+="$h "
      failed=$((before | failed))
    done
    [ "$pending" -eq 1 ] || break
  done
  echo "== budget totals (build-fuzz/budget/) =="
  for h in "${harnesses[@]}"; do
    read -r execs seconds < <(totals "$h")
    printf '%-13s %10s execs %6ss %8s exec/s\n' "$h" "$execs" "$seconds" \
      "$((seconds > 0 ? execs / seconds : 0))"
  done
fi
exit "$failed"
