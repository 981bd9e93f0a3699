"""Reader pages speak to the reader: no author material, boxes as documented, no known-wrong claims.

The lists live in tests/data/reader_text.yml and tests/data/forbidden_claims.yml;
CONTRIBUTING.md#boxes documents the admonition conventions checked here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.support import site

DOCS = site.ROOT / "docs"
DATA = site.ROOT / "tests" / "data"
RULES = yaml.safe_load((DATA / "reader_text.yml").read_text(encoding="utf-8"))
CLAIMS = yaml.safe_load((DATA / "forbidden_claims.yml").read_text(encoding="utf-8"))

# Drafts (docs/drafts/) are checked too: they become pages.
PAGES = sorted(DOCS.rglob("*.md"))
DATA_FILES = sorted((DOCS / "_data").glob("*.yml"))
FIGURES = sorted((DOCS / "assets" / "figures").glob("*.svg"))
ADMONITION = re.compile(r'^(?P<indent>[ \t]*)(?P<marker>!!!|\?\?\?\+?)[ \t]+(?P<type>[a-z-]+)(?:[ \t]+"(?P<title>[^"\n]*)")?', re.M)


def _rel(path: Path) -> str:
    return path.relative_to(site.ROOT).as_posix() if path.is_relative_to(site.ROOT) else str(path)


def _hits(pattern: str, files: list[Path]) -> list[str]:
    regex = re.compile(pattern)
    found = []
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if regex.search(line):
                found.append(f"{_rel(path)}:{number}: {line.strip()[:120]}")
    return found


@pytest.mark.parametrize("rule", RULES["author_material"], ids=lambda rule: rule["why"][:30])
def test_no_author_material_reaches_the_reader(rule):
    files = PAGES if rule.get("pages_only") else PAGES + DATA_FILES + FIGURES
    hits = _hits(rule["pattern"], files)
    assert not hits, f"{rule['why']}:\n" + "\n".join(hits)


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda claim: claim["why"][:30])
def test_known_wrong_claim_does_not_come_back(claim):
    hits = _hits(claim["pattern"], PAGES + DATA_FILES)
    assert not hits, f"{claim['why']} (source: {claim['source']}):\n" + "\n".join(hits)


def _boxes():
    for path in PAGES:
        text = path.read_text(encoding="utf-8")
        for match in ADMONITION.finditer(text):
            yield path, text.count("\n", 0, match.start()) + 1, match


def test_boxes_use_the_documented_types():
    allowed = set(RULES["admonition_types"])
    wrong = [f"{_rel(p)}:{n}: {m['type']}" for p, n, m in _boxes() if m["type"] not in allowed]
    assert not wrong, f"admonition types allowed: {sorted(allowed)} (CONTRIBUTING.md#boxes):\n" + "\n".join(wrong)


def test_source_notes_and_going_further_boxes_are_folded():
    """Disputes between sources and details a beginner may skip stay out of the main line."""
    problems = []
    for path, number, match in _boxes():
        title = match["title"] or ""
        english = path.name.endswith(".en.md")
        if match["type"] == "advanced":
            prefix = "Going further: " if english else "発展: "
            if match["marker"] != "???" or not title.startswith(prefix):
                problems.append(f'{_rel(path)}:{number}: write ??? advanced "{prefix}…"')
        if title in ("出典について", "About the sources") and match["marker"] != "???":
            problems.append(f"{_rel(path)}:{number}: a note about sources is folded (???)")
        if match["type"] == "column" and not title.startswith("Column: " if english else "コラム: "):
            problems.append(f'{_rel(path)}:{number}: a column is titled "コラム: …" / "Column: …"')
    assert not problems, "\n".join(problems)


def test_the_checks_catch_what_they_look_for(tmp_path):
    """Each list really matches the wording it is meant to stop."""
    page = tmp_path / "page.md"
    page.write_text(
        "このコースの元になった学習メモによれば、KVMはCPUを受け持ちます。\n"
        "VM exitのときCPUは汎用レジスターをVMCSに保存します。\n",
        encoding="utf-8",
    )
    assert _hits(RULES["author_material"][0]["pattern"], [page])
    assert any(_hits(claim["pattern"], [page]) for claim in CLAIMS)
