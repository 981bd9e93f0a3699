"""Fail the build when an h2–h4 heading has no explicit ASCII id.

Japanese headings get ids like ``_1``, ``_2`` by default, and those shift when a
heading is added above them. Onboarding documents link to our anchors, so every
h2–h4 must carry ``{#ascii-id}``, and the Japanese and English pages use the same id.

A Markdown treeprocessor runs after ``attr_list`` has applied ``{#id}`` (priority 8)
and before ``toc`` invents ids (priority 5), so it sees exactly which headings the
author gave an id. The hook then reports them with the page's path and line.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as etree

from markdown import Extension, Markdown
from markdown.treeprocessors import Treeprocessor
from mkdocs.exceptions import PluginError

CHECKED_TAGS = {"h2", "h3", "h4"}
VALID_ID = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")


class _HeadingIdChecker(Treeprocessor):
    def __init__(self, md: Markdown, problems: list[tuple[str, str]]):
        super().__init__(md)
        self.problems = problems

    def run(self, root: etree.Element) -> None:
        for el in root.iter():
            if el.tag not in CHECKED_TAGS:
                continue
            text = "".join(el.itertext()).strip()
            heading_id = el.get("id")
            if heading_id is None:
                self.problems.append((text, "has no explicit id; write `{#ascii-id}` after it"))
            elif not VALID_ID.match(heading_id):
                self.problems.append(
                    (text, f"has id {heading_id!r}; use lowercase ASCII words joined by '-'")
                )


class _HeadingIdExtension(Extension):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[tuple[str, str]] = []

    def extendMarkdown(self, md: Markdown) -> None:
        md.treeprocessors.register(_HeadingIdChecker(md, self.problems), "heading_id_check", 6)


_extension = _HeadingIdExtension()


def on_config(config):
    """Register the checker with the site's Markdown extensions."""
    if _extension not in config.markdown_extensions:
        config.markdown_extensions.append(_extension)
    return config


def on_page_markdown(markdown, page, **kwargs):
    """Start a fresh list of problems for this page."""
    _extension.problems.clear()
    return markdown


def on_page_content(html, page, **kwargs):
    """Raise with file, line and heading for every heading without a valid id."""
    if not _extension.problems:
        return html
    source = page.file.content_string.splitlines()
    messages = []
    for text, problem in _extension.problems:
        line = _find_line(source, text)
        messages.append(f"{page.file.src_uri}:{line}: heading '{text}' {problem}")
    _extension.problems.clear()
    raise PluginError("\n".join(messages))


def _find_line(source: list[str], text: str) -> int | str:
    for number, line in enumerate(source, start=1):
        if line.lstrip().startswith("#") and text in line:
            return number
    return "?"
