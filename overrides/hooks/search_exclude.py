"""Leave out of the search index what does not help a reader find a page (CONTRIBUTING.md#search).

The first search downloads the whole index of one language, so text that only
repeats other text, or that makes passing mentions outrank the page about a term,
is marked with Material's ``data-search-exclude`` before the search plugin reads
the page. The plugin removes the attribute from the published HTML again (it
strips every ``data-search-*="…"``), so pages look the same.

Left out:
- quiz answers and explanations (``details.quiz__answers``): they repeat the
  choices and the chapter; the question and the choices stay;
- citation labels in the prose (``a.cite``, [Intel SDM Vol. 3 …]);
- each chapter's reference list (``#chapter-references``): /references/ has them;
- on /references/: the list of references (``li.reference``): search_index.py
  indexes each reference as its own document, from its citation (label, authors,
  title, venue) without links, dates of access or the note;
- on /glossary/: the list (``dl.glossary-list``): search_index.py indexes each term
  as its own document, with its other names.
"""

from __future__ import annotations

import re

from mkdocs.plugins import event_priority

EXCLUDED_CLASSES = {"quiz__answers", "cite", "chapter-references", "glossary-list", "reference"}
EXCLUDED_IDS = {"chapter-references"}
MARK = ' data-search-exclude="true"'

START_TAG = re.compile(r"<(?P<tag>[a-zA-Z][a-zA-Z0-9]*)(?P<attrs>\s[^<>]*?)?>")


def _excluded(attrs: str) -> bool:
    classes = re.search(r'\sclass="([^"]*)"', attrs)
    if classes and EXCLUDED_CLASSES.intersection(classes.group(1).split()):
        return True
    ident = re.search(r'\sid="([^"]*)"', attrs)
    return bool(ident and ident.group(1) in EXCLUDED_IDS)


def mark(html: str) -> str:
    """``html`` with every left-out element marked for the search plugin."""

    def visit(match: re.Match) -> str:
        attrs = match.group("attrs") or ""
        if "data-search-exclude" in attrs or not _excluded(attrs):
            return match.group(0)
        return f"<{match.group('tag')}{MARK}{attrs}>"

    return START_TAG.sub(visit, html)


@event_priority(-90)  # after the hooks that write these elements
def on_page_content(html, page, config, files, **kwargs):
    return mark(html)
