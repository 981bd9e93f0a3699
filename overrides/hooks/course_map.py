"""The course map (docs/_data/course.yml): the home page's chapter list and /progress/.

- ``<!-- course-map -->`` on a page becomes the chapter map: a heading and a table
  per part, linking the pages that exist and marking the others "coming soon", so
  the map never links to a page that is not written.
- Each page listed in the map gets ``page.meta["course"]`` (slug, tracked), which
  the template uses for the 読了 toggle. An untranslated page shown in the English
  build (the Japanese file as a fallback) takes its English title from the map, so
  the English nav and <title> stay English.
- ``[[kvm]]``, ``[[kvm#kvm-api]]`` or ``[[kvm|KVMの章]]`` links to a page of the map by
  its slug, with its title as the text by default. A page that is not written yet
  is shown as plain text, so prose can point to later chapters before they exist;
  the link appears by itself when the chapter lands. An unknown slug stops the
  build with ``page.md:LINE``.
- The progress page's template gets ``course_pages``: every page of the map with
  its title, URL (or none if not yet written) and quiz ids.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from mkdocs.exceptions import PluginError
from mkdocs.utils import get_relative_url
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

import _yaml_data  # beside this file; MkDocs puts the hook's folder on sys.path

MARKER = "<!-- course-map -->"
CHAPTER_LINK = re.compile(r"\[\[(?P<slug>[a-z0-9/-]*)(?P<anchor>#[a-z0-9-]+)?(?:\|(?P<text>[^\]]+))?\]\]")
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]

STRINGS = {
    "ja": {"chapter": "章", "learn": "この章で分かること", "time": "時間", "soon": "準備中",
           "minutes": "約{}分", "work": "＋作業{}分", "japanese_only": "",
           "total": "全章を順に読むと約{}時間です（ハンズオンでプログラムを動かす時間は別に約{}時間）。"},
    "en": {"chapter": "Chapter", "learn": "What you will learn", "time": "Time", "soon": "coming soon",
           "minutes": "{} min", "work": " + {} min hands-on", "japanese_only": " (in Japanese only for now)",
           "total": "Reading every chapter in order takes about {} hours (plus about {} hours running the labs)."},
}


class Localized(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ja: Text
    en: Text


class Part(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]
    title: Localized


Minutes = Annotated[int, Field(gt=0, le=600)]
Anchor = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]


class ReadingTime(BaseModel):
    """Minutes to read the page in each edition (en once it is translated)."""

    model_config = ConfigDict(extra="forbid")
    ja: Minutes
    en: Minutes | None = None


class CoursePage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slug: Annotated[str, StringConstraints(pattern=r"^(?:[a-z0-9-]+(?:/[a-z0-9-]+)*)?$")]
    part: str | None = None
    title: Localized
    summary: Localized
    tracked: bool
    minutes: ReadingTime | None = None
    work_minutes: Minutes | None = None  # a lab's hands-on time, on top of reading
    requires: list[str] = []
    sections: dict[Anchor, Minutes] = {}  # sections a learning route may list on their own


class Course(BaseModel):
    model_config = ConfigDict(extra="forbid")
    parts: list[Part]
    pages: list[CoursePage]

    @model_validator(mode="after")
    def _check(self) -> Course:
        part_ids = [part.id for part in self.parts]
        slugs = [page.slug for page in self.pages]
        if len(set(slugs)) != len(slugs):
            raise ValueError("a slug appears twice in pages")
        for page in self.pages:
            if page.slug and page.part not in part_ids:
                raise ValueError(f"page '{page.slug}' has unknown part {page.part!r}")
            unknown = [slug for slug in page.requires if slug not in slugs]
            if unknown:
                raise ValueError(f"page '{page.slug}' requires unknown pages {unknown}")
        return self


_course: Course | None = None


def on_config(config):
    """Load and validate the course map."""
    global _course
    path = Path(config.docs_dir) / "_data" / "course.yml"
    try:
        _course = _yaml_data.load(path.read_text(encoding="utf-8"), Course, source=str(path))
    except _yaml_data.DataError as error:
        raise PluginError(f"course map: {error}") from None
    return config


def on_page_markdown(markdown, page, config, files, **kwargs):
    """Attach the page's course entry; expand the chapter-map marker."""
    slug = _slug(page.file.src_uri)
    entry = next((p for p in _course.pages if p.slug == slug), None)
    if entry:
        page.meta["course"] = {"slug": entry.slug, "tracked": entry.tracked}
        build_language = config.theme["language"]
        if (getattr(page.file, "locale", None) or "ja") != build_language and hasattr(entry.title, build_language):
            page.title = getattr(entry.title, build_language)
    if "[[" in markdown:
        markdown = _chapter_links(markdown, page, files)
    if MARKER in markdown:
        if slug != "":
            # Its links are written relative to docs/, i.e. for the home page.
            raise PluginError(f"{page.file.src_uri}: {MARKER} belongs on the home page only")
        language = getattr(page.file, "locale", None) or "ja"
        markdown = markdown.replace(MARKER, _chapter_map(language, files))
    return markdown


def on_page_context(context, page, config, nav, **kwargs):
    """Give the progress page the whole map, with each written page's URL and quiz ids."""
    if page.meta.get("template") != "progress.html":
        return context
    language = getattr(page.file, "locale", None) or "ja"
    by_slug = {_slug(p.file.src_uri): p for p in nav.pages}
    entries = []
    for entry in _course.pages:
        built = by_slug.get(entry.slug)
        entries.append({
            "slug": entry.slug,
            "title": getattr(entry.title, language),
            "part": entry.part,
            "tracked": entry.tracked,
            "url": built.url if built else None,
            "quiz_ids": built.meta.get("quiz_ids", []) if built else [],
        })
    context["course_pages"] = entries
    return context


def _chapter_links(markdown: str, page, files) -> str:
    language = getattr(page.file, "locale", None) or "ja"
    by_slug = {entry.slug: entry for entry in _course.pages}
    lines = markdown.split("\n")
    fence = None
    for number, line in enumerate(lines):
        opening = re.match(r"^\s*(`{3,}|~{3,})", line)
        if fence:
            fence = None if opening and opening[1].startswith(fence) else fence
            continue
        if opening:
            fence = opening[1]
            continue

        def link(match):
            entry = by_slug.get(match["slug"])
            if entry is None:
                raise PluginError(
                    f"{page.file.src_uri}:{number + 1}: [[{match['slug']}]] is not a page of course.yml"
                )
            text = match["text"] or getattr(entry.title, language)
            source = _source_for(entry.slug, files) if entry.slug else "index.md"
            if not source:
                return text
            target = get_relative_url(source, page.file.src_uri) + (match["anchor"] or "")
            return f"[{text}]({target})"

        lines[number] = CHAPTER_LINK.sub(link, line)
    return "\n".join(lines)


def _slug(src_uri: str) -> str:
    """'kvm.md' / 'kvm.en.md' / 'labs/kvm-hello.md' / 'index.md' -> 'kvm' / … / ''."""
    stem = src_uri.removesuffix(".md").removesuffix(".en")
    stem = stem.removesuffix("index").rstrip("/")
    return stem


def _source_for(slug: str, files) -> str | None:
    for candidate in (f"{slug}.md", f"{slug}/index.md"):
        if files.get_file_from_path(candidate):
            return candidate
    return None


def _chapter_map(language: str, files) -> str:
    strings = STRINGS[language]
    out = ['<div class="chapter-map" markdown>', ""]
    for part in _course.parts:
        out += [f"### {getattr(part.title, language)} {{#part-{part.id}}}", ""]
        out += [f"| {strings['chapter']} | {strings['learn']} | {strings['time']} |", "|---|---|---|"]
        for page in (p for p in _course.pages if p.part == part.id):
            title = getattr(page.title, language)
            source = _source_for(page.slug, files)
            cell = f"[{title}]({source})" if source else title
            if source and language != "ja" and not files.get_file_from_path(f"{page.slug}.{language}.md"):
                cell += strings["japanese_only"]
            out.append(f"| {cell} | {getattr(page.summary, language)} | {_time(page, language, bool(source))} |")
        out.append("")
    reading, work = _course_hours(language)
    out += [strings["total"].format(reading, work), "", "</div>", ""]
    return "\n".join(out)


def _minutes(page: CoursePage, language: str) -> int | None:
    if page.minutes is None:
        return None
    return getattr(page.minutes, language) or page.minutes.ja


def _time(page: CoursePage, language: str, written: bool) -> str:
    strings = STRINGS[language]
    minutes = _minutes(page, language)
    if not written or minutes is None:
        return strings["soon"]
    return strings["minutes"].format(minutes) + (strings["work"].format(page.work_minutes) if page.work_minutes else "")


def _course_hours(language: str) -> tuple[str, str]:
    """Whole-course reading and hands-on time, in hours rounded to the half hour."""
    reading = sum(_minutes(p, language) or 0 for p in _course.pages if p.tracked)
    work = sum(p.work_minutes or 0 for p in _course.pages if p.tracked)

    def hours(minutes: int) -> str:
        return f"{round(minutes / 30) / 2:g}"

    return hours(reading), hours(work)
