#!/usr/bin/env python3
"""ctest docs_links: every relative link and image in README.md and docs/*.md must point to a
file that exists and, with #anchor, to a heading of that file (GitHub's anchor rule).
   check_links.py SOURCE_DIR"""
import pathlib
import re
import sys

src = pathlib.Path(sys.argv[1])
link = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def strip_code(text):
    """The text without fenced blocks and inline code, where [x](y) is not a link."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def anchors(path):
    found, seen = set(), {}
    text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.S | re.M)
    for h in re.findall(r"^#{1,6} (.+)$", text, flags=re.M):
        a = re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
        n = seen.get(a, 0)
        seen[a] = n + 1
        found.add(a if n == 0 else f"{a}-{n}")
    return found


pages = [src / "README.md"] + sorted((src / "docs").glob("*.md"))
failures, count = [], 0
for page in pages:
    for target in link.findall(strip_code(page.read_text())):
        if re.match(r"^[a-z]+:", target):  # http:, https:, mailto:
            continue
        count += 1
        file, _, anchor = target.partition("#")
        dest = (page.parent / file).resolve() if file else page
        name = page.relative_to(src)
        if not dest.exists():
            failures.append(f"{name}: ({target}): no file {file}")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            failures.append(f"{name}: ({target}): no heading #{anchor} in {dest.name}")
for f in failures:
    print("docs_links:", f, file=sys.stderr)
if failures:
    sys.exit(1)
print(f"docs_links: {count} relative links resolve in {len(pages)} pages")
