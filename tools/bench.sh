#!/usr/bin/env bash
# Speed of gaze against the PyTorch reference (tools/reference/torch_bench.py), InceptionV3,
# one 299x299 input (tests/fixtures/npy/astronaut_299_inception_v3.npy), interleaved in rounds.
#   tools/bench.sh [--rounds R] [--runs N] [--warmup W] [--threads T] [--variants LIST] [--no-build]
#   tools/bench.sh --table out/bench-DATE.jsonl      reprint the table of a saved run
# Builds build/gaze (cmake Release) unless --no-build, fetches the models, then runs R rounds
# (default 3) of: `gaze bench --json`, then torch_bench.py --json for each PyTorch variant
# (default all four: nchw channels_last nchw_foldbn channels_last_foldbn), each timing N calls
# (default 20) after W warm-up calls (default 3) with T threads (default: nproc).
# Prints one markdown table (per row the median over rounds of each run's median; "PyTorch best"
# is the variant with the lowest forward median; its peak RSS is the lowest of all variants), the
# conv/sgemm throughput, the machine, and PASS/MISS per target. Saves the raw JSON lines to
# out/bench-DATE.jsonl and the table to out/bench-DATE.md. GAZE_BIN overrides build/gaze.
# Needs /usr/bin/python3 with Debian's python3-torch, python3-h5py and python3-numpy
# (installed here when run as root). Run it on a quiet machine: it takes about 1 min per round.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly py=/usr/bin/python3
readonly model=models/nsfwjs_inception_v3.h5
readonly gaze=${GAZE_BIN:-build/gaze}
readonly all_variants="nchw channels_last nchw_foldbn channels_last_foldbn"

rounds=3
runs=20
warmup=3
threads=$(nproc)
variants=$all_variants
build=1
table=""

say() { echo "bench: $*" >&2; }
die() {
  echo "bench: error: $*" >&2
  exit 1
}
usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; }
need_int() {  # option value minimum
  if ! [[ $2 =~ ^[0-9]+$ ]] || [ "$2" -lt "$3" ]; then die "$1 needs an integer >= $3, got '$2'"; fi
}

while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --rounds|--runs|--warmup|--threads|--variants|--table)
      [ $# -ge 2 ] || die "$1 needs a value (see --help)"
      case "$1" in
        --rounds) need_int "$1" "$2" 1; rounds=$2 ;;
        --runs) need_int "$1" "$2" 1; runs=$2 ;;
        --warmup) need_int "$1" "$2" 0; warmup=$2 ;;
        --threads) need_int "$1" "$2" 1; threads=$2 ;;
        --variants) variants=${2//,/ } ;;
        --table) table=$2 ;;
      esac
      shift 2 ;;
    --no-build) build=0; shift ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done
for v in $variants; do
  [[ " $all_variants " == *" $v "* ]] || die "unknown variant '$v' (one of: $all_variants)"
done
[ -n "${variants// /}" ] || die "--variants is empty"

# /usr/bin/python3 with torch, h5py and numpy, and /usr/bin/time (both tools measure a one-image
# run's peak memory with it); installed from Debian when we are root.
ensure_python() {
  local check="import torch, h5py, numpy"
  [ -x "$py" ] && "$py" -c "$check" 2>/dev/null && [ -x /usr/bin/time ] && return
  local pkgs=(python3-torch python3-h5py python3-numpy time)
  if [ "$(id -u)" -ne 0 ]; then
    die "$py cannot import torch, h5py and numpy, or /usr/bin/time is missing; install them with" \
      "'sudo apt-get install -y ${pkgs[*]}' and rerun"
  fi
  say "installing ${pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null; } ||
    die "apt-get install ${pkgs[*]} failed; install them and rerun"
  "$py" -c "$check" || die "$py still cannot import torch, h5py and numpy"
}

# The table, the throughput line, the machine and the targets, from a .jsonl of this script.
print_table() {
  "$py" - "$1" <<'PY'
import json, statistics, sys

path = sys.argv[1]
meta, gaze, torch_runs = {}, [], {}
with open(path) as f:
    for n, line in enumerate(f, 1):
        line = line.strip()
        if not line:
            continue
        try:
            d = json.loads(line)
        except ValueError:
            sys.exit(f"bench: error: {path}:{n}: not a JSON line")
        tool = d.get("tool")
        if tool == "bench.sh":
            meta = d
        elif tool == "gaze":
            gaze.append(d)
        elif tool == "pytorch":
            torch_runs.setdefault(d["variant"], []).append(d)
if not gaze or not torch_runs:
    sys.exit(f"bench: error: {path} needs at least one gaze line and one pytorch line")


def value(d, key):
    v = d.get(key)
    return v.get("median") if isinstance(v, dict) else v


def med(lines, key):
    vals = [value(d, key) for d in lines if value(d, key) is not None]
    return statistics.median(vals) if vals else None


def spread(lines, key):
    vals = [value(d, key) for d in lines if value(d, key) is not None]
    return max(vals) / min(vals) if len(vals) > 1 and min(vals) > 0 else None


best = min(torch_runs, key=lambda v: med(torch_runs[v], "forward_ms"))
pt = torch_runs[best]
rows = [("forward", "forward_ms", "ms"), ("Grad-CAM mixed10", "gradcam_mixed10_ms", "ms"),
        ("Grad-CAM mixed7", "gradcam_mixed7_ms", "ms"), ("Grad-CAM++ mixed10", "gradcampp_mixed10_ms", "ms"),
        ("peak RSS", "peak_rss_mb", "MB")]
fmt = lambda v, unit: "n/a" if v is None else f"{v:.1f} {unit}"  # noqa: E731
ratio = lambda a, b: None if a is None or b is None or b == 0 else a / b  # noqa: E731
out = []
out.append(f"| | gaze | PyTorch best ({best}) | gaze / PyTorch |")
out.append("| --- | ---: | ---: | ---: |")
G, P = {}, {}
for label, key, unit in rows:
    G[key], P[key] = med(gaze, key), med(pt, key)
    cell = fmt(P[key], unit)
    if key == "peak_rss_mb":               # the lowest over the variants, named when not the best one's
        rss = {v: med(l, key) for v, l in torch_runs.items() if med(l, key) is not None}
        if rss:
            low = min(rss, key=rss.get)
            P[key] = rss[low]
            cell = fmt(P[key], unit) + ("" if low == best else f" ({low})")
    r = ratio(G[key], P[key])
    out.append(f"| {label} | {fmt(G[key], unit)} | {cell} | {'n/a' if r is None else f'{r:.2f}'} |")
out.append("")
conv, sgemm = med(gaze, "conv_gflops"), med(gaze, "sgemm_gflops")
conv_share = ratio(conv, sgemm)
if conv_share is None:
    out.append("conv throughput: n/a (gaze bench gave no conv_gflops / sgemm_gflops)")
else:
    out.append(f"conv throughput: {conv:.1f} GFLOP/s = {100 * conv_share:.0f}% of sgemm ({sgemm:.1f} GFLOP/s)")
out.append("PyTorch variants, forward median / peak RSS: " + ", ".join(
    f"{v} {med(torch_runs[v], 'forward_ms'):.1f} ms / {fmt(med(torch_runs[v], 'peak_rss_mb'), 'MB')}"
    for v in sorted(torch_runs, key=lambda v: med(torch_runs[v], "forward_ms"))))
sg, sp = spread(gaze, "forward_ms"), spread(pt, "forward_ms")
parts = ([f"gaze {sg:.3f}"] if sg else []) + ([f"PyTorch {best} {sp:.3f}"] if sp else [])
if parts:
    out.append("round-to-round spread of the forward medians (max/min): " + ", ".join(parts))
checked = [d.get("checked_against_gaze") for l in torch_runs.values() for d in l if d.get("checked_against_gaze") is not None]
if checked:
    out.append(f"probabilities, max |PyTorch - gaze|: {max(checked):.2g}")
out.append("")
th = sorted({d.get("threads") for d in gaze} | {d.get("threads") for l in torch_runs.values() for d in l})
out.append(f"date: {meta.get('date', 'n/a')}")
out.append(f"CPU: {meta.get('cpu', 'n/a')}")
out.append(f"threads: {', '.join(str(t) for t in th)}; {len(gaze)} round(s) of {gaze[0]['forward_ms'].get('runs')} runs"
           f" after {meta.get('warmup', '?')} warm-up calls")
out.append(f"OpenBLAS (gaze): {meta.get('openblas', 'n/a')}")
out.append(f"torch: {meta.get('torch', pt[0].get('torch_version', 'n/a'))}")
if meta.get("gaze"):
    out.append(f"gaze: {meta['gaze']}")
if meta.get("env"):
    out.append(f"environment: {meta['env']}")
if meta.get("loadavg_start"):
    out.append(f"load average: {meta['loadavg_start']} at the start, {meta.get('loadavg_end', 'n/a')} at the end")
out.append("")


def target(name, value, limit, pct=False, at_least=False):
    if value is None:
        return f"n/a   {name}"
    ok = value >= limit if at_least else value <= limit
    shown = f"{100 * value:.0f}%" if pct else f"{value:.2f}x"
    return f"{'PASS' if ok else 'MISS'}  {name}: {shown}"


gf = G["forward_ms"]
out.append("targets:")
out.append("  " + target("forward <= 0.9x PyTorch best", ratio(gf, P["forward_ms"]), 0.9))
out.append("  " + target("Grad-CAM mixed10 <= 1.03x gaze's forward", ratio(G["gradcam_mixed10_ms"], gf), 1.03))
out.append("  " + target("Grad-CAM mixed7 <= 1.3x gaze's forward", ratio(G["gradcam_mixed7_ms"], gf), 1.3))
out.append("  " + target("peak RSS <= 0.4x PyTorch's (lowest variant)", ratio(G["peak_rss_mb"], P["peak_rss_mb"]), 0.4))
out.append("  " + target("conv throughput >= 85% of sgemm", conv_share, 0.85, pct=True, at_least=True))
print("\n".join(out))
PY
}

if [ -n "$table" ]; then
  [ -f "$table" ] || die "$table: no such file"
  ensure_python
  print_table "$table"
  exit 0
fi

ensure_python
if [ "$build" = 1 ]; then
  tools/setup.sh
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build --target gaze -j "$(nproc)" >/dev/null
elif [ ! -x "$gaze" ]; then
  die "$gaze is missing (run without --no-build to build it)"
fi
GAZE_BIN=$gaze tools/fetch_models.sh
"$gaze" bench --help >/dev/null 2>&1 || die "$gaze has no working 'bench' command (rebuild it?)"

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
  warmup="$warmup" variants="$variants" openblas="${openblas:-unknown}" torch="$torch_version" \
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

say "$rounds round(s): gaze, then PyTorch $variants; $runs runs after $warmup warm-up calls, $threads thread(s)"
say "raw lines: $jsonl"
for ((r = 1; r <= rounds; r++)); do
  say "round $r/$rounds: gaze"
  line=$("$gaze" bench --json --model "$model" --runs "$runs" --warmup "$warmup" --threads "$threads" | json_line) ||
    die "'$gaze bench --json' failed or printed no JSON line"
  echo "$line" >>"$jsonl"
  # The probabilities are compared with gaze's once, in the first round.
  check=$gaze
  [ "$r" = 1 ] || check=none
  for v in $variants; do
    say "round $r/$rounds: PyTorch $v"
    line=$("$py" tools/reference/torch_bench.py --json --variant "$v" --model "$model" --runs "$runs" \
      --warmup "$warmup" --threads "$threads" --gaze "$check" | json_line) ||
      die "torch_bench.py --variant $v failed or printed no JSON line"
    echo "$line" >>"$jsonl"
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
