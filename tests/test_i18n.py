"""The language switcher lands on the same page in the other language, and back."""

from __future__ import annotations

import pytest

from tests.support import site
from tests.test_build import make_project

pytestmark = pytest.mark.browser


def switch_language(page, hreflang: str) -> None:
    page.locator(".md-header .md-select").hover()
    page.locator(f".md-header a.md-select__link[hreflang={hreflang}]").click()


def translated_pairs(site_dir) -> list[str]:
    """Japanese paths whose English page is a real translation."""
    pairs = []
    for path in site.page_paths(site_dir):
        if path.startswith("/en/") or path.endswith("404.html"):
            continue
        english = site_dir / "en" / path.lstrip("/") / "index.html"
        if english.exists() and "data-fallback-notice" not in english.read_text(encoding="utf-8"):
            pairs.append(path)
    return pairs


def check_round_trip(page, base_url: str, path: str) -> None:
    page.goto(base_url + path.lstrip("/"))
    switch_language(page, "en")
    page.wait_for_url(base_url + "en/" + path.lstrip("/"))
    assert page.locator("html").get_attribute("lang") == "en"
    switch_language(page, "ja")
    page.wait_for_url(base_url + path.lstrip("/"))
    assert page.locator("html").get_attribute("lang") == "ja"


def test_switcher_round_trip_on_every_translated_page(page, context, site_dir, base_url):
    paths = translated_pairs(site_dir)
    assert "/" in paths
    for path in paths:
        check_round_trip(page, base_url, path)
    assert context.log.problems() == []


def test_switcher_keeps_a_subpage(browser, tmp_path):
    """From /x/ to /en/x/ and back, on a fixture page below the home page."""
    from tests.conftest import open_context

    config = make_project(
        tmp_path,
        {
            "guide.md": "# 案内\n\n## 節 {#section}\n",
            "guide.en.md": "# Guide\n\n## Section {#section}\n",
        },
    )
    with site.serve(tmp_path / "site") as base_url:
        site.build(config, tmp_path / "site", site_url=base_url)
        context, log = open_context(browser, base_url)
        try:
            check_round_trip(context.new_page(), base_url, "/guide/")
        finally:
            context.close()
    assert log.problems() == [], "\n".join(log.problems())
