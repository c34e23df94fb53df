#!/usr/bin/env bash
# Memory over a long run: `gaze cam` over N inputs in one process, the resident set size after
# each input recorded (--verbose), and the growth after the first 100 inputs reported. Target:
# RSS flat, no growth beyond 1% after the first 100 inputs.
#   tools/soak.sh [--inputs N] [--model M] [--jobs J] [--no-overlap] [--keep DIR]
# The inputs are variations of the bundled photos (tests/fixtures/images): each photo under
# N/8 names, so decoding, the network, the panel and every allocation run N times on real
# images of several sizes. Panels go to a temporary folder, removed at the end (--keep DIR keeps
# the RSS log there). Prints: inputs, RSS after input 100, max and last RSS after it, growth %,
# PASS/MISS. Default N 10000, model models/nsfwjs_mobilenet_v2.h5. Run it on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."

inputs=10000
model=models/nsfwjs_mobilenet_v2.h5
keep=""
gaze_options=()
while [ $# -gt 0 ]; do
  case "$1" in
    --inputs) inputs=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    --jobs) gaze_options+=(--jobs "$2"); shift 2 ;;
    --no-overlap) gaze_options+=(--no-overlap); shift ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "soak.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
readonly gaze=${GAZE_BIN:-build/gaze}
[ -x "$gaze" ] || { echo "soak.sh: error: $gaze: not built (cmake --build build)" >&2; exit 1; }
[ -f "$model" ] || { echo "soak.sh: error: $model: no such model (tools/fetch_models.sh)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
photos=(tests/fixtures/images/*.jpg tests/fixtures/images/*.png)
# The list: photo k of the bundle under its own name i, in one folder of links (no copies).
mkdir -p "$work/in"
for ((i = 0; i < inputs; i++)); do
  p=${photos[$((i % ${#photos[@]}))]}
  ln -s "$PWD/$p" "$work/in/$(printf '%06d' "$i").${p##*.}"
done
log="$work/rss.log"
start=$(date +%s)
"$gaze" cam --model "$model" --quiet --verbose "${gaze_options[@]}" --out-dir "$work/out" "$work/in" 2>&1 >/dev/null |
  sed -n 's/.*ms, RSS \([0-9.]*\) MiB$/\1/p' >"$log" || true
seconds=$(($(date +%s) - start))
[ -n "$keep" ] && mkdir -p "$keep" && cp "$log" "$keep/rss.log"
count=$(wc -l <"$log")
[ "$count" -eq "$inputs" ] || { echo "soak.sh: error: $count of $inputs inputs reported" >&2; exit 1; }
awk -v n="$inputs" -v s="$seconds" '
  NR == 100 { base = $1 }
  NR >= 100 { if ($1 > max) max = $1; last = $1 }
  END {
    growth = (max - base) / base * 100
    printf "inputs %d in %d s; RSS after input 100: %.1f MiB; max after it %.1f MiB; last %.1f MiB; growth %.2f%% -> %s (target <= 1%%)\n",
      n, s, base, max, last, growth, growth <= 1 ? "PASS" : "MISS"
  }' "$log"
