"""axe-core in Chromium on every page, ja and en, light and dark: no serious or critical violation."""

from __future__ import annotations

import pytest

from tests.support import site

pytestmark = pytest.mark.browser

AXE = site.ROOT / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = {"serious", "critical"}


def pytest_generate_tests(metafunc):
    if "a11y_path" in metafunc.fixturenames:
        from tests.test_pages import _expected_paths

        metafunc.parametrize("a11y_path", _expected_paths())
        metafunc.parametrize("scheme", ["light", "dark"])


def axe_violations(page) -> list[str]:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci` (make test does)")
    # axe measures colour contrast from what is drawn; entries kept undrawn until they near
    # the screen (content-visibility on /references/) made it guess backgrounds now and then.
    # Draw everything first: the colours are the same either way.
    page.add_style_tag(content="* { content-visibility: visible !important; }")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => {
          const r = await axe.run(document, {runOnly: {type: 'tag',
            values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}});
          return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            targets: v.nodes.map(n => n.target.join(' '))}));
        }"""
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {', '.join(v['targets'][:5])}"
        for v in result
        if v["impact"] in SERIOUS
    ]


def test_page_has_no_serious_violation(browser, base_url, a11y_path, scheme):
    context = browser.new_context(color_scheme=scheme)
    try:
        page = context.new_page()
        page.goto(base_url + a11y_path.lstrip("/"), wait_until="networkidle")
        violations = axe_violations(page)  # once: a second run may not see the same thing
        assert violations == [], "\n".join(violations)
    finally:
        context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_answered_quiz_has_no_serious_violation(browser, base_url, scheme):
    context = browser.new_context(color_scheme=scheme)
    try:
        page = context.new_page()
        page.goto(base_url)
        quiz = page.locator('[data-quiz-id="home-choose-path"]')
        quiz.locator("input").nth(2).check()
        quiz.get_by_role("button", name="答え合わせ").click()
        quiz.locator(".quiz__answers summary").click()
        violations = axe_violations(page)  # once: a second run may not see the same thing
        assert violations == [], "\n".join(violations)
    finally:
        context.close()
