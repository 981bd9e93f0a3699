"""Every built page, Japanese and English, opened in headless Chromium."""

from __future__ import annotations

import re

import pytest

from tests.support import site

ASCII_ID = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")


def pytest_generate_tests(metafunc):
    if "page_path" in metafunc.fixturenames:
        # Build-independent list, so test ids are stable: the docs/ sources.
        metafunc.parametrize("page_path", _expected_paths())


def _expected_paths() -> list[str]:
    docs = site.ROOT / "docs"
    paths = set()
    for md in docs.rglob("*.md"):
        rel = md.relative_to(docs).as_posix()
        stem = rel.removesuffix(".en.md").removesuffix(".md")
        slug = "" if stem == "index" else stem.removesuffix("/index") + "/"
        paths.add(f"/{slug}")
        paths.add(f"/en/{slug}")  # English build: translated or the fallback
    return sorted(paths) + ["/404.html", "/en/404.html"]


def test_every_source_page_is_built(site_dir):
    assert site.page_paths(site_dir) == _expected_paths()


@pytest.mark.browser
def test_page_loads_cleanly(page, context, base_url, page_path):
    page.goto(base_url + page_path.lstrip("/"), wait_until="networkidle")
    assert context.log.problems() == [], "\n".join(context.log.problems())

    expected_lang = site.language_of(page_path)
    assert page.locator("html").get_attribute("lang") == expected_lang

    bad_ids = page.eval_on_selector_all(
        "article h2, article h3, article h4",
        "els => els.map(e => [e.textContent.trim(), e.id])",
    )
    assert [pair for pair in bad_ids if not ASCII_ID.match(pair[1] or "")] == []
