#!/usr/bin/env bash
# Makes docs/report.png, the README's picture of 'gaze report': 'gaze cam --jsonl' over the bundled
# photos plus one corrupt file, a report of the results, and a screenshot of it by headless
# Chromium. Needs build/gaze (tools/demo.sh builds it) and the fetched models.
#   tools/report_screenshot.sh [HASH]     e.g. 'sort=Neutral' for a view (default: none)
set -euo pipefail
cd "$(dirname "$0")/.."
hash="${1:-}"
out=out/report-demo
rm -rf "$out"
mkdir -p "$out/panels"
head -c 2000 tests/fixtures/images/coffee.jpg > "$out/truncated.jpg"

# --jsonl records the corrupt file's error line beside the results (exit 1: that input failed).
build/gaze cam --quiet --jsonl "$out/results.jsonl" \
  --rating 'Sexy=10,Porn=10,Neutral=5,Drawing=2,Hentai=2' \
  --out-dir "$out/panels" tests/fixtures/images/*.{png,jpg} "$out/truncated.jpg" >/dev/null || true
build/gaze report "$out/results.jsonl" --title "gaze report: the bundled photos" \
  --out "$out/report.html"
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
  --user-data-dir="$out/chromium-profile" --window-size=1200,1560 --virtual-time-budget=5000 \
  --screenshot="$PWD/docs/report.png" "file://$PWD/$out/report.html${hash:+#$hash}" 2>/dev/null
# 256 colours keep the committed picture small (Debian's python3-pil; skipped without it).
/usr/bin/python3 -c 'import sys; from PIL import Image
Image.open(sys.argv[1]).convert("RGB").quantize(256).save(sys.argv[1], optimize=True)' \
  docs/report.png 2>/dev/null || echo "report_screenshot: PIL missing, picture left in full colour" >&2
echo "docs/report.png: $(stat -c %s docs/report.png) bytes" >&2
