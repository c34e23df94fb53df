#!/usr/bin/env bash
# ctest examples_test: runs the three programs of examples/ on the bundled photo and the
# committed tiny model (converted with gaze convert), and checks what they print and write.
#   examples_test.sh GAZE_BINARY EXAMPLES_DIR SOURCE_DIR
set -euo pipefail
gaze=$1 bin=$2 src=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
photo=$src/tests/fixtures/images/chelsea.jpg
"$gaze" convert --classes cat,dog,fish,bird,frog --preprocessing nsfwjs \
  "$src/tests/fixtures/tfjs_tiny/tiny.json" "$tmp/tiny.h5" >/dev/null
fail() { echo "examples_test: $*" >&2; exit 1; }

out=$("$bin/classify" "$tmp/tiny.h5" "$photo")
echo "$out"
[ "$(echo "$out" | wc -l)" -eq 5 ] || fail "classify: expected 5 lines"
# The same top class and probability as gaze classify prints.
top=$("$gaze" classify --model "$tmp/tiny.h5" --top 1 "$photo" | awk 'NR==2 {print $1, $2}')
[ "$(echo "$out" | awk 'NR==1 {printf "%s %.4f", $1, $2}')" = "$(echo "$top" | awk '{printf "%s %.4f", $1, $2}')" ] ||
  fail "classify: top class '$(echo "$out" | head -1)' differs from gaze classify's '$top'"

"$bin/gradcam" "$tmp/tiny.h5" "$photo" "$tmp" | tee "$tmp/gradcam.txt"
[ "$(wc -l <"$tmp/gradcam.txt")" -eq 4 ] || fail "gradcam: expected 2 classes x 2 layers"
grep -q " top_conv .* 26x26$" "$tmp/gradcam.txt" || fail "gradcam: no 26x26 map at top_conv"
[ "$(ls "$tmp"/*.npy | wc -l)" -eq 4 ] && [ -s "$tmp/panel.png" ] || fail "gradcam: missing files"

"$bin/custom_layer" "$photo" "$tmp" | tee "$tmp/custom.txt"
[ "$(awk '{s += $2} END {printf "%.3f", s}' "$tmp/custom.txt")" = "1.000" ] ||
  fail "custom_layer: probabilities do not sum to 1"
[ -s "$tmp/square_panel.png" ] || fail "custom_layer: no panel"
# Without the registration the model is refused, naming the layer's class.
refused=$("$gaze" classify --model "$tmp/square_model.h5" "$photo" 2>&1 || true)
[[ $refused == *"unsupported layer type 'Square'"* ]] ||
  fail "gaze classify did not refuse the unregistered Square layer: $refused"
echo "examples_test: passed"
