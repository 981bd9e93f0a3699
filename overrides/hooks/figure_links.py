"""Each figure's image is laid out at its declared size and opens full screen when tapped.

- The ``<img>`` of every SVG figure gets the ``width`` and ``height`` its file
  declares (``_svg.read``; figure_files.py makes them mandatory). The page then
  reserves the figure's box before the file loads, scales it down to the column
  on a phone, and never upscales it past its design width on a desktop, whatever
  wraps the image.
- The image is wrapped in a link to its own SVG. With JavaScript,
  ``assets/javascripts/figure-zoom.js`` opens it in a dialog that fits the screen
  and can be pinch-zoomed, and closing it returns to the same place; without
  JavaScript the link opens the bare file. The page's meta gets ``figures`` so
  that only pages with figures load the script.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

import _svg  # beside this file; MkDocs puts the hook's folder on sys.path

FIGURE = re.compile(r"<figure>.*?</figure>", re.S)
IMAGE = re.compile(r'<img [^>]*src="(?P<src>[^"]+\.svg)"[^>]*>')
TITLES = {"ja": "図を拡大して開く", "en": "Open the figure at full size"}


def _figure_file(src: str, page, docs_dir: Path) -> Path | None:
    """The SVG behind ``src`` as seen from ``page``: the page's language version first.

    ``src`` is relative to the page's URL (``../assets/…`` from ``kvm/``, ``../../assets/…``
    from ``en/kvm/``); the English build serves ``docs/assets`` under ``en/assets``.
    """
    target = posixpath.normpath(posixpath.join(page.url or "", src))
    locale = getattr(page.file, "locale", None) or "ja"
    if target.startswith(f"{locale}/"):
        target = target[len(locale) + 1 :]
    stem, _ = posixpath.splitext(target)
    for candidate in (f"{stem}.{locale}.svg", target):
        path = docs_dir / candidate
        if path.is_file():
            return path
    return None


def _sized(image: str, path: Path | None) -> str:
    if path is None or re.search(r"\swidth=", image):
        return image
    figure = _svg.read(path)
    return image.replace("<img ", f'<img width="{figure.width:g}" height="{figure.height:g}" ', 1)


def _link_image(figure: str, title: str, page, docs_dir: Path) -> str:
    image = IMAGE.search(figure)
    if not image:
        return figure
    sized = _sized(image[0], _figure_file(image["src"], page, docs_dir))
    if "<a " in figure[: image.start()]:
        return figure[: image.start()] + sized + figure[image.end() :]
    page.meta["figures"] = True
    link = f'<a class="figure-zoom" href="{image["src"]}" title="{title}">{sized}</a>'
    return figure[: image.start()] + link + figure[image.end() :]


def on_page_content(html, page, config, files, **kwargs):
    """Size and link every SVG figure of the page."""
    title = TITLES.get(getattr(page.file, "locale", None) or "ja", TITLES["en"])
    docs_dir = Path(config.docs_dir)
    return FIGURE.sub(lambda match: _link_image(match[0], title, page, docs_dir), html)
