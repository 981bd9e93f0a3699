"""Small fixes to Material's markup that axe-core reports as serious.

- The search overlay has role="dialog" but no accessible name: give it one.

Styles for the other findings (link underlines, footer contrast) are in
docs/assets/stylesheets/extra.css. tests/test_accessibility.py runs axe-core.
"""

from __future__ import annotations

SEARCH_DIALOG = '<div class="md-search" data-md-component="search" role="dialog">'
LABELS = {"ja": "検索", "en": "Search"}


def _fix(html: str, language: str) -> str:
    label = LABELS.get(language, LABELS["en"])
    return html.replace(SEARCH_DIALOG, SEARCH_DIALOG[:-1] + f' aria-label="{label}">')


def on_post_page(output, page, config, **kwargs):
    """Pages."""
    return _fix(output, config.theme["language"])


def on_post_template(output_content, template_name, config, **kwargs):
    """The 404 page."""
    return _fix(output_content, config.theme["language"]) if template_name == "404.html" else output_content
