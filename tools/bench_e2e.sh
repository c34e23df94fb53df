#!/usr/bin/env bash
# End-to-end speed on a folder of real JPEG photos: `gaze classify` and `gaze cam` per image, next
# to gaze's own network time (`gaze bench`) and a PyTorch user's script (tools/reference/torch_e2e.py).
#   tools/bench_e2e.sh [--rounds R] [--photos DIR] [--before GAZE_BIN] [--no-torch]
# Needs build/gaze (GAZE_BIN overrides) and the models (tools/fetch_models.sh). The photos default
# to out/bench-photos/: 20 JPEGs of 0.3 MP made by tools/reference/bench_photos.py from the sample
# photos of Debian's python3-skimage (fetched with `apt-get download`, unpacked with `dpkg -x`).
# Each of R rounds (default 3) runs, one after the other:
#   - gaze bench --runs 10 --warmup 2 on the 299x299 input: the forward, and Grad-CAM at mixed10
#     (forward + backward + map: the network's whole share of a `gaze cam`);
#   - gaze classify --verbose and gaze cam --verbose over all photos twice (40 inputs), as a
#     user runs them (in lanes: one input per core at once, collection/pipeline.h), and again
#     with --jobs 1 (one input at a time, its network on every core);
#   - the same two with --before's binary, when given (an older build, for before/after);
#   - torch_e2e.py over all photos (PIL decode, the model in PyTorch, numpy overlay, PIL PNG save).
# Per tool and round: the mean time per image over the inputs but the first two (which compile
# the plan) and the last two (the lanes draining). --verbose prints each input's time since the
# previous result; results come in order, in lanes two close together, so only a mean over
# many is the steady pace of the batch. The table shows the median over rounds. Targets
# (issue 11): cam <= 1.3 x Grad-CAM, cam <= 0.35 x the PyTorch script, classify <= 1.15 x the
# forward. Raw lines: out/bench-e2e-DATE.jsonl.
# Run it on a quiet machine, and alone (two programs on the same 2 cores slow each other down).
set -euo pipefail
cd "$(dirname "$0")/.."

readonly py=/usr/bin/python3
readonly model=models/nsfwjs_inception_v3.h5
readonly gaze=${GAZE_BIN:-build/gaze}
rounds=3
photos=out/bench-photos
before=""
torch=1

die() {
  echo "bench_e2e: error: $*" >&2
  exit 1
}
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --rounds) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || die "--rounds needs a positive integer"; rounds=$2; shift 2 ;;
    --photos) [ -n "${2:-}" ] || die "--photos needs a folder"; photos=$2; shift 2 ;;
    --before) [ -x "${2:-}" ] || die "--before needs a gaze binary"; before=$2; shift 2 ;;
    --no-torch) torch=0; shift ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done
# /usr/bin/python3 with PIL and numpy (the photos, the tables), and torch for the PyTorch script.
source tools/ensure_python.sh
if [ "$torch" = 1 ]; then
  ensure_python bench_e2e "import PIL, numpy, torch, h5py" python3-pil python3-numpy python3-torch \
    python3-h5py
else
  ensure_python bench_e2e "import PIL, numpy" python3-pil python3-numpy
fi
[ -x "$gaze" ] || die "$gaze is missing: build it (cmake --build build --target gaze)"
[ -f "$model" ] || die "$model is missing: run tools/fetch_models.sh"

if ! compgen -G "$photos/*.jpg" >/dev/null; then
  data=${XDG_CACHE_HOME:-$HOME/.cache}/gaze/skimage
  if [ ! -d "$data/usr/lib/python3/dist-packages/skimage/data" ]; then
    mkdir -p "$data"
    (cd "$data" && apt-get download python3-skimage >/dev/null && dpkg -x python3-skimage_*.deb .) ||
      die "cannot fetch python3-skimage's sample photos (apt-get download python3-skimage)"
  fi
  "$py" tools/reference/bench_photos.py "$data/usr/lib/python3/dist-packages/skimage/data" "$photos"
fi
mapfile -t images < <(ls "$photos"/*.jpg | sort)
mkdir -p out
readonly log=out/bench-e2e-$(date -u +%Y%m%dT%H%M%S).jsonl
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# One JSON line with the per-image times that `--verbose` printed ("gaze: FILE: 12.3 ms, RSS ...").
per_image() {  # tool round binary command [gaze options...]
  local tool=$1 round=$2 bin=$3 cmd=$4
  shift 4
  rm -rf "$scratch/panels"
  local args=(--model "$model" --verbose "$@")
  [ "$cmd" = cam ] && args+=(--out-dir "$scratch/panels")
  "$bin" "$cmd" "${args[@]}" "${images[@]}" "${images[@]}" 2>"$scratch/err" >/dev/null ||
    die "$bin $cmd failed: $(tail -1 "$scratch/err")"
  "$py" -c '
import json, re, sys
ms = [float(m.group(1)) for m in re.finditer(r": ([0-9.]+) ms, RSS", open(sys.argv[1]).read())]
print(json.dumps({"tool": sys.argv[2], "round": int(sys.argv[3]), "ms": ms}))' \
    "$scratch/err" "$tool" "$round" >>"$log"
}

for round in $(seq 1 "$rounds"); do
  echo "bench_e2e: round $round of $rounds" >&2
  "$gaze" bench --model "$model" --runs 10 --warmup 2 --json |
    "$py" -c 'import json,sys; d=json.loads(sys.stdin.read()); d["round"]=int(sys.argv[1]); print(json.dumps(d))' \
      "$round" >>"$log"
  per_image classify "$round" "$gaze" classify
  per_image cam "$round" "$gaze" cam
  per_image classify_one_job "$round" "$gaze" classify --jobs 1
  per_image cam_one_job "$round" "$gaze" cam --jobs 1
  if [ -n "$before" ]; then
    per_image classify_before "$round" "$before" classify
    per_image cam_before "$round" "$before" cam
  fi
  if [ "$torch" = 1 ]; then
    "$py" tools/reference/torch_e2e.py --model "$model" --out-dir "$scratch/torch" --json \
      "${images[@]}" | "$py" -c 'import json,sys; d=json.loads(sys.stdin.read()); d["round"]=int(sys.argv[1]); print(json.dumps(d))' \
      "$round" >>"$log"
  fi
done

"$py" - "$log" "${#images[@]}" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def per_round(tool, pick):
    return [pick(r) for r in rows if r["tool"] == tool]
med = statistics.median
fig = {}
fig["forward"] = per_round("gaze", lambda r: r["forward_ms"]["median"])
fig["gradcam"] = per_round("gaze", lambda r: r["gradcam_mixed10_ms"]["median"])
for t in ("classify", "cam", "classify_one_job", "cam_one_job", "classify_before", "cam_before"):
    fig[t] = per_round(t, lambda r: statistics.mean(r["ms"][2:-2] or r["ms"]))
fig["torch"] = per_round("torch_e2e", lambda r: r["median_ms"])
print(f"{sys.argv[2]} photos twice, {len(fig['forward'])} rounds; ms per image, median over rounds (each round: its mean)\n")
print("| | ms | rounds |\n| --- | ---: | --- |")
names = {"forward": "gaze bench: forward", "gradcam": "gaze bench: Grad-CAM at mixed10",
         "classify": "gaze classify, end to end", "cam": "gaze cam, end to end",
         "classify_one_job": "gaze classify --jobs 1", "cam_one_job": "gaze cam --jobs 1",
         "classify_before": "gaze classify, before", "cam_before": "gaze cam, before",
         "torch": "PyTorch script, end to end"}
m = {}
for k, v in fig.items():
    if v:
        m[k] = med(v)
        print(f"| {names[k]} | {m[k]:.1f} | {', '.join(f'{x:.0f}' for x in v)} |")
print()
def target(label, num, den, limit):
    if num in m and den in m:
        r = m[num] / m[den]
        print(f"{label}: {r:.2f} (target <= {limit}): {'PASS' if r <= limit else 'MISS'}")
target("cam / Grad-CAM", "cam", "gradcam", 1.3)
target("cam / PyTorch script", "cam", "torch", 0.35)
target("classify / forward", "classify", "forward", 1.15)
target("cam --jobs 1 / Grad-CAM", "cam_one_job", "gradcam", 1.3)
target("classify --jobs 1 / forward", "classify_one_job", "forward", 1.15)
target("cam before / PyTorch script", "cam_before", "torch", 0.35)
print(f"\nraw: {sys.argv[1]}")
PY
