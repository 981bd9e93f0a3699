"""The English edition keeps in step with the Japanese one (CONTRIBUTING.md#pages).

For every page that exists in both languages (docs/X.md and docs/X.en.md) the test
fails, naming the page and the first difference, when:

- the h2–h4 heading ids differ or are in another order;
- a quiz id, its number of choices or the positions of its correct choices differ;
- per h2 section, a figure, a widget, a snippet include or a citation key is in one
  edition only;
- the code of a code block differs (program output blocks — console and text — may be
  translated, so only their number is compared);
- the English page contains Japanese text outside code, beyond the allowances in
  tests/data/parity.yml (quoted Japanese titles and terms explained as Japanese);
- the English page is shorter than 60 % or longer than 160 % of the Japanese page.

Length is measured in sentences of prose (outside code, quizzes and tables): a
sentence ends with 。 in Japanese and with . ? ! before a space or line end in
English. A translation carries the same statements, and a statement is a sentence
in both languages, whereas character counts differ by script (one kanji carries
what takes several Latin letters) and word counts do not exist in Japanese.
"""

from __future__ import annotations

import re
import sys

import pytest
import yaml

from tests.support import site

DOCS = site.ROOT / "docs"
RULES = yaml.safe_load((site.ROOT / "tests" / "data" / "parity.yml").read_text(encoding="utf-8"))
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^\n]*)\n(?P<body>.*?)^(?P=indent)(?P=fence)[ \t]*$", re.M | re.S)
HEADING = re.compile(r"^#{2,4} .*\{#(?P<id>[a-z0-9-]+)\}\s*$", re.M)
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff01-\uff5e]")


def pairs() -> list[str]:
    found = []
    for english in sorted(DOCS.rglob("*.en.md")):
        rel = english.relative_to(DOCS).as_posix()
        if rel.startswith("drafts/"):
            continue
        japanese = english.with_name(english.name.removesuffix(".en.md") + ".md")
        if japanese.exists():
            found.append(rel.removesuffix(".en.md"))
    return found


def _read(name: str, language: str) -> str:
    return (DOCS / (f"{name}.md" if language == "ja" else f"{name}.en.md")).read_text(encoding="utf-8")


def _quizzes(text: str) -> list[tuple[str, int, list[int]]]:
    out = []
    for block in FENCE.finditer(text):
        if block["info"].strip() == "quiz":
            data = yaml.safe_load(block["body"])
            choices = data.get("choices", [])
            out.append((data.get("id"), len(choices), [i for i, c in enumerate(choices) if c.get("correct")]))
    return out


def _code_blocks(text: str) -> list[tuple[str, str]]:
    blocks = []
    for block in FENCE.finditer(text):
        info = block["info"].strip().split()[0] if block["info"].strip() else ""
        if info == "quiz":
            continue
        body = "\n".join(line[len(block["indent"]):] for line in block["body"].splitlines())
        blocks.append((info, body))
    return blocks


def _sections(text: str) -> list[tuple[str, str]]:
    """(h2 id or '' for the part before the first h2, text of the section)."""
    parts = re.split(r"^(## .*\{#[a-z0-9-]+\}\s*)$", text, flags=re.M)
    sections = [("", parts[0])]
    for heading, body in zip(parts[1::2], parts[2::2]):
        sections.append((re.search(r"\{#([a-z0-9-]+)\}", heading)[1], body))
    return sections


def _things(section: str) -> dict[str, list[str]]:
    return {
        "figure": sorted(re.findall(r"!\[[^\]]*\]\(([^)\s]+)", section)),
        "widget": sorted(re.findall(r"<!-- ([a-z-]+) -->", section)),
        # An English page includes the English output file (kvm_hello.en.txt for kvm_hello.txt).
        "snippet": sorted(s.replace(".en.", ".") for s in re.findall(r'--8<-- "([^"]+)"', section)),
        "citation": sorted(set(re.findall(r"\[@([a-z0-9-]+)", section))),
    }


def _prose(text: str) -> str:
    text = FENCE.sub("", text)
    text = re.sub(r"`[^`\n]*`", "", text)
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("|"))
    return text


def sentences(text: str, language: str) -> int:
    prose = _prose(re.sub(r"^---\n.*?\n---\n", "", text, flags=re.S))
    if language == "ja":
        return len(re.findall(r"。", prose))
    return len(re.findall(r"[.?!](?=[\s)\"'*]|$)", prose, flags=re.M))


def japanese_leftovers(text: str) -> list[str]:
    prose = _prose(re.sub(r"^---\n.*?\n---\n", "", text, flags=re.S))
    for allowed in RULES["allowed_japanese"]:
        prose = prose.replace(allowed, "")
    return [line.strip()[:80] for line in prose.splitlines() if CJK.search(line)]


def differences(name: str) -> list[str]:
    """Every way the two editions of ``name`` differ, first difference first."""
    ja, en = _read(name, "ja"), _read(name, "en")
    problems = []
    ids_ja, ids_en = HEADING.findall(ja), HEADING.findall(en)
    if ids_ja != ids_en:
        first = next((i for i, (a, b) in enumerate(zip(ids_ja, ids_en)) if a != b), min(len(ids_ja), len(ids_en)))
        problems.append(f"heading ids differ at #{first + 1}: ja {ids_ja[first:first + 1]} en {ids_en[first:first + 1]}")
    quiz_ja, quiz_en = _quizzes(ja), _quizzes(en)
    for a, b in zip(quiz_ja, quiz_en):
        if a != b:
            problems.append(f"quiz differs: ja (id, choices, correct) {a} en {b}")
            break
    if len(quiz_ja) != len(quiz_en):
        problems.append(f"quizzes: ja {len(quiz_ja)}, en {len(quiz_en)}")
    sections_en = dict(_sections(en))
    for section, body in _sections(ja):
        if section not in sections_en:
            continue  # reported by the heading check
        mine, theirs = _things(body), _things(sections_en[section])
        for kind in mine:
            if mine[kind] != theirs[kind]:
                only_ja = sorted(set(mine[kind]) - set(theirs[kind]))
                only_en = sorted(set(theirs[kind]) - set(mine[kind]))
                problems.append(f"#{section or '(top)'}: {kind} ja only {only_ja}, en only {only_en}")
    code_ja, code_en = _code_blocks(ja), _code_blocks(en)
    if len(code_ja) != len(code_en):
        problems.append(f"code blocks: ja {len(code_ja)}, en {len(code_en)}")
    for (info_ja, body_ja), (info_en, body_en) in zip(code_ja, code_en):
        if info_ja != info_en:
            problems.append(f"code block kind differs: ja {info_ja!r}, en {info_en!r}")
            break
        if info_ja not in RULES["translated_code"] and body_ja != body_en:
            problems.append(f"{info_ja or 'plain'} code differs: ja {body_ja[:60]!r} en {body_en[:60]!r}")
            break
    leftovers = japanese_leftovers(en)
    if sum(len(CJK.findall(line)) for line in leftovers) > RULES["japanese_characters_allowed"]:
        problems.append(f"Japanese text in the English page: {leftovers[:3]}")
    count_ja, count_en = sentences(ja, "ja"), sentences(en, "en")
    if count_ja and not 0.6 <= count_en / count_ja <= 1.6:
        problems.append(f"length: {count_en} English sentences for {count_ja} Japanese ({count_en / count_ja:.0%})")
    return problems


@pytest.mark.parametrize("name", pairs())
def test_english_edition_matches_the_japanese(name):
    problems = differences(name)
    assert not problems, f"docs/{name}.en.md vs docs/{name}.md:\n" + "\n".join(problems)


def test_the_checker_sees_each_kind_of_difference(tmp_path, monkeypatch):
    """Feed it a pair that differs in every way it checks; it must name each."""
    ja = (
        "# 題\n\n## 節 {#one}\n\n本文です。図です。[@popek-goldberg-1974]\n\n![図](assets/figures/a.svg)\n\n"
        "```python\nprint(1)\n```\n\n```quiz\nid: q-one\nquestion: 問\nchoices:\n  - text: a\n    correct: true\n"
        "    explain: x\n  - text: b\n    explain: y\n```\n\n## 次 {#two}\n\n本文です。\n"
    )
    en = (
        "# Title\n\n## Section {#two}\n\nText. これは日本語です。\n\n"
        "```python\nprint(2)\n```\n\n```quiz\nid: q-one\nquestion: Q\nchoices:\n  - text: a\n    explain: x\n"
        "  - text: b\n    correct: true\n    explain: y\n```\n\n## Next {#one}\n\nText.\n"
    )
    (tmp_path / "p.md").write_text(ja, encoding="utf-8")
    (tmp_path / "p.en.md").write_text(en, encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "DOCS", tmp_path)
    monkeypatch.setitem(RULES, "japanese_characters_allowed", 0)
    report = "\n".join(differences("p"))
    for expected in ("heading ids differ", "quiz differs", "citation ja only", "figure ja only",
                     "python code differs", "Japanese text in the English page"):
        assert expected in report, report
