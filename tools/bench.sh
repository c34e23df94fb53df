#!/usr/bin/env bash
# Speed of gaze against ONNX Runtime (tools/reference/ort_bench.js) and the PyTorch reference
# (tools/reference/torch_bench.py), interleaved in rounds, per model:
#   inception_v3  models/nsfwjs_inception_v3.h5, tests/fixtures/npy/astronaut_299_inception_v3.npy
#   mobilenet_v2  models/nsfwjs_mobilenet_v2.h5, tests/fixtures/npy/coffee_mobilenet_v2.npy
#   resnet50, efficientnet_b0   full-width 224x224 models with seeded weights, made once into
#                 out/bench-models/ by tools/reference/bench_models.js (TF.js) and `gaze convert`;
#                 input tests/fixtures/npy/coffee_mobilenet_v2.npy
#   tools/bench.sh [--rounds R] [--runs N] [--warmup W] [--threads T] [--models LIST] [--batch B]
#                  [--variants LIST] [--no-ort] [--no-build]
#   tools/bench.sh --table out/bench-DATE.jsonl      reprint the tables of a saved run
# Builds build/gaze (cmake Release) unless --no-build, fetches the models, installs onnxruntime-node
# 1.30.0 (npm, --ignore-scripts) into tools/reference/ort and exports each model to ONNX (opset 13,
# static shapes, batch 1 and B) under out/onnx unless --no-ort. Then R rounds (default 3) of, per
# model: `gaze bench --json --batch B`, ONNX Runtime at batch 1 and B (default 8), and
# torch_bench.py --json for each PyTorch variant (default all four: nchw channels_last nchw_foldbn
# channels_last_foldbn), each timing N calls (default 20) after W warm-up calls (default 3) with T
# threads (default: nproc). Prints one markdown table per model (the median over rounds of each
# round's median; batch rows per image; "PyTorch best" is the variant with the lowest forward
# median, its peak RSS the lowest of all variants), the probability checks (ONNX Runtime against
# gaze within 1e-5), the machine, and PASS/MISS per target of issue 12. Saves the raw JSON lines to
# out/bench-DATE.jsonl and the tables to out/bench-DATE.md. GAZE_BIN overrides build/gaze.
# Needs /usr/bin/python3 with Debian's python3-torch, python3-h5py and python3-numpy (installed
# here when run as root), and node + npm for ONNX Runtime. Run it on a quiet machine: a round takes
# about 2 minutes per model.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly py=/usr/bin/python3
readonly all_models="inception_v3 mobilenet_v2 resnet50 efficientnet_b0"
readonly gaze=${GAZE_BIN:-build/gaze}
readonly all_variants="nchw channels_last nchw_foldbn channels_last_foldbn"

rounds=3
runs=20
warmup=3
threads=$(nproc)
variants=$all_variants
models=$all_models
batch=8
ort=1
build=1
table=""

say() { echo "bench: $*" >&2; }
die() {
  echo "bench: error: $*" >&2
  exit 1
}
usage() { sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; }
need_int() {  # option value minimum
  if ! [[ $2 =~ ^[0-9]+$ ]] || [ "$2" -lt "$3" ]; then die "$1 needs an integer >= $3, got '$2'"; fi
}

while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --rounds|--runs|--warmup|--threads|--variants|--models|--batch|--table)
      [ $# -ge 2 ] || die "$1 needs a value (see --help)"
      case "$1" in
        --rounds) need_int "$1" "$2" 1; rounds=$2 ;;
        --runs) need_int "$1" "$2" 1; runs=$2 ;;
        --warmup) need_int "$1" "$2" 0; warmup=$2 ;;
        --threads) need_int "$1" "$2" 1; threads=$2 ;;
        --variants) variants=${2//,/ } ;;
        --models) models=${2//,/ } ;;
        --batch) need_int "$1" "$2" 2; batch=$2 ;;
        --table) table=$2 ;;
      esac
      shift 2 ;;
    --no-build) build=0; shift ;;
    --no-ort) ort=0; shift ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done
for v in $variants; do
  [[ " $all_variants " == *" $v "* ]] || die "unknown variant '$v' (one of: $all_variants)"
done
[ -n "${variants// /}" ] || die "--variants is empty"
for m in $models; do
  [[ " $all_models " == *" $m "* ]] || die "unknown model '$m' (one of: $all_models)"
done
[ -n "${models// /}" ] || die "--models is empty"

# Per model: the .h5, the bundled input, and the Grad-CAM layers PyTorch times (gaze bench times
# the model's default layer and mixed7 where there is one; the first layer here is that default).
model_file() {
  case "$1" in
    inception_v3 | mobilenet_v2) echo "models/nsfwjs_$1.h5" ;;
    *) echo "out/bench-models/$1.h5" ;;
  esac
}
model_input() {
  case "$1" in
    inception_v3) echo tests/fixtures/npy/astronaut_299_inception_v3.npy ;;
    *) echo tests/fixtures/npy/coffee_mobilenet_v2.npy ;;
  esac
}
model_layers() {
  case "$1" in
    inception_v3) echo mixed10,mixed7 ;;
    mobilenet_v2) echo out_relu ;;
    resnet50) echo conv5_block3_out ;;
    efficientnet_b0) echo top_activation ;;
  esac
}
# The seeded full-width models (resnet50, efficientnet_b0): TF.js builds them (the pinned
# @tensorflow/tfjs of tools/reference, npm ci), gaze convert makes the .h5. Made again when the
# script that builds them is newer.
ensure_bench_model() {
  local m=$1 f
  f=$(model_file "$m")
  case "$m" in inception_v3 | mobilenet_v2) return ;; esac
  [ -f "$f" ] && [ "$f" -nt tools/reference/bench_models.js ] && return
  command -v node >/dev/null && command -v npm >/dev/null ||
    die "the $m model is made with TF.js: it needs node and npm (apt-get install nodejs npm)"
  if [ ! -d tools/reference/node_modules/@tensorflow/tfjs ]; then
    say "installing TF.js into tools/reference (npm ci)"
    (cd tools/reference && npm ci --no-audit --no-fund >/dev/null) || die "npm ci in tools/reference failed"
  fi
  say "making the $m model ($f)"
  mkdir -p out/bench-models
  node tools/reference/bench_models.js "$(model_input "$m")" out/bench-models "$m" ||
    die "tools/reference/bench_models.js failed on $m"
  "$gaze" convert --force "out/bench-models/$m/model.json" "$f" >/dev/null ||
    die "gaze convert failed on out/bench-models/$m/model.json"
}

# /usr/bin/python3 with torch, h5py and numpy, and /usr/bin/time (tools/ensure_python.sh).
source tools/ensure_python.sh

# The tables and the targets, from a .jsonl of this script.
print_table() { "$py" tools/reference/bench_table.py "$1"; }

# onnxruntime-node 1.30.0 in tools/reference/ort. --ignore-scripts: the package carries the CPU
# library, and its install script only fetches GPU parts (which fails without internet).
readonly ort_dir=tools/reference/ort
ensure_ort() {
  command -v node >/dev/null && command -v npm >/dev/null ||
    die "ONNX Runtime needs node and npm (apt-get install nodejs npm), or run with --no-ort"
  local have
  have=$(node -p "require('./$ort_dir/node_modules/onnxruntime-node/package.json').version" 2>/dev/null || true)
  [ "$have" = 1.30.0 ] && return
  say "installing onnxruntime-node 1.30.0 into $ort_dir (npm, --ignore-scripts)"
  (cd "$ort_dir" && npm ci --ignore-scripts --no-audit --no-fund >/dev/null) ||
    die "npm install of onnxruntime-node failed (see above), or run with --no-ort"
}
# out/onnx/<model>-b<batch>.onnx, exported again when the .h5 is newer.
onnx_file() {  # model key, batch
  local f=out/onnx/$1-b$2.onnx
  if [ ! -f "$f" ] || [ "$(model_file "$1")" -nt "$f" ]; then
    mkdir -p out/onnx
    "$py" tools/reference/ort_export.py "$(model_file "$1")" "$f" --batch "$2" 2>&1 | grep -v Warning >&2 ||
      true
    [ -f "$f" ] || die "exporting $(model_file "$1") to ONNX failed"
  fi
  echo "$f"
}

if [ -n "$table" ]; then
  [ -f "$table" ] || die "$table: no such file"
  ensure_python bench "import torch, h5py, numpy" python3-torch python3-h5py python3-numpy
  print_table "$table"
  exit 0
fi

ensure_python bench "import torch, h5py, numpy" python3-torch python3-h5py python3-numpy
if [ "$build" = 1 ]; then
  tools/setup.sh
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build --target gaze -j "$(nproc)" >/dev/null
elif [ ! -x "$gaze" ]; then
  die "$gaze is missing (run without --no-build to build it)"
fi
GAZE_BIN=$gaze tools/fetch_models.sh
for m in $models; do ensure_bench_model "$m"; done
"$gaze" bench --help >/dev/null 2>&1 || die "$gaze has no working 'bench' command (rebuild it?)"
declare -A onnx=()
ort_version=""
if [ "$ort" = 1 ]; then
  ensure_ort
  ort_version=1.30.0
  for m in $models; do
    for b in 1 "$batch"; do onnx[$m-$b]=$(onnx_file "$m" "$b"); done
  done
fi

# The machine, for the table and the first line of the .jsonl.
cpu=$(awk -F': *' '
  /^model name/ && !name { name = $2 }
  /^cpu family/ && !fam { fam = $2 }
  /^model[[:space:]]*:/ && !mod { mod = $2 }
  /^processor/ { n++ }
  /^flags/ && !flags { flags = " " $2 " " }
  END {
    isa = flags ~ / avx512f / ? "AVX-512" : (flags ~ / avx2 / ? "AVX2" : "no AVX2")
    vm = flags ~ / hypervisor / ? ", virtual machine" : ""
    printf "%s (family %s, model %s; %d logical CPUs; %s%s)\n", name, fam, mod, n, isa, vm
  }' /proc/cpuinfo)
blas_lib=$(ldd "$gaze" 2>/dev/null | awk '/libopenblas/ { print $3; exit }' || true)
openblas=$("$py" - "$blas_lib" <<'PY' 2>/dev/null || true
import ctypes, subprocess, sys
path = sys.argv[1]
cfg = ctypes.CDLL(path)
cfg.openblas_get_config.restype = ctypes.c_char_p
text = cfg.openblas_get_config().decode()
try:
    pkg = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True).stdout.split(":")[0]
    ver = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True).stdout
    text += f" ({pkg} {ver})" if pkg and ver else ""
except OSError:
    pass
print(f"{text}; {path}")
PY
)
torch_version=$("$py" -c 'import torch; print(torch.__version__)')
torch_pkg=$(dpkg-query -W -f='${Version}' python3-torch 2>/dev/null || true)
[ -z "$torch_pkg" ] || torch_version="$torch_version (Debian python3-torch $torch_pkg)"
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' build/CMakeCache.txt 2>/dev/null || true)
gaze_rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] || gaze_rev="$gaze_rev+uncommitted changes"
env_note=""
for var in OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS OMP_NUM_THREADS GOTO_NUM_THREADS; do
  [ -z "${!var:-}" ] || env_note="$env_note${env_note:+, }$var=${!var}"
done
date_str=$(date '+%Y-%m-%d %H:%M %Z')
stamp=$(date '+%Y-%m-%d-%H%M%S')
mkdir -p out
jsonl=out/bench-$stamp.jsonl
md=out/bench-$stamp.md

meta() {  # key=value... -> a JSON object line
  "$py" -c 'import json, sys; print(json.dumps(dict(a.split("=", 1) for a in sys.argv[1:])))' "$@"
}
meta tool=bench.sh date="$date_str" cpu="$cpu" threads="$threads" rounds="$rounds" runs="$runs" \
  warmup="$warmup" variants="$variants" models="$models" batch="$batch" onnxruntime="$ort_version" openblas="${openblas:-unknown}" torch="$torch_version" \
  gaze="$gaze_rev, CMAKE_BUILD_TYPE=${build_type:-unknown}" env="$env_note" \
  loadavg_start="$(cut -d' ' -f1-3 /proc/loadavg)" >"$jsonl"

on_exit() {
  local rc=$?
  [ $rc -eq 0 ] || say "stopped; the lines so far are in $jsonl"
}
trap on_exit EXIT

json_line() {  # the last line of stdout that starts with '{'
  local out
  out=$(grep '^{' | tail -n1) || true
  [ -n "$out" ] || return 1
  printf '%s\n' "$out"
}

tagged() {  # model key: the JSON line on stdin with "bench_model" added
  "$py" -c 'import json, sys; d = json.loads(sys.stdin.read()); d["bench_model"] = sys.argv[1]; print(json.dumps(d))' "$1"
}

peers="PyTorch $variants"
[ "$ort" = 0 ] || peers="ONNX Runtime (batch 1 and $batch), $peers"
say "$rounds round(s) of, per model ($models): gaze, $peers; $runs runs after $warmup warm-up calls, $threads thread(s)"
say "raw lines: $jsonl"
# Once per model: gaze's probabilities, which ONNX Runtime's must equal (the race is on one network).
for m in $models; do
  "$gaze" classify --json --top 0 --model "$(model_file "$m")" "$(model_input "$m")" |
    "$py" -c 'import json, sys; d = json.loads(sys.stdin.readline()); d["tool"] = "gaze-classify"; print(json.dumps(d))' |
    tagged "$m" >>"$jsonl" || die "'$gaze classify' failed on $(model_file "$m")"
done
for ((r = 1; r <= rounds; r++)); do
  for m in $models; do
    model=$(model_file "$m")
    input=$(model_input "$m")
    say "round $r/$rounds, $m: gaze"
    line=$("$gaze" bench --json --model "$model" --input "$input" --batch "$batch" --runs "$runs" \
      --warmup "$warmup" --threads "$threads" | json_line) ||
      die "'$gaze bench --json' failed or printed no JSON line"
    echo "$line" | tagged "$m" >>"$jsonl"
    if [ "$ort" = 1 ]; then
      for b in 1 "$batch"; do
        say "round $r/$rounds, $m: ONNX Runtime, batch $b"
        line=$(node tools/reference/ort_bench.js --model "${onnx[$m-$b]}" --input "$input" --runs "$runs" \
          --warmup "$warmup" --threads "$threads" | json_line) ||
          die "ort_bench.js failed on ${onnx[$m-$b]} or printed no JSON line"
        echo "$line" | tagged "$m" >>"$jsonl"
      done
    fi
    # The probabilities are compared with gaze's once, in the first round.
    check=$gaze
    [ "$r" = 1 ] || check=none
    for v in $variants; do
      say "round $r/$rounds, $m: PyTorch $v"
      line=$("$py" tools/reference/torch_bench.py --json --variant "$v" --model "$model" --input "$input" \
        --layers "$(model_layers "$m")" --runs "$runs" --warmup "$warmup" --threads "$threads" \
        --gaze "$check" | json_line) ||
        die "torch_bench.py --variant $v failed on $model or printed no JSON line"
      echo "$line" | tagged "$m" >>"$jsonl"
    done
  done
done
# The load at the end goes into the first line.
"$py" - "$jsonl" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import json, sys
path, load = sys.argv[1], sys.argv[2]
lines = open(path).read().splitlines()
meta = json.loads(lines[0])
meta["loadavg_end"] = load
lines[0] = json.dumps(meta)
open(path, "w").write("\n".join(lines) + "\n")
PY

echo
print_table "$jsonl" | tee "$md"
echo
say "saved $jsonl and $md"
