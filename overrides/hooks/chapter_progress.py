"""The chapter's score and 読了 toggle sit right after its quiz, where the reader finishes.

They used to follow the whole page, below a long reference list (about 4,000 px
below the quiz on a phone). The panel goes before the chapter's reference list
(``#chapter-references``, written by references.py), or at the end of a page
without one. quiz.js fills in its text from the learning record.
"""

from __future__ import annotations

import html as html_lib

from mkdocs.utils import get_relative_url

REFERENCES_HEADING = '<h2 id="chapter-references">'


def on_page_content(html, page, config, files, **kwargs):
    """Insert the progress panel on pages with a quiz or a 読了 toggle."""
    course = page.meta.get("course")
    tracked = bool(course and course["tracked"])
    if not (page.meta.get("quiz_ids") or tracked):
        return html
    locale = getattr(page.file, "locale", None) or "ja"
    progress_url = ("" if locale == "ja" else f"{locale}/") + "progress/"
    link = get_relative_url(progress_url, page.url)
    slug = course["slug"] if course else page.url
    panel = (
        f'<aside class="chapter-progress" data-chapter-progress data-page="{html_lib.escape(slug)}" '
        f'data-tracked="{"true" if tracked else "false"}" hidden>'
        '<p class="chapter-progress__score" data-chapter-score></p>'
        '<button type="button" class="md-button" data-read-toggle aria-pressed="false"></button>'
        f'<a class="chapter-progress__link" data-progress-link href="{link}"></a>'
        "</aside>\n"
    )
    if REFERENCES_HEADING in html:
        return html.replace(REFERENCES_HEADING, panel + REFERENCES_HEADING, 1)
    return html + panel
