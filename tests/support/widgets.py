"""Fixture sites for the widget tests (tests/test_widget_*.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import open_context
from tests.support import site
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


def page_fixtures(pages: dict[str, str], path: str):
    """The fixtures every widget test module uses, for its fixture ``pages``.

    ``widget_site``: (site dir, base URL) of one build per module; ``ja_page`` /
    ``en_page``: ``path`` (and ``en/`` + ``path``) in a fresh logged context that must end
    with no console error, failed or outside request. Use as
    ``widget_site, ja_page, en_page = widgets.page_fixtures(PAGES, "io-path-widget/")``.
    """

    @pytest.fixture(scope="module")
    def widget_site(tmp_path_factory):
        root = tmp_path_factory.mktemp(path.strip("/") + "-site")
        config = widget_project(root, pages)
        with site.serve(root / "site") as base_url:
            site.build(config, root / "site", site_url=base_url)
            yield root / "site", base_url

    def logged_page(browser, base_url, page_path):
        context, log, page = open_page(browser, base_url, page_path)
        yield page
        context.close()
        assert log.problems() == []

    @pytest.fixture
    def ja_page(browser, widget_site):
        yield from logged_page(browser, widget_site[1], path)

    @pytest.fixture
    def en_page(browser, widget_site):
        yield from logged_page(browser, widget_site[1], "en/" + path)

    return widget_site, ja_page, en_page
