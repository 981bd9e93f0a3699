"""Each figure's image opens at full size when tapped.

Figures scale to the text column, so on a 390 px phone their smallest labels are
about 7 px. Wrapping the image in a link to its own SVG lets the reader open it
alone and zoom. Applies to every ``<figure>`` whose image is an SVG and is not a
link already; the link's accessible name stays the image's alt text.
"""

from __future__ import annotations

import re

FIGURE = re.compile(r"<figure>.*?</figure>", re.S)
IMAGE = re.compile(r'<img [^>]*src="(?P<src>[^"]+\.svg)"[^>]*>')
TITLES = {"ja": "図を拡大して開く", "en": "Open the figure at full size"}


def _link_image(figure: str, title: str) -> str:
    image = IMAGE.search(figure)
    if not image or "<a " in figure[: image.start()]:
        return figure
    link = f'<a class="figure-zoom" href="{image["src"]}" title="{title}">{image[0]}</a>'
    return figure[: image.start()] + link + figure[image.end() :]


def on_page_content(html, page, config, files, **kwargs):
    title = TITLES.get(getattr(page.file, "locale", None) or "ja", TITLES["en"])
    return FIGURE.sub(lambda match: _link_image(match[0], title), html)
