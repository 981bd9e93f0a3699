"""Figures: what the reader sees, not only what the HTML says.

Two figures once rendered 0 × 0 px for a whole release while every HTML check passed.
These tests look at the pixels: every image in every article, ja and en, at desktop
and phone width, light and dark, is loaded, laid out at a readable size and not blank;
no figure text renders below 11 px on a phone; a figure file that does not declare
its size stops the build; a tap opens the figure full screen and closing it returns
to the same place.
"""

from __future__ import annotations

import io
import re

import pytest

from tests.support import site
from tests.test_build import build_fixture

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
GOOD_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 200" width="720" height="360">'
    "<title>t</title><rect width='400' height='200' fill='#fff'/></svg>"
)


def _figure_pages() -> list[str]:
    """Pages whose sources show an image (the build is checked separately to match)."""
    docs = site.ROOT / "docs"
    paths = set()
    for md in docs.rglob("*.md"):
        rel = md.relative_to(docs).as_posix()
        if rel.startswith("drafts/") or "](assets/" not in md.read_text(encoding="utf-8").replace("../", ""):
            continue
        stem = rel.removesuffix(".en.md").removesuffix(".md")
        slug = "" if stem == "index" else stem + "/"
        paths.update({f"/{slug}", f"/en/{slug}"})
    return sorted(paths)


FIGURE_PAGES = _figure_pages()


def test_figure_pages_are_found(site_dir):
    """The list above covers every built page that has an image in its article."""
    built = set()
    for path in site.page_paths(site_dir):
        html_file = site_dir / path.strip("/") / "index.html" if path.endswith("/") else None
        if html_file and html_file.is_file():
            article = html_file.read_text(encoding="utf-8").split("<article", 1)[-1]
            if re.search(r"<img [^>]*src=", article.split("</article>", 1)[0]):
                built.add(path)
    assert built == set(FIGURE_PAGES)


@pytest.mark.parametrize(
    "svg, problem",
    [
        (GOOD_SVG.replace(' width="720" height="360"', ""), "no explicit width"),
        (GOOD_SVG.replace(' viewBox="0 0 400 200"', ""), "no viewBox"),
        (GOOD_SVG.replace("<title>t</title>", ""), "no <title>"),
        (GOOD_SVG.replace('height="360"', 'height="400"'), "do not have the viewBox's ratio"),
        (GOOD_SVG.replace("</svg>", ""), "not well-formed"),
    ],
    ids=["no-size", "no-viewbox", "no-title", "wrong-ratio", "broken-xml"],
)
def test_figure_that_does_not_declare_its_size_stops_the_build(tmp_path, svg, problem):
    def add_figure(config):
        (config.parent / "docs" / "assets" / "figures" / "bad.svg").write_text(svg, encoding="utf-8")

    result = build_fixture(tmp_path, {"fig.md": "# 図\n\n![図](assets/figures/bad.svg)\n"}, before_build=add_figure)
    assert result.returncode != 0
    assert "docs/assets/figures/bad.svg" in result.stderr and problem in result.stderr, result.stderr


def test_every_figure_file_passes(tmp_path):
    """The good shape is accepted (the check is not simply failing everything)."""
    def add_figure(config):
        (config.parent / "docs" / "assets" / "figures" / "good.svg").write_text(GOOD_SVG, encoding="utf-8")

    result = build_fixture(tmp_path, {"fig.md": "# 図\n\n![図](assets/figures/good.svg)\n"}, before_build=add_figure)
    assert result.returncode == 0, result.stderr


def _smallest_font(svg_text: str) -> float:
    """The smallest font-size (user units) an SVG sets, in attributes or style; 16 if none."""
    sizes = [float(v) for v in re.findall(r'font-size(?:="|:\s*)(\d+(?:\.\d+)?)', svg_text)]
    return min(sizes) if sizes else 16.0


def _view_box_width(svg_text: str) -> float:
    return float(re.search(r'viewBox="[\d.\s-]+?\s([\d.]+)\s[\d.]+"', svg_text)[1])


def _non_background_share(png: bytes, background: tuple[int, int, int]) -> float:
    """Share of the screenshot's pixels that clearly differ from the page background."""
    from PIL import Image, ImageChops

    image = Image.open(io.BytesIO(png)).convert("RGB")
    difference = ImageChops.difference(image, Image.new("RGB", image.size, background)).convert("L")
    histogram = difference.histogram()
    return sum(histogram[25:]) / max(sum(histogram), 1)


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("page_path", FIGURE_PAGES)
def test_every_figure_is_visible(browser, base_url, page_path, viewport, scheme):
    context = browser.new_context(viewport=VIEWPORTS[viewport], color_scheme=scheme)
    try:
        page = context.new_page()
        page.goto(base_url + page_path.lstrip("/"), wait_until="networkidle")
        images = page.locator("article img")
        assert images.count() > 0
        background = page.evaluate(
            "() => getComputedStyle(document.body).backgroundColor.match(/\\d+/g).slice(0, 3).map(Number)"
        )
        column = page.evaluate("() => document.querySelector('article').getBoundingClientRect().width")
        for index in range(images.count()):
            image = images.nth(index)
            image.scroll_into_view_if_needed()
            state = image.evaluate(
                """img => ({src: img.getAttribute('src'), complete: img.complete, natural: img.naturalWidth,
                            width: img.getBoundingClientRect().width, height: img.getBoundingClientRect().height,
                            declared: Number(img.getAttribute('width')) || 0})"""
            )
            name = f"{page_path} {state['src']} ({viewport}, {scheme})"
            assert state["complete"] and state["natural"] > 0, f"{name}: not loaded"
            assert state["width"] >= min(200, state["natural"]), f"{name}: laid out {state['width']} px wide"
            assert state["height"] > 0, f"{name}: no height"
            # The page reserves the figure's box from its file (no layout shift): its design
            # width on a desktop, the whole column on a phone; never more.
            assert state["declared"], f"{name}: the <img> carries no width from its SVG"
            assert state["width"] <= state["declared"] + 0.5, f"{name}: upscaled past its design width"
            expected = min(state["declared"], column)
            assert abs(state["width"] - expected) <= 1, f"{name}: {state['width']} px, expected {expected}"
            share = _non_background_share(image.screenshot(), tuple(background))
            assert share > 0.005, f"{name}: blank ({share:.2%} of its pixels differ from the page)"
            if viewport == "phone" and scheme == "light":
                # The smallest text of the figure as the reader sees it on a phone.
                svg = page.evaluate("src => fetch(src).then(r => r.text())", image.evaluate("img => img.src"))
                smallest = state["width"] * _smallest_font(svg) / _view_box_width(svg)
                assert smallest >= 11, f"{name}: smallest text renders at {smallest:.1f} px (at least 11)"
    finally:
        context.close()


@pytest.mark.browser
def test_tap_opens_the_figure_full_screen_and_close_returns(browser, base_url):
    """On a phone the figure opens fitted to the screen, not shrunk; closing keeps the place."""
    context = browser.new_context(viewport=VIEWPORTS["phone"], has_touch=True, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(base_url + "kvm/", wait_until="networkidle")
        link = page.locator("figure a.figure-zoom").nth(1)
        link.scroll_into_view_if_needed()
        in_page = link.locator("img").bounding_box()
        scroll = page.evaluate("() => window.scrollY")
        link.tap()
        dialog = page.locator("dialog.figure-dialog")
        assert dialog.is_visible()
        shown = page.evaluate(
            """() => { const img = document.querySelector('dialog.figure-dialog img');
                       const box = img.getBoundingClientRect();
                       const scale = Math.min(box.width / img.naturalWidth, box.height / img.naturalHeight);
                       return {box: [box.left, box.top, box.right, box.bottom],
                               drawn: img.naturalWidth * scale, loaded: img.complete && img.naturalWidth > 0}; }"""
        )
        assert shown["loaded"]
        left, top, right, bottom = shown["box"]
        assert left >= 0 and top >= 0 and right <= 390 and bottom <= 844, "the figure fits the screen"
        assert shown["drawn"] >= in_page["width"] - 1, "the figure is not smaller than in the page"
        page.locator("dialog.figure-dialog button").tap()
        assert not dialog.is_visible()
        assert page.evaluate("() => window.scrollY") == scroll
        assert page.evaluate("() => document.activeElement.classList.contains('figure-zoom')")
        # Esc closes it as well (keyboard readers).
        link.focus()
        page.keyboard.press("Enter")
        assert dialog.is_visible()
        page.keyboard.press("Escape")
        assert not dialog.is_visible()
        assert page.evaluate("() => window.scrollY") == scroll
    finally:
        context.close()

