"""The permalink contract: every published URL, h2–h4 heading anchor and entry anchor.

Entry anchors are the ids of reference entries ([data-ref-id], and [data-retired-ref-id]
for those that left the index but keep their anchor) and glossary entries
([data-term]): onboarding documents link to /references/#key and /glossary/#key too.

Onboarding documents link to our pages and sections, so a URL or heading id that
has been published must never disappear. ``tests/data/permalinks.txt`` lists them,
one per line ('/kvm/' or '/kvm/#kvm-api'); tests/test_permalinks.py fails when one
is missing from the build. Adding pages and headings is fine: run
``make permalinks`` to add them to the list (it never removes a line).
"""

from __future__ import annotations

import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

from tests.support import site

CONTRACT = site.ROOT / "tests" / "data" / "permalinks.txt"
CONTRACT_HEADER = (
    "# The permalink contract: published URLs and heading anchors that must never disappear.\n"
    "# Add lines with `make permalinks`; remove one only together with a redirect.\n"
)


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.headings: list[str] = []
        self.entries: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if not attrs.get("id"):
            return
        if tag in ("h2", "h3", "h4"):
            self.headings.append(attrs["id"])
        elif {"data-ref-id", "data-retired-ref-id", "data-term"} & attrs.keys():
            self.entries.append(attrs["id"])


def heading_ids(html: str) -> list[str]:
    """The ids of a page's h2–h4 headings, in order."""
    parser = _Anchors()
    parser.feed(html)
    return parser.headings


def entry_ids(html: str) -> list[str]:
    """The ids of a page's reference and glossary entries."""
    parser = _Anchors()
    parser.feed(html)
    return parser.entries


def collect(site_dir: Path) -> set[str]:
    """Every page URL path and '<path>#<id>' for its h2–h4 headings."""
    links = set()
    for path in site.page_paths(site_dir):
        if path.endswith("404.html"):
            continue
        links.add(path)
        html = (site_dir / path.lstrip("/") / "index.html").read_text(encoding="utf-8")
        links.update(f"{path}#{anchor}" for anchor in heading_ids(html) + entry_ids(html))
    return links


def read_contract() -> list[str]:
    lines = CONTRACT.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def main() -> int:
    if "--update" not in sys.argv:
        print(__doc__)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        site.build(site.ROOT / "mkdocs.yml", Path(tmp) / "site")
        current = collect(Path(tmp) / "site")
    known = set(read_contract()) if CONTRACT.exists() else set()
    added = sorted(current - known)
    CONTRACT.write_text(CONTRACT_HEADER + "".join(f"{line}\n" for line in sorted(known | current)))
    print(f"{len(added)} added to {CONTRACT.relative_to(site.ROOT)}:")
    for line in added:
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
