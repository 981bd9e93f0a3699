"""Every button the course adds stays readable in every state, in both colour schemes.

axe checks only the state a page loads in. In dark mode the 読了 toggle, the quiz's
もう一度 and the /progress/ buttons once turned blank on hover and focus (accent text
on an accent fill), and a tap on a phone leaves focus behind. This computes the
text/background contrast in the browser at rest, on hover, on focus and while
pressed, for each control, and requires WCAG AA (4.5:1).
"""

from __future__ import annotations

import pytest

from tests.support.widgets import open_page

# Pages and what to do first so that every kind of control is on screen.
PAGES = {
    "": None,  # the home page's buttons
    "virtualization/": "quiz",  # quiz actions, the 読了 toggle
    "progress/": None,  # export, import, reset
    "taxonomy/": None,  # taxonomy-explorer
    "full-virtualization/": None,  # trap-and-emulate
    "memory/": None,  # page-walk
    "io/": None,  # io-path
    "process-vm/": None,  # bytecode-vm
    "kvm/": "figure",  # the figure dialog
}
# The course's own controls; Material's code-copy icon button is Material's design.
OURS = ":not(.md-clipboard):not(.md-code__button)"
CONTROLS = ", ".join(
    f"{scope} {kind}{OURS}:visible"
    for scope in ("article", "dialog[open]")
    for kind in ("button", ".md-button", "[role=button]", "a.md-button")
) + ", dialog[open] a:visible"
NO_TRANSITIONS = "*, *::before, *::after { transition: none !important; animation: none !important; }"

CONTRAST = """el => {
  const parse = c => { const m = c.match(/[\\d.]+/g).map(Number); return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1]; };
  const over = (top, bottom) => top.slice(0, 3).map((v, i) => v * top[3] + bottom[i] * (1 - top[3])).concat([1]);
  // The colour behind the element: its own background composited over its ancestors'.
  let layers = [];
  for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
    const bg = parse(getComputedStyle(node).backgroundColor);
    if (bg[3] > 0) layers.push(bg);
    if (bg[3] === 1) break;
  }
  let background = [255, 255, 255, 1];
  if (layers.length && layers[layers.length - 1][3] === 1) background = layers.pop();
  for (const layer of layers.reverse()) background = over(layer, background);
  const text = over(parse(getComputedStyle(el).color), background);
  const lum = c => { const s = c.slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
                     return 0.2126 * s[0] + 0.7152 * s[1] + 0.0722 * s[2]; };
  const [a, b] = [lum(text), lum(background)].sort((x, y) => y - x);
  return {ratio: (a + 0.05) / (b + 0.05), text: getComputedStyle(el).color,
          label: ((el.innerText || el.getAttribute('aria-label') || '') + ' <' + el.tagName.toLowerCase() + '.' + el.className + '>').trim().slice(0, 80)};
}"""


def _prepare(page, action):
    if action == "quiz":
        quiz = page.locator("[data-quiz-id]").first
        quiz.locator("[data-quiz-choice]").first.check()
        quiz.locator("button[type=submit], .quiz__actions button").first.click()
    if action == "figure":
        page.locator("figure a.figure-zoom").first.click()


def _states(page, control):
    box = control.bounding_box()
    centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.move(0, 0)
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    yield "rest"
    page.mouse.move(*centre)
    yield "hover"
    page.mouse.move(0, 0)
    control.focus()
    yield "focus"
    page.mouse.move(*centre)
    page.mouse.down()
    yield "active"
    page.mouse.move(0, 0)  # release elsewhere: no click, no side effect
    page.mouse.up()


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("path", list(PAGES))
def test_controls_keep_their_contrast_in_every_state(browser, base_url, path, scheme):
    context, log, page = open_page(browser, base_url, path, color_scheme=scheme)
    try:
        page.add_style_tag(content=NO_TRANSITIONS)
        _prepare(page, PAGES[path])
        controls = page.locator(CONTROLS)
        count = controls.count()
        assert count > 0, f"/{path}: no controls found"
        failures = []
        for index in range(count):
            control = controls.nth(index)
            if not control.is_visible():
                continue
            control.scroll_into_view_if_needed()
            for state in _states(page, control):
                result = control.evaluate(CONTRAST)
                if result["ratio"] < 4.5:
                    failures.append(f"{result['label']!r} {state}: {result['ratio']:.2f}:1 ({result['text']})")
        assert not failures, f"/{path} ({scheme}):\n" + "\n".join(failures)
    finally:
        context.close()
