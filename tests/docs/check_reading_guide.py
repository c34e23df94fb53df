#!/usr/bin/env python3
"""ctest docs_reading_guide: every `file:A-B` (`symbol`) the reading guide cites must exist, lie
within the file, and hold `symbol` somewhere in lines A..B, so the guide's line numbers stay true.
   check_reading_guide.py SOURCE_DIR"""
import pathlib
import re
import sys

src = pathlib.Path(sys.argv[1])
guide = src / "docs" / "reading-guide.md"
cite = re.compile(r"`([\w./-]+):(\d+)-(\d+)` \(`([^`]+)`\)")
failures, count = [], 0
for n, line in enumerate(guide.read_text().splitlines(), 1):
    for path, a, b, symbol in cite.findall(line):
        count += 1
        a, b = int(a), int(b)
        f = src / path
        where = f"docs/reading-guide.md:{n}: {path}:{a}-{b} ({symbol})"
        if not f.is_file():
            failures.append(f"{where}: no such file")
            continue
        lines = f.read_text().splitlines()
        if not 1 <= a <= b <= len(lines):
            failures.append(f"{where}: the file has {len(lines)} lines")
        elif not any(symbol in l for l in lines[a - 1:b]):
            hits = [i for i, l in enumerate(lines, 1) if symbol in l]
            failures.append(f"{where}: not in those lines (found at {hits or 'no line'})")
if count == 0:
    failures.append("docs/reading-guide.md cites no `file:A-B` (`symbol`) range")
for f in failures:
    print("docs_reading_guide:", f, file=sys.stderr)
if failures:
    print("docs_reading_guide: update the line numbers in docs/reading-guide.md", file=sys.stderr)
    sys.exit(1)
print(f"docs_reading_guide: {count} citations hold their symbols")
