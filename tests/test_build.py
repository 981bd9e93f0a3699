"""The strict build: it passes for the real site and fails loudly on broken input.

Each failure case copies the project into a temporary folder, adds one fixture
page and builds it, so the real docs/ never carry a broken page.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.support import site

NAV_ANCHOR = "  - ホーム: index.md\n"


def make_project(tmp_path: Path, pages: dict[str, str]) -> Path:
    """Copy the project to ``tmp_path``, add ``pages`` (name -> Markdown) to docs/ and nav."""
    for name in ("docs", "overrides"):
        shutil.copytree(site.ROOT / name, tmp_path / name)
    config = (site.ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert NAV_ANCHOR in config, "the fixture relies on the home page's nav line"
    nav_lines = "".join(f"  - {name}\n" for name in pages if not name.endswith(".en.md"))
    (tmp_path / "mkdocs.yml").write_text(config.replace(NAV_ANCHOR, NAV_ANCHOR + nav_lines))
    for name, text in pages.items():
        (tmp_path / "docs" / name).write_text(text, encoding="utf-8")
    return tmp_path / "mkdocs.yml"


def build_fixture(tmp_path, pages, before_build=None):
    """Strict build of a project copy with ``pages``; ``before_build(config)`` may edit the copy."""
    config = make_project(tmp_path, pages)
    if before_build:
        before_build(config)
    return site.build(config, tmp_path / "site", check=False)


def test_real_site_builds_strictly(site_dir):
    assert (site_dir / "index.html").is_file()
    assert (site_dir / "en" / "index.html").is_file()


def test_fixture_without_problems_builds(tmp_path):
    result = build_fixture(tmp_path, {"ok.md": "# よい\n\n## 節 {#section}\n\n[ホーム](index.md#audience)\n"})
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "body, expected",
    [
        ("[どこにもない](missing.md)\n", "missing.md"),
        ("[ない見出し](index.md#no-such-heading)\n", "no-such-heading"),
        ("[絶対パス](/index.md)\n", "/index.md"),
    ],
    ids=["missing-page", "missing-anchor", "absolute-link"],
)
def test_broken_link_fails_the_build(tmp_path, body, expected):
    result = build_fixture(tmp_path, {"broken.md": f"# 壊れたリンク\n\n{body}"})
    assert result.returncode != 0
    assert "broken.md" in result.stderr and expected in result.stderr


def test_page_missing_from_nav_fails_the_build(tmp_path):
    config = make_project(tmp_path, {})
    (tmp_path / "docs" / "orphan.md").write_text("# 迷子\n", encoding="utf-8")
    result = site.build(config, tmp_path / "site", check=False)
    assert result.returncode != 0
    assert "orphan.md" in result.stderr


def test_heading_without_id_names_file_and_line(tmp_path):
    page = "# 題\n\n本文\n\n## 見出しにIDがない\n\n### Bad_Id {#Bad_Id}\n"
    result = build_fixture(tmp_path, {"noid.md": page})
    assert result.returncode != 0
    assert "noid.md:5: heading '見出しにIDがない' has no explicit id" in result.stderr
    assert "noid.md:7: heading 'Bad_Id' has id 'Bad_Id'" in result.stderr


def test_heading_in_code_block_is_not_a_heading(tmp_path):
    page = "# 題\n\n```markdown\n## コードの中の見出し\n```\n"
    result = build_fixture(tmp_path, {"code.md": page})
    assert result.returncode == 0, result.stderr


def test_untranslated_page_falls_back_with_notice(tmp_path):
    result = build_fixture(tmp_path, {"only-ja.md": "# 日本語だけ\n\n## 節 {#section}\n"})
    assert result.returncode == 0, result.stderr
    english = (tmp_path / "site" / "en" / "only-ja" / "index.html").read_text(encoding="utf-8")
    japanese = (tmp_path / "site" / "only-ja" / "index.html").read_text(encoding="utf-8")
    assert "data-fallback-notice" in english
    assert '<div lang="ja">' in english
    assert 'href="../../only-ja/"' in english
    assert "data-fallback-notice" not in japanese


def test_translated_page_has_no_notice(site_dir):
    assert "data-fallback-notice" not in (site_dir / "en" / "index.html").read_text(encoding="utf-8")


def test_english_sitemap_lists_english_pages(site_dir, base_url):
    english = (site_dir / "en" / "sitemap.xml").read_text(encoding="utf-8")
    assert f"<loc>{base_url}en/</loc>" in english
    assert f"<loc>{base_url}</loc>" not in english
    assert (site_dir / "en" / "sitemap.xml.gz").is_file()


def test_each_language_has_its_own_404(site_dir):
    assert '<html lang="ja"' in (site_dir / "404.html").read_text(encoding="utf-8")
    assert '<html lang="en"' in (site_dir / "en" / "404.html").read_text(encoding="utf-8")


def test_home_pages_are_titled_with_the_site_name(site_dir):
    assert "<title>仮想化技術入門</title>" in (site_dir / "index.html").read_text(encoding="utf-8")
    english = (site_dir / "en" / "index.html").read_text(encoding="utf-8")
    assert "<title>Introduction to Virtualization</title>" in english


def test_404_pages_link_to_each_language_home(site_dir):
    for path in ("404.html", "en/404.html"):
        html = (site_dir / path).read_text(encoding="utf-8")
        assert '<link rel="alternate"' not in html
        assert 'href="/" hreflang="ja" class="md-select__link"' in html
        assert 'href="/en/" hreflang="en" class="md-select__link"' in html


def test_chapter_links_link_written_pages_and_name_the_others(tmp_path):
    page = "# 題\n\n[[progress]]、[[progress#overview|記録の一覧]]、[[future]]、[[future#api|未来のAPI]]。\n\n```text\n[[future]]\n```\n"
    config = make_project(tmp_path, {"links.md": page})
    course = tmp_path / "docs" / "_data" / "course.yml"
    # A page of the map that has no file yet (every real chapter may be written by now).
    course.write_text(
        course.read_text(encoding="utf-8")
        + "  - slug: future\n    part: appendix\n    tracked: false\n    title: {ja: 未来の章, en: A future chapter}\n"
        + "    summary: {ja: まだない章, en: Not written yet}\n",
        encoding="utf-8",
    )
    result = site.build(config, tmp_path / "site", check=False)
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "site" / "links" / "index.html").read_text(encoding="utf-8")
    assert '<a href="../progress/">学習の記録</a>' in html
    assert '<a href="../progress/#overview">記録の一覧</a>' in html
    assert "未来の章、未来のAPI。" in html and 'href="../future/' not in html  # not written yet: text only
    assert "[[future]]" in html  # code is left alone


def test_unknown_chapter_link_fails_with_file_and_line(tmp_path):
    result = build_fixture(tmp_path, {"links.md": "# 題\n\n本文。\n\n[[no-such-chapter]]\n"})
    assert result.returncode != 0
    assert "links.md:5: [[no-such-chapter]] is not a page of course.yml" in result.stderr


def test_untranslated_chapter_has_its_english_title_in_the_english_build(tmp_path):
    def add_to_course_map(config):
        course = config.parent / "docs" / "_data" / "course.yml"
        course.write_text(
            course.read_text(encoding="utf-8")
            + "  - slug: fixture-untranslated\n    part: basics\n    tracked: false\n"
            + "    title: {ja: 訳されていない章, en: An untranslated chapter}\n"
            + "    summary: {ja: 試験用の章です。, en: A chapter for the tests.}\n",
            encoding="utf-8",
        )

    pages = {"fixture-untranslated.md": "# 訳されていない章\n\n## 節 {#section}\n"}
    result = build_fixture(tmp_path, pages, before_build=add_to_course_map)
    assert result.returncode == 0, result.stderr
    english = (tmp_path / "site" / "en" / "fixture-untranslated" / "index.html").read_text(encoding="utf-8")
    assert "data-fallback-notice" in english
    assert "<title>An untranslated chapter - Introduction to Virtualization</title>" in english
    assert ">An untranslated chapter<" in english.split('class="md-nav__list"', 1)[1]
    japanese = (tmp_path / "site" / "fixture-untranslated" / "index.html").read_text(encoding="utf-8")
    assert "<title>訳されていない章 - 仮想化技術入門</title>" in japanese


def test_every_figure_opens_its_svg_at_full_size(site_dir):
    """Figures link to their own SVG (overrides/hooks/figure_links.py), which exists."""
    figures = 0
    for html_file in site_dir.rglob("index.html"):
        html = html_file.read_text(encoding="utf-8")
        for figure in re.findall(r"<figure>.*?</figure>", html, flags=re.S):
            image = re.search(r'<img [^>]*src="([^"]+\.svg)"', figure)
            if not image:
                continue
            figures += 1
            link = re.search(r'<a class="figure-zoom" href="([^"]+)" title="[^"]+"><img ', figure)
            assert link, f"{html_file.relative_to(site_dir)}: figure {image[1]} is not linked"
            assert link[1] == image[1]
            assert (html_file.parent / link[1]).resolve().is_file(), link[1]
    assert figures >= 30  # every chapter's figures, in both language builds


def test_every_script_is_deferred(site_dir):
    """A plain <script src> holds the first paint of a short page until it is fetched
    (overrides/main.html defers Material's bundle by rewriting its tag: this notices if a
    new Material writes the tag differently)."""
    plain = []
    pages = sorted(site_dir.rglob("*.html"))
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert "assets/javascripts/bundle." in html, f"{page.relative_to(site_dir)}: no Material bundle"
        for tag in re.findall(r"<script\b[^>]*\bsrc=[^>]*>", html):
            if not re.search(r"\s(defer|async)[\s>=]", tag):
                plain.append(f"{page.relative_to(site_dir)}: {tag}")
    assert len(pages) > 50
    assert not plain, "\n".join(plain[:20])
