"""The course map (docs/_data/course.yml) tells the truth about reading times, prerequisites and routes.

- Each page's 「読む時間の目安」 and 「先に読む章」 agree with its course.yml entry.
- Each learning route on the home page states a time within 15 % of the sum of the
  times of what it lists (whole chapters, or sections with their own time), and never
  lists a page before one of its prerequisites.
- The chapter map shows each chapter's time and the whole course's; the English map
  says which chapters are in Japanese only.
- The score and 読了 toggle sit right after the quiz, before the chapter's references.
"""

from __future__ import annotations

import re

import pytest
import yaml

from tests.support import site

DOCS = site.ROOT / "docs"
COURSE = yaml.safe_load((DOCS / "_data" / "course.yml").read_text(encoding="utf-8"))
PAGES = {page["slug"]: page for page in COURSE["pages"]}
LINK = re.compile(r"\[\[(?P<slug>[a-z0-9/-]+)(?:#(?P<anchor>[a-z0-9-]+))?(?:\|[^\]]+)?\]\]")
META = {
    "ja": {"read": r"\*\*読む時間の目安\*\*: 約(\d+)分", "work": r"\*\*作業時間の目安\*\*: 約(\d+)分",
           "requires": r"\*\*先に読む章\*\*: ([^\n]*)", "route_time": r"所要時間の目安は\*\*約(\d+(?:\.\d+)?)(分|時間)\*\*"},
    "en": {"read": r"\*\*Reading time\*\*: about (\d+) min", "work": r"\*\*Hands-on time\*\*: about (\d+) min",
           "requires": r"\*\*Read first\*\*: ([^\n]*)", "route_time": r"\*\*Time\*\*: about (\d+(?:\.\d+)?) (min|hours?)"},
}


def _source(slug: str, language: str):
    suffix = ".md" if language == "ja" else f".{language}.md"
    path = DOCS / f"{slug}{suffix}"
    return path if path.is_file() else None


def _written() -> list[tuple[str, str]]:
    return [
        (slug, language)
        for slug, entry in PAGES.items()
        if entry["tracked"]
        for language in ("ja", "en")
        if _source(slug, language)
    ]


@pytest.mark.parametrize("slug, language", _written(), ids=lambda v: v)
def test_page_states_its_course_map_time_and_prerequisites(slug, language):
    entry = PAGES[slug]
    text = _source(slug, language).read_text(encoding="utf-8")
    rules = META[language]
    minutes = re.search(rules["read"], text)
    assert entry.get("minutes"), f"course.yml: {slug} has no minutes"
    expected = entry["minutes"].get(language) or entry["minutes"]["ja"]
    assert minutes and int(minutes[1]) == expected, f"{slug} ({language}): page says {minutes and minutes[1]}, course.yml {expected}"
    work = re.search(rules["work"], text)
    assert (int(work[1]) if work else None) == entry.get("work_minutes"), f"{slug} ({language}): hands-on time"
    line = re.search(rules["requires"], text)
    assert line, f"{slug} ({language}): no prerequisites line"
    # Required pages come before any parenthesis; links inside one are suggestions.
    required = re.split(r"（| \(|／| / ", line[1])[0]
    linked = [m["slug"] for m in LINK.finditer(required)]
    linked += re.findall(r"\]\((?:\.\./)*([a-z0-9/-]+)\.md(?:#[^)]*)?\)", required)
    assert sorted(linked) == sorted(entry.get("requires", [])), f"{slug} ({language}): 先に読む章 vs course.yml requires"


def _routes(language: str):
    """(route id, stated minutes, [(slug, anchor)]) for each route of the home page."""
    text = (DOCS / ("index.md" if language == "ja" else f"index.{language}.md")).read_text(encoding="utf-8")
    routes = []
    for block in re.split(r"^### ", text, flags=re.M)[1:]:
        route_id = re.search(r"\{#([a-z0-9-]+)\}", block.splitlines()[0])[1]
        items = [
            (m["slug"], m["anchor"])
            for line in block.splitlines()
            if re.match(r"\d+\. ", line)
            for m in LINK.finditer(line)
        ]
        stated = re.search(META[language]["route_time"], block)
        if items:
            assert stated, f"route {route_id} ({language}) lists pages but states no time"
            minutes = float(stated[1]) * (60 if stated[2].startswith(("時間", "hour")) else 1)
            routes.append((route_id, minutes, items))
    return routes


ROUTES = [(language, *route) for language in ("ja", "en") if (DOCS / ("index.md" if language == "ja" else "index.en.md")).exists() for route in _routes(language)]


@pytest.mark.parametrize("language, route_id, stated, items", ROUTES, ids=lambda v: v if isinstance(v, str) else None)
def test_route_time_is_true_and_order_respects_prerequisites(language, route_id, stated, items):
    total = 0
    seen: set[str] = set()
    for slug, anchor in items:
        entry = PAGES[slug]
        if anchor:
            assert anchor in entry.get("sections", {}), f"{route_id}: {slug}#{anchor} has no time in course.yml sections"
            total += entry["sections"][anchor]
        else:
            total += (entry["minutes"].get(language) or entry["minutes"]["ja"]) + entry.get("work_minutes", 0)
        if not anchor:
            # A whole chapter needs its prerequisites earlier in the route (the
            # chapter or a section of it); a section listed alone is self-contained.
            missing = [need for need in entry.get("requires", []) if need not in seen]
            assert not missing, f"{route_id}: {slug} comes before its prerequisites {missing}"
        seen.add(slug)
    assert abs(total - stated) <= 0.15 * total, f"{route_id} ({language}): states {stated} min, its pages take {total}"


def test_route_checks_can_fail():
    """A prerequisite after its chapter, or a wrong time, is caught."""
    with pytest.raises(AssertionError, match="prerequisites"):
        test_route_time_is_true_and_order_respects_prerequisites("ja", "x", 85, [("kvm", None), ("hardware-assist", None)])
    with pytest.raises(AssertionError, match="states"):
        test_route_time_is_true_and_order_respects_prerequisites("ja", "x", 10, [("virtualization", None)])


def test_chapter_map_shows_times_and_the_course_total(site_dir):
    html = (site_dir / "index.html").read_text(encoding="utf-8")
    chapter_map = html.split('class="chapter-map"', 1)[1]
    assert "公開中" not in chapter_map
    assert re.search(r">約30分<", chapter_map)  # 仮想化とは
    assert re.search(r"全章を順に読むと約[\d.]+時間です", chapter_map)
    english = (site_dir / "en" / "index.html").read_text(encoding="utf-8").split('class="chapter-map"', 1)[1]
    untranslated = [slug for slug, e in PAGES.items() if e["tracked"] and _source(slug, "ja") and not _source(slug, "en")]
    assert english.count("(in Japanese only for now)") == len(untranslated)


def test_progress_panel_follows_the_quiz(site_dir):
    """Where the reader finishes: after the quiz, before the chapter's reference list."""
    checked = 0
    for slug, entry in PAGES.items():
        if not entry["tracked"] or not _source(slug, "ja"):
            continue
        html = (site_dir / slug / "index.html").read_text(encoding="utf-8")
        panel = html.index("data-chapter-progress")
        references = html.find('id="chapter-references"')
        last_quiz = html.rfind("data-quiz-id=")
        assert last_quiz < panel, slug
        assert references == -1 or panel < references, slug
        checked += 1
    assert checked >= 10
