"""Does a link to page#id put that element just under the header?

Parts of some pages are drawn only when near the screen (content-visibility), so the
browser must still find where an element far down the page will be.
"""

from __future__ import annotations

# Where links are checked to land: a desktop window and a phone.
VIEWPORTS = [{"width": 1280, "height": 900}, {"width": 390, "height": 844}]


def check_links_land(browser, base_url: str, path: str, selector: str, viewport: dict,
                     visible: bool = True) -> None:
    """Open path#id for the middle and the last element matching selector (they have ids),
    and, with ``visible``, check that the element is shown (an empty anchor never is)."""
    context = browser.new_context(viewport=viewport)
    try:
        page = context.new_page()
        page.goto(base_url + path, wait_until="networkidle")
        ids = page.eval_on_selector_all(selector, "els => els.map(e => e.id)")
        assert len(ids) > 2, f"{path}: only {len(ids)} elements match {selector}"
        header = page.evaluate("() => document.querySelector('.md-header').getBoundingClientRect().height")
        for target in [ids[len(ids) // 2], ids[-1]]:
            page.goto(base_url + path + "#" + target, wait_until="networkidle")
            page.wait_for_timeout(500)
            top, at_end = page.evaluate(f"""() => [document.getElementById('{target}').getBoundingClientRect().top,
                scrollY >= document.documentElement.scrollHeight - innerHeight - 1]""")
            # Near the end of a page the element cannot reach the top: the page ends, with it on screen.
            lands = header <= top <= header + 60 or (at_end and header <= top <= viewport["height"] - 20)
            assert lands, f"{path}#{target} at {top} px (header {header} px, page at its end: {at_end})"
            if visible:
                assert page.locator(f"#{target}").is_visible(), f"{path}#{target} is not shown"
    finally:
        context.close()
