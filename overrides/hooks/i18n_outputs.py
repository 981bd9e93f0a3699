"""Put each language's static outputs (sitemap, 404 page) in its own folder.

mkdocs-static-i18n builds the English site after the Japanese one into the same
site_dir, and MkDocs writes theme templates such as 404.html at the site root, so
without this hook the English 404 page replaces the Japanese one at /404.html.
It is written to /en/404.html instead.

The plugin points each page's ``<link rel="alternate" hreflang>`` at that page's
translation, but Material's JavaScript treats every such link as the root of an
alternate site and fetches ``<href>/sitemap.xml`` from it: a 404 on every page
below the home page. The links are removed; search engines get the same hreflang
pairs from the sitemaps, and the header's language menu keeps its per-page links.

The 404 page is rendered after the last page and inherits that page's language
links; they are pointed at each language's home instead.

Search indexes are written per language by search_index.py: an English page that
falls back to the Japanese file is indexed in the English index only (/en/…).

The plugin also writes one sitemap at the site root. Material's language
switcher fetches ``<language root>/sitemap.xml`` to land on the same page in the
other language, so ``/en/sitemap.xml`` must exist (a 404 there is a failed request
on every English page). The English sitemap holds the English URLs, each with its
hreflang alternates, as the root one does.
"""

from __future__ import annotations

import gzip
import re
import xml.etree.ElementTree as etree
from pathlib import Path
from urllib.parse import urlsplit

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
XHTML_NS = "http://www.w3.org/1999/xhtml"
LANGUAGE_DIRS = ["en"]


DEFAULT_LANGUAGE = "ja"
HREFLANG_LINK = re.compile(r'\s*<link rel="alternate" href="[^"]*" hreflang="[^"]*">')


def on_post_page(output, page, config, **kwargs):
    """Drop the head's hreflang links (see the module docstring)."""
    head, sep, body = output.partition("</head>")
    return HREFLANG_LINK.sub("", head) + sep + body


LANGUAGE_MENU_LINK = re.compile(r'<a href="[^"]*" hreflang="([a-z]+)" class="md-select__link">')


def on_post_template(output_content, template_name, config, **kwargs):
    """Fix the 404 page's language links; keep /404.html Japanese, write /en/404.html."""
    if template_name != "404.html":
        return output_content
    root = urlsplit(config.site_url or "/").path.rstrip("/") + "/"

    def home_of(match):
        language = match[1]
        home = root if language == DEFAULT_LANGUAGE else f"{root}{language}/"
        return f'<a href="{home}" hreflang="{language}" class="md-select__link">'

    output_content = LANGUAGE_MENU_LINK.sub(home_of, on_post_page(output_content, None, config))
    language = config.theme["language"]
    if language == DEFAULT_LANGUAGE:
        return output_content
    site_dir = Path(config.site_dir)
    (site_dir / language).mkdir(parents=True, exist_ok=True)
    (site_dir / language / "404.html").write_text(output_content, encoding="utf-8")
    return (site_dir / "404.html").read_text(encoding="utf-8")


def on_post_build(config, **kwargs):
    """Derive ``<lang>/sitemap.xml(.gz)`` from the root sitemap."""
    site_dir = Path(config.site_dir)
    root_sitemap = site_dir / "sitemap.xml"
    if not root_sitemap.exists():
        return
    etree.register_namespace("", SITEMAP_NS)
    etree.register_namespace("xhtml", XHTML_NS)
    for language in LANGUAGE_DIRS:
        language_dir = site_dir / language
        if not language_dir.is_dir():
            # The i18n plugin builds the English site after this hook has run once.
            continue
        tree = etree.parse(root_sitemap)
        prefix = config.site_url.rstrip("/") + f"/{language}/"
        urlset = tree.getroot()
        for url in list(urlset):
            loc = url.findtext(f"{{{SITEMAP_NS}}}loc", "")
            if not loc.startswith(prefix):
                urlset.remove(url)
        data = etree.tostring(urlset, encoding="utf-8", xml_declaration=True)
        (language_dir / "sitemap.xml").write_bytes(data)
        # mtime=0 keeps the .gz byte-identical between builds.
        (language_dir / "sitemap.xml.gz").write_bytes(gzip.compress(data, mtime=0))
