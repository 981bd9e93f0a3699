"""Give every code listing its line count, so the page can skip drawing it until it is near.

A lab page carries 400–700 lines of highlighted code (one element per token, about
5,000 on /labs/kvm-paging/). Styling and laying them all out at load was most of the
page's main-thread work: drawing them only when near cut it from 2.98 to 2.04 s at a 4x
slower CPU, and Lighthouse's blocking time from 580 to 345 ms (medians of five). extra.css
gives each listing ``content-visibility: auto`` and, as its size before it is drawn,
the height of ``--code-lines`` lines, so the scroll bar and links into the page stay
where they will be once it is drawn.

Material's code-block component measures each listing to see whether it scrolls sideways,
which lays the listing out: on /labs/kvm-hello/ that made Material's start-up task about
300 ms long at a 4x slower CPU. With ``content.lazy`` (mkdocs.yml) Material mounts a
listing only when it comes into view (about 100 ms). Material gives a listing that scrolls
``tabindex="0"`` when it mounts it, so that keyboard users can scroll it; a listing not yet
in view would have none, and Tab would pass it by. So every listing starts with
``tabindex="0"``, and Material removes it on mounting from those that do not scroll;
assets/javascripts/code-focus.js keeps the focus on a listing Tab has just reached.
"""

from __future__ import annotations

import re

# pymdownx.highlight: <div class="language-x highlight"><pre>…<code>…</code></pre></div>
LISTING = re.compile(
    r'(?P<div><div class="(?:[\w-]+ )*highlight")>(?P<head>(?:(?!</pre>).)*?)<code>(?P<code>.*?)</code>',
    re.S,
)


def _with_lines(match: re.Match) -> str:
    lines = match["code"].rstrip("\n").count("\n") + 1
    return (f'{match["div"]} style="--code-lines: {lines}">{match["head"]}'
            f'<code tabindex="0">{match["code"]}</code>')


def on_page_content(html: str, page, **kwargs) -> str:
    html, listings = LISTING.subn(_with_lines, html)
    if listings:
        page.meta["code_listings"] = True  # overrides/main.html loads code-focus.js
    return html
