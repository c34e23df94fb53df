#!/usr/bin/env python3
"""ctest docs_line_refs: every `file:A-B` (`symbol`) that README.md or docs/*.md cites (the
reading guide, adding-a-layer.md) must name a file of the repository, lie within it, and hold
`symbol` somewhere in lines A..B, so the docs' line numbers stay true.
   check_line_refs.py SOURCE_DIR"""
import pathlib
import re
import sys

src = pathlib.Path(sys.argv[1])
pages = [src / "README.md"] + sorted((src / "docs").glob("*.md"))
cite = re.compile(r"`([\w./-]+):(\d+)-(\d+)` \(`([^`]+)`\)")
failures, count, in_guide = [], 0, 0
for page in pages:
    for n, line in enumerate(page.read_text().splitlines(), 1):
        for path, a, b, symbol in cite.findall(line):
            count += 1
            in_guide += page.name == "reading-guide.md"
            a, b = int(a), int(b)
            f = src / path
            where = f"{page.relative_to(src)}:{n}: {path}:{a}-{b} ({symbol})"
            if not f.is_file():
                failures.append(f"{where}: no such file")
                continue
            lines = f.read_text().splitlines()
            if not 1 <= a <= b <= len(lines):
                failures.append(f"{where}: the file has {len(lines)} lines")
            elif not any(symbol in l for l in lines[a - 1:b]):
                hits = [i for i, l in enumerate(lines, 1) if symbol in l]
                failures.append(f"{where}: not in those lines (found at {hits or 'no line'})")
if in_guide == 0:
    failures.append("docs/reading-guide.md cites no `file:A-B` (`symbol`) range")
for f in failures:
    print("docs_line_refs:", f, file=sys.stderr)
if failures:
    print("docs_line_refs: update the line numbers cited above", file=sys.stderr)
    sys.exit(1)
print(f"docs_line_refs: {count} cited line ranges hold their symbols")
