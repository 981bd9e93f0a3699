"""A page's paragraphs, lists, quizzes and boxes are laid out only near the screen
(content-visibility in extra.css): the reader must never see the difference."""

from __future__ import annotations

import statistics

import pytest

from tests.support import anchors
from tests.test_pages import _expected_paths

# Every block of the article, top and height in page coordinates.
BLOCKS = """() => [...document.querySelectorAll('.md-content__inner > *')].map((e, i) => {
    const box = e.getBoundingClientRect();
    return [i, e.tagName.toLowerCase() + (e.id ? '#' + e.id : ''), box.top + scrollY, box.height];
})"""
SCROLL_THROUGH = """async () => {
    for (let y = 0; y < document.documentElement.scrollHeight; y += innerHeight) {
        scrollTo(0, y);
        await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    }
}"""
DRAW_ALL = "* { content-visibility: visible !important; }"
# Records which elements the browser is skipping; the event goes to the element only,
# so it is caught on the way down.
WATCH_SKIPPING = """window.skipped = new Set();
document.addEventListener('contentvisibilityautostatechange', e => {
    if (e.skipped) window.skipped.add(e.target); else window.skipped.delete(e.target);
}, true);"""
CHAPTERS = ["virtualization/", "beyond/", "en/memory/", "labs/kvm-hello/"]


@pytest.mark.browser
@pytest.mark.parametrize("path", _expected_paths())
def test_blocks_are_drawn_where_they_would_be_if_always_drawn(browser, base_url, path):
    """Containment stops a block's margins collapsing with its children's, so a block
    that relies on that moves when it is skipped and drawn: every block of the page, once
    the reader has scrolled past it, must sit where it sits with skipping off."""
    for viewport in anchors.VIEWPORTS:
        context = browser.new_context(viewport=viewport)
        try:
            page = context.new_page()
            page.goto(base_url + path.lstrip("/"), wait_until="networkidle")
            page.evaluate(SCROLL_THROUGH)
            drawn = page.evaluate(BLOCKS)
            page.add_style_tag(content=DRAW_ALL)
            plain = page.evaluate(BLOCKS)
        finally:
            context.close()
        moved = [(i, tag, f"top {a:.0f}→{b:.0f}", f"height {h:.0f}→{k:.0f}")
                 for (i, tag, a, h), (_, _, b, k) in zip(drawn, plain)
                 if abs(a - b) > 1 or abs(h - k) > 1]
        assert not moved, (f"{path} at {viewport['width']} px: blocks drawn elsewhere than "
                           f"with content-visibility off (index, tag, drawn→plain): {moved[:5]}")


@pytest.mark.browser
@pytest.mark.parametrize("path", CHAPTERS)
@pytest.mark.parametrize("viewport", anchors.VIEWPORTS, ids=["desktop", "phone"])
def test_only_blocks_near_the_screen_are_laid_out_at_load(browser, base_url, path, viewport):
    """The first screen is drawn at once (no blank page, no jump), and the chapter's last
    paragraph waits until the reader scrolls to it."""
    context = browser.new_context(viewport=viewport)
    try:
        page = context.new_page()
        page.add_init_script(WATCH_SKIPPING)
        page.goto(base_url + path, wait_until="networkidle")
        state = """() => {
            const paragraphs = [...document.querySelectorAll('.md-content__inner > p')];
            const onScreen = paragraphs.filter(p => p.getBoundingClientRect().top < innerHeight);
            return {
                onScreenSkipped: onScreen.filter(p => window.skipped.has(p)).length,
                onScreen: onScreen.length,
                lastSkipped: window.skipped.has(paragraphs.at(-1)),
                skipped: window.skipped.size,
            };
        }"""
        at_load = page.evaluate(state)
        page.evaluate("() => document.querySelector('.md-content__inner > p:last-of-type').scrollIntoView()")
        page.wait_for_timeout(200)
        after = page.evaluate("() => window.skipped.has(document.querySelector('.md-content__inner > p:last-of-type'))")
    finally:
        context.close()
    assert at_load["onScreen"] > 0, f"{path}: no paragraph on the first screen: has the markup changed?"
    assert at_load["onScreenSkipped"] == 0, f"{path}: paragraphs on the first screen not drawn: {at_load}"
    assert at_load["lastSkipped"], f"{path}: the last paragraph was laid out at load: {at_load}"
    assert at_load["skipped"] > 10, f"{path}: only {at_load['skipped']} blocks skipped at load"
    assert not after, f"{path}: the last paragraph is still skipped once scrolled into view"


@pytest.mark.browser
@pytest.mark.parametrize("viewport", anchors.VIEWPORTS, ids=["desktop", "phone"])
def test_a_skipped_block_holds_about_the_height_of_a_drawn_one(browser, base_url, viewport):
    """Until drawn, a block holds its kind's average height, so the scroll bar and the
    page's length barely move while the reader scrolls."""
    kinds = {"p": ".md-content__inner > p",
             "list or box": ".md-content__inner > :is(ul, ol, .admonition)"
                            ":not(.reference-list, .chapter-references)",
             "quiz": ".md-content__inner > .quiz",
             "chapter reference": ".chapter-references > li"}
    held, drawn = {}, {kind: [] for kind in kinds}
    context = browser.new_context(viewport=viewport)
    try:
        page = context.new_page()
        for path in CHAPTERS + ["en/beyond/", "hardware-assist/"]:
            page.goto(base_url + path, wait_until="networkidle")
            for kind, selector in kinds.items():
                held[kind] = page.evaluate(
                    f"() => parseFloat(getComputedStyle(document.querySelector('{selector}'))"
                    ".containIntrinsicHeight.replace('auto', ''))")
            page.add_style_tag(content=DRAW_ALL)
            for kind, selector in kinds.items():
                drawn[kind] += page.evaluate(f"() => [...document.querySelectorAll('{selector}')]"
                                             ".map(e => e.getBoundingClientRect().height)")
    finally:
        context.close()
    off = {}
    for kind, heights in drawn.items():
        assert len(heights) > 5, f"only {len(heights)} blocks of kind {kind}: has the markup changed?"
        average = statistics.mean(heights)
        if abs(held[kind] - average) > 0.25 * average:
            off[kind] = f"{held[kind]:.0f} px held, {average:.0f} px drawn on average"
    assert not off, off


@pytest.mark.browser
@pytest.mark.parametrize("path", ["beyond/", "en/hardware-assist/"])
def test_a_link_to_a_section_marks_it_in_the_table_of_contents(browser, base_url, path):
    """Material marks the section being read in the table of contents from the headings'
    positions. With the blocks above a section not yet drawn, those positions come from
    held heights; a link to the section must still mark that section."""
    context = browser.new_context(viewport=anchors.VIEWPORTS[0])
    try:
        page = context.new_page()
        page.goto(base_url + path, wait_until="networkidle")
        ids = page.eval_on_selector_all(".md-content__inner h2[id]", "els => els.map(e => e.id)")
        assert len(ids) > 4, f"{path}: only {len(ids)} sections"
        marked = {}
        for target in ids[1:]:
            page.goto(base_url + path + "#" + target, wait_until="networkidle")
            page.wait_for_timeout(200)
            marked[target] = page.evaluate("() => document.querySelector("
                                           "'.md-sidebar--secondary .md-nav__link--active')?.hash")
    finally:
        context.close()
    wrong = {target: got for target, got in marked.items() if got != "#" + target}
    assert not wrong, f"{path}: section linked → section marked: {wrong}"
