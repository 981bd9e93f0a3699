"""The light/dark toggle in the header (overrides/partials/palette.html and
overrides/partials/javascripts/palette.html, which stand in for Material's palette component).

A reader who has not chosen follows the system's setting; a choice is kept across pages,
languages and reloads; a saved entry that cannot be read is ignored, not fatal.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import open_context
from tests.support import site

# What the reader sees, and what the browser is told (scroll bars, form controls).
SCHEME = "() => [document.body.dataset.mdColorScheme, document.querySelector('meta[name=color-scheme]').content]"
LIGHT, DARK = ["default", "light"], ["slate", "dark"]
TOGGLE = "form[data-palette] label:not([hidden])"
# Material keeps the entry under the site's root path (its __md_scope).
SAVED = "/.__palette"
# What Material's own palette component saved for readers who visited before.
MATERIAL_SAVED_DARK = {"index": 1, "color": {"media": "(prefers-color-scheme: dark)", "scheme": "slate",
                                             "primary": "indigo", "accent": "light-blue"}}


def _open(browser, base_url, system, saved=None):
    context, log = open_context(browser, base_url, color_scheme=system)
    if saved is not None:
        # Init scripts run in the first about:blank too, where there is no localStorage.
        context.add_init_script(f"if (location.protocol === 'http:') localStorage.setItem({json.dumps(SAVED)}, {json.dumps(saved)})")
    page = context.new_page()
    page.set_default_timeout(10_000)
    return context, log, page


def _saved(page):
    return page.evaluate(f"() => localStorage.getItem({json.dumps(SAVED)})")


@pytest.mark.browser
@pytest.mark.parametrize("system, first, other", [("light", LIGHT, DARK), ("dark", DARK, LIGHT)])
def test_the_toggle_switches_and_the_choice_is_kept(browser, base_url, system, first, other):
    context, log, page = _open(browser, base_url, system)
    try:
        page.goto(base_url + "virtualization/")
        assert page.evaluate(SCHEME) == first
        assert _saved(page) is None, "nothing is saved before the reader chooses"
        assert page.locator(TOGGLE).count() == 1
        page.locator(TOGGLE).click()
        assert page.evaluate(SCHEME) == other
        assert page.locator(TOGGLE).count() == 1
        assert json.loads(_saved(page))["color"]["scheme"] == other[0]
        page.reload()
        assert page.evaluate(SCHEME) == other
        page.goto(base_url + "en/glossary/")  # another page, the other language
        assert page.evaluate(SCHEME) == other
        page.locator(TOGGLE).click()
        assert page.evaluate(SCHEME) == first
        page.goto(base_url)
        assert page.evaluate(SCHEME) == first
    finally:
        context.close()
    assert log.problems() == []


@pytest.mark.browser
def test_enter_on_the_focused_toggle_switches(browser, base_url):
    """The radio buttons are invisible; keyboard users reach the checked one with Tab."""
    context, log, page = _open(browser, base_url, "light")
    try:
        page.goto(base_url + "kvm/")
        page.locator("form[data-palette] input:checked").focus()
        page.keyboard.press("Enter")
        assert page.evaluate(SCHEME) == DARK
        assert page.evaluate("() => document.activeElement.matches('form[data-palette] input:checked')")
        page.keyboard.press("Enter")
        assert page.evaluate(SCHEME) == LIGHT
    finally:
        context.close()
    assert log.problems() == []


@pytest.mark.browser
@pytest.mark.parametrize("saved, expected", [
    (json.dumps(MATERIAL_SAVED_DARK), DARK),  # a choice made before this toggle existed
    ("{not json", LIGHT),
    (json.dumps({"index": 7}), LIGHT),
    (json.dumps("dark"), LIGHT),
], ids=["material-entry", "not-json", "no-such-option", "not-an-entry"])
def test_a_saved_entry_is_used_only_when_it_is_readable(browser, base_url, saved, expected):
    context, log, page = _open(browser, base_url, "light", saved)
    try:
        page.goto(base_url + "taxonomy/")
        assert _saved(page) == saved, "the entry was not in place"
        assert page.evaluate(SCHEME) == expected
        assert page.locator(TOGGLE).count() == 1
        page.locator(TOGGLE).click()
        assert page.evaluate(SCHEME) == (LIGHT if expected == DARK else DARK)
    finally:
        context.close()
    assert log.problems() == [], "an unreadable entry must not break the page"


@pytest.mark.browser
def test_the_scheme_does_not_wait_for_materials_script(browser, base_url):
    """The scheme is set by a small script in the header, so a dark system's reader never
    sees the light page first: here Material's bundle never arrives at all."""
    context = browser.new_context(color_scheme="dark")
    context.route("**/bundle.*.min.js", lambda route: route.fulfill(body="", content_type="text/javascript"))
    try:
        page = context.new_page()
        page.goto(base_url + "io/")
        assert page.evaluate(SCHEME) == DARK
        page.locator(TOGGLE).click()
        assert page.evaluate(SCHEME) == LIGHT
    finally:
        context.close()


@pytest.mark.browser
def test_theme_color_is_the_headers_colour(browser, base_url):
    """The phone's toolbar takes <meta name="theme-color">, a fixed value: it must stay the
    header's colour in both schemes."""
    hex_of = """() => '#' + getComputedStyle(document.querySelector('.md-header')).backgroundColor
                   .match(/\\d+/g).slice(0, 3).map(v => (+v).toString(16).padStart(2, '0')).join('')"""
    meta = "() => document.querySelector('meta[name=theme-color]').content"
    context, log, page = _open(browser, base_url, "light")
    try:
        page.goto(base_url)
        colours = [(page.evaluate(hex_of), page.evaluate(meta))]
        page.locator(TOGGLE).click()
        colours.append((page.evaluate(hex_of), page.evaluate(meta)))
    finally:
        context.close()
    assert all(header == theme for header, theme in colours), colours


def test_every_page_has_the_course_toggle_before_its_content(site_dir):
    """Material's own palette component must not mount as well (it restyles the whole
    page at load), and the scheme script must run before the content is parsed."""
    problems = []
    for path in site.page_paths(site_dir):
        file = site_dir / path.strip("/") if path.endswith(".html") else site_dir / path.strip("/") / "index.html"
        html = file.read_text(encoding="utf-8")
        if 'data-md-component="palette"' in html:
            problems.append(f"{path}: Material's palette component")
        forms = html.count("<form class=\"md-header__option\" data-palette>")
        script = html.find('document.querySelector("form[data-palette]")')
        content = html.find('<div class="md-container"')
        if forms != 1 or not 0 < script < content:
            problems.append(f"{path}: {forms} toggles, scheme script at {script}, content at {content}")
        if len(re.findall(r'<meta name="(?:color-scheme|theme-color)"', html)) != 2:
            problems.append(f"{path}: color-scheme and theme-color metas")
    assert not problems, "\n".join(problems)
