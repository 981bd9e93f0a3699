"""Every page previews well when its link is pasted into a chat or a document."""

from __future__ import annotations

import re

from tests.support import site


def meta(html: str, attribute: str, name: str) -> str | None:
    match = re.search(rf'<meta {attribute}="{re.escape(name)}" content="([^"]*)"', html)
    return match[1] if match else None


def test_every_page_has_a_description_and_open_graph(site_dir):
    defaults = {}
    for path in site.page_paths(site_dir):
        file = site_dir / path.lstrip("/")
        html = (file if file.suffix else file / "index.html").read_text(encoding="utf-8")
        description = meta(html, "name", "description")
        assert description and len(description) >= 30, path
        assert meta(html, "property", "og:description") == description, path
        assert meta(html, "property", "og:title"), path
        assert meta(html, "property", "og:locale") == ("en_US" if site.language_of(path) == "en" else "ja_JP")
        assert "  " not in description and "と シ" not in description, path
        if path in ("/", "/en/") or path.endswith("404.html"):
            defaults[site.language_of(path)] = description
    # Every other page says what it is itself (front matter `description`).
    for path in site.page_paths(site_dir):
        if path in ("/", "/en/") or path.endswith("404.html"):
            continue
        html = (site_dir / path.lstrip("/") / "index.html").read_text(encoding="utf-8")
        if "data-fallback-notice" in html:
            continue
        assert meta(html, "name", "description") != defaults[site.language_of(path)], f"{path} needs a description"
