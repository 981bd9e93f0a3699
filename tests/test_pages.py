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
        if rel.startswith("drafts/"):  # excluded from the build until they join the nav
            continue
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

    # Scripts add links too (the glossary card, the figure dialog): every one has an
    # href, or search engines and Lighthouse's SEO audit count it as not crawlable.
    no_href = page.eval_on_selector_all("a:not([href]), a[href='']", "els => els.map(e => e.outerHTML.slice(0, 80))")
    assert no_href == [], f"links without href: {no_href}"


PHONE = {"width": 390, "height": 844}

# Elements wider than the screen on purpose: they scroll inside themselves.
OVERFLOW_CANDIDATES = """() => {
  const width = document.documentElement.clientWidth;
  return [...document.querySelectorAll('article *')]
    .filter(e => e.getBoundingClientRect().right > width + 1)
    .filter(e => !e.closest('pre, .md-typeset__scrollwrap, .highlight, table'))
    .slice(0, 5)
    .map(e => `<${e.tagName.toLowerCase()} class="${e.className}">${e.textContent.trim().slice(0, 60)}`);
}"""


@pytest.mark.browser
def test_page_fits_a_phone_screen(browser, base_url, page_path):
    """Nothing pushes the page sideways at 390 px (long citation labels once did)."""
    from tests.conftest import open_context

    context, log = open_context(browser, base_url, viewport=PHONE)
    try:
        page = context.new_page()
        page.goto(base_url + page_path.lstrip("/"))
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= PHONE["width"], page.evaluate(OVERFLOW_CANDIDATES)
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.parametrize("table_page", ["/io/", "/hardware-assist/", "/taxonomy/", "/full-virtualization/", "/labs/bytecode-vm/"])
def test_wide_tables_show_that_they_scroll(browser, base_url, table_page):
    """A table wider than a phone screen carries the edge-shadow cue (and its table lets it show)."""
    context = browser.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        page.goto(base_url + table_page.lstrip("/"), wait_until="networkidle")
        wraps = page.evaluate(
            """() => [...document.querySelectorAll('article .md-typeset__scrollwrap')].map(w => ({
                 overflows: w.scrollWidth > w.clientWidth + 1,
                 cue: getComputedStyle(w).backgroundImage,
                 table: getComputedStyle(w.querySelector('table')).backgroundColor}))"""
        )
        assert any(w["overflows"] for w in wraps), f"{table_page}: expected a table wider than the phone"
        for wrap in (w for w in wraps if w["overflows"]):
            assert wrap["cue"].count("radial-gradient") == 2, f"{table_page}: a wide table without the scroll cue"
            assert wrap["table"] in ("rgba(0, 0, 0, 0)", "transparent"), f"{table_page}: the table hides the cue"
    finally:
        context.close()
