#!/usr/bin/env bash
# The limit analysis of issue 12: per model, where gaze's forward pass spends its time, against
# what the machine allows.
#   tools/limits.sh [--models LIST] [--runs N]     (default: every model of tools/bench.sh, 200)
# Per model (tools/bench.sh makes the full-width ResNet50 and EfficientNetB0 in out/bench-models):
#   - gaze bench --profile --json: each layer's median time, multiply-adds (direct and executed,
#     after Winograd) and bytes moved (layers/cost.h);
#   - perf record of `gaze classify` over N copies of the model's input: the samples by function,
#     grouped into step classes (GEMM kernel and packing, depthwise, Winograd transforms, im2col,
#     pooling, epilogues, copies, OpenMP waits, kernel);
#   - the machine: a 2048^3 sgemm's rate (gaze bench) and the copy bandwidth (numpy, 256 MiB).
# tools/reference/limits_table.py prints the tables (layer classes with their roofline times, step
# classes); raw files and the tables go to out/limits-DATE/. Needs perf (linux-perf) and
# /usr/bin/python3 with numpy. Run it on a quiet machine, alone.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly py=/usr/bin/python3
readonly gaze=${GAZE_BIN:-build/gaze}
models="inception_v3 mobilenet_v2 resnet50 efficientnet_b0"
runs=200
die() {
  echo "limits: error: $*" >&2
  exit 1
}
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --models) [ -n "${2:-}" ] || die "--models needs a list"; models=${2//,/ }; shift 2 ;;
    --runs) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || die "--runs needs a positive integer"; runs=$2; shift 2 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done
[ -x "$gaze" ] || die "$gaze is missing: build it (cmake --build build --target gaze)"
command -v perf >/dev/null || die "perf is missing (apt-get install linux-perf)"

model_file() { case "$1" in inception_v3 | mobilenet_v2) echo "models/nsfwjs_$1.h5" ;; *) echo "out/bench-models/$1.h5" ;; esac; }
model_input() { case "$1" in inception_v3) echo tests/fixtures/npy/astronaut_299_inception_v3.npy ;; *) echo tests/fixtures/npy/coffee_mobilenet_v2.npy ;; esac; }
for m in $models; do
  [ -f "$(model_file "$m")" ] || die "$(model_file "$m") is missing: run tools/fetch_models.sh, or tools/bench.sh --models $m once"
done

out=out/limits-$(date '+%Y-%m-%d-%H%M%S')
mkdir -p "$out"
bandwidth=$("$py" - <<'PY'
import time, numpy as np
a = np.ones(64 << 20, dtype=np.float32); b = np.empty_like(a)
best = min((lambda t0: (np.copyto(b, a), time.perf_counter() - t0)[1])(time.perf_counter()) for _ in range(5))
print(2 * a.nbytes / best / 1e9)
PY
)
for m in $models; do
  echo "limits: $m: gaze bench --profile" >&2
  "$gaze" bench --profile --json --runs 20 --model "$(model_file "$m")" --input "$(model_input "$m")" |
    grep '^{' | tail -n1 >"$out/$m.bench.json"
  echo "limits: $m: perf record of $runs forwards" >&2
  inputs=()
  for ((i = 0; i < runs; i++)); do inputs+=("$(model_input "$m")"); done
  perf record -q -o "$out/$m.perf.data" -- "$gaze" classify --quiet --model "$(model_file "$m")" \
    "${inputs[@]}" >/dev/null 2>"$out/$m.perf.log"
  perf report -i "$out/$m.perf.data" --stdio --no-children --sort dso,sym -g none 2>/dev/null \
    >"$out/$m.perf.txt"
  rm -f "$out/$m.perf.data"
done
sgemm=$("$py" -c 'import json, sys; print(json.load(open(sys.argv[1]))["sgemm_gflops"])' \
  "$out/$(echo "$models" | awk '{print $1}').bench.json")
cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] || rev="$rev+uncommitted changes"
"$py" - "$out/meta.json" <<PY
import json, sys
json.dump({"models": "$models".split(), "sgemm_gflops": $sgemm, "copy_gb_per_s": $bandwidth,
           "bandwidth_method": "numpy copyto of 256 MiB, one thread, read + write", "cpu": "$cpu",
           "threads": $(nproc), "perf_runs": $runs, "date": "$(date '+%Y-%m-%d %H:%M %Z')", "gaze": "$rev"},
          open(sys.argv[1], "w"))
PY
"$py" tools/reference/limits_table.py "$out" | tee "$out/limits.md"
echo "limits: saved $out/limits.md" >&2
