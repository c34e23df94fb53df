#!/usr/bin/env bash
# ctest docs_cli_md: docs/cli.md must be what tools/gen_cli_md.sh makes from the help text now.
#   cli_md_test.sh GAZE_BINARY SOURCE_DIR
set -euo pipefail
gaze=$1 src=$2
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
"$src/tools/gen_cli_md.sh" "$gaze" >"$tmp"
if ! diff -u "$src/docs/cli.md" "$tmp"; then
  echo "docs_cli_md: docs/cli.md differs from the help text (diff above); regenerate it with" >&2
  echo "  tools/gen_cli_md.sh build/gaze > docs/cli.md" >&2
  exit 1
fi
echo "docs_cli_md: docs/cli.md is the help text of $(grep -c '^## gaze ' "$tmp") commands"
