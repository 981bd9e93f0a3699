"""Fixture sites for the widget tests (tests/test_widget_*.py)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import open_context
from tests.test_build import make_project


def widget_project(root: Path, pages: dict[str, str]) -> Path:
    """A copy of the site with the fixture pages in the nav.

    Pages in docs/ that are not in the nav (drafts someone is still writing) are left
    out of the copy: a strict build fails on them whatever the widget does.
    """
    config = make_project(root, pages)
    listed = set(re.findall(r"([\w./-]+\.md)\s*$", config.read_text(encoding="utf-8"), flags=re.M))
    for draft in (root / "docs").rglob("*.md"):
        name = draft.relative_to(root / "docs").as_posix()
        if name.removesuffix(".md").removesuffix(".en") + ".md" not in listed:
            draft.unlink()
    return config


def open_page(browser, base_url: str, path: str, **kwargs):
    """(context, log, page) with ``path`` loaded in a fresh, logged browser context."""
    context, log = open_context(browser, base_url, **kwargs)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(base_url + path)
    return context, log, page
