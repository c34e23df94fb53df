#!/usr/bin/env bash
# A/B of the pipeline's overlap (collection/pipeline.h): `gaze cam` over the bench photos with and
# without --no-overlap, alternating, for R rounds (default 3), with the default OpenMP waiting and
# with OMP_WAIT_POLICY=PASSIVE. Prints the median ms per photo of each run (the --verbose
# intervals, first and last photo left out, as tools/bench_e2e.sh). Run tools/bench_e2e.sh once
# first (it makes out/bench-photos/). Run it alone, under the CPU lock.
#   tools/bench_overlap.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
readonly gaze=${GAZE_BIN:-build/gaze}
rounds=${1:-3}
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "bench_overlap: error: ROUNDS must be a positive integer" >&2; exit 1; }
mapfile -t images < <(ls out/bench-photos/*.jpg | sort)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
median() {
  /usr/bin/python3 -c '
import re, statistics, sys
ms = [float(m) for m in re.findall(r": ([0-9.]+) ms, RSS", sys.stdin.read())]
print("%.1f" % statistics.median(ms[1:-1]))'
}
for round in $(seq 1 "$rounds"); do
  for mode in overlap no-overlap; do
    flag=()
    [ "$mode" = no-overlap ] && flag=(--no-overlap)
    for wait in default PASSIVE; do
      env=()
      [ "$wait" = PASSIVE ] && env=(OMP_WAIT_POLICY=PASSIVE)
      rm -rf "$scratch/panels"
      ms=$(env "${env[@]}" "$gaze" cam --model models/nsfwjs_inception_v3.h5 --verbose "${flag[@]}" \
        --out-dir "$scratch/panels" "${images[@]}" 2>&1 >/dev/null | median)
      echo "round $round cam $mode OMP_WAIT_POLICY=$wait: $ms ms per photo"
    done
  done
done
