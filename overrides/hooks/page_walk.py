"""The page-walk widget (docs/_data/page-walk.yml): count the memory references of a page walk.

- ``<!-- page-walk -->`` on a line of its own (not indented; one inside a code
  fence is left alone) becomes the widget: a static explanation of the formula
  (n+1)(m+1)−1 and a table of the counts for every combination, so that the page
  reads well without JavaScript. The texts the script needs are embedded, in the
  page's language, as ``<script type="application/json" data-page-walk-data>``;
  ``assets/javascripts/widgets/page-walk.js`` turns the widget into the stepper
  (settings, a grid of numbered references, step/back/run/reset).
- The page gets ``"page-walk"`` in ``page.meta["widgets"]``, which makes
  ``overrides/main.html`` load the widget's CSS and JS on that page only.
- The data is validated when the build starts, used or not: a bad file stops the
  build with ``page-walk.yml:LINE: field: what is wrong``.
- The counts never include the final data access (「最終的なデータアクセスを除く」).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Annotated

from mkdocs.exceptions import PluginError
from pydantic import BaseModel, ConfigDict, StringConstraints

import _widget  # beside this file: shared widget plumbing
import _yaml_data  # beside this file; MkDocs puts the hook's folder on sys.path

NAME = "page-walk"

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]

# Page sizes and how many levels each removes from a walk (guest and nested alike).
PAGE_SIZES = (("4k", "4 KiB", 0), ("2m", "2 MiB", 1), ("1g", "1 GiB", 2))
LEVELS = (4, 5)

STRINGS = {
    "ja": {
        "caption": "入れ子のページングでの参照回数（TLBミス、最終的なデータアクセスを除く）",
        "guest": "ゲストn",
        "nested": "ネステッドm",
        "page": "{size}",
        "native": "ネイティブ・シャドウのときは、4 KiBのページでn回（4段なら4回、5段なら5回）、"
                  "2 MiBでn−1回、1 GiBでn−2回です。TLBに当たれば、どの方式でも0回です。",
        "unit": "{count}回",
    },
    "en": {
        "caption": "References with nested paging (TLB miss, final data access not counted)",
        "guest": "Guest n",
        "nested": "Nested m",
        "page": "{size}",
        "native": "Natively and with shadow paging a walk costs n references with 4 KiB pages "
                  "(4 for 4 levels, 5 for 5), n−1 with 2 MiB pages and n−2 with 1 GiB pages. "
                  "A TLB hit costs 0 in every mode.",
        "unit": "{count}",
    },
}


# --- the data -------------------------------------------------------------------------


class Localized(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ja: Text
    en: Text


class Mode(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: Localized
    explain: Localized


class Modes(BaseModel):
    model_config = ConfigDict(extra="forbid")
    native: Mode
    shadow: Mode
    nested: Mode


class PageWalk(BaseModel):
    model_config = ConfigDict(extra="forbid")
    intro: Localized
    formula: Localized
    modes: Modes
    large_pages: Localized
    tlb: Localized
    final_access: Localized


def load(text: str, source: str) -> PageWalk:
    return _yaml_data.load(text, PageWalk, source=source)


def references(mode: str, guest: int, nested: int, page: str = "4k", tlb_hit: bool = False) -> int:
    """The page walk's memory references, final data access not counted."""
    if tlb_hit:
        return 0
    fewer = {key: drop for key, _, drop in PAGE_SIZES}[page]
    n, m = guest - fewer, nested - fewer
    return (n + 1) * (m + 1) - 1 if mode == "nested" else n


_data: PageWalk | None = None


# --- hook events ------------------------------------------------------------------------


def on_config(config):
    """Load and validate the widget's texts."""
    global _data
    path = Path(config.docs_dir) / "_data" / "page-walk.yml"
    try:
        _data = load(path.read_text(encoding="utf-8"), str(path))
    except OSError as error:
        raise PluginError(f"page walk: {path}: {error.strerror}") from None
    except _yaml_data.DataError as error:
        raise PluginError(f"page walk: {error}") from None
    return config


def on_page_markdown(markdown, page, **kwargs):
    """Expand the marker into the widget; list the widget in the page's meta."""
    return _widget.expand_marker(markdown, page, NAME, lambda language, uid: render(_data, language, uid))


# --- rendering ---------------------------------------------------------------------------


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def render(data: PageWalk, language: str, uid: str) -> str:
    """The widget's HTML: one raw block (no blank lines) that Markdown leaves alone."""
    strings = STRINGS.get(language, STRINGS["en"])

    def text(value: Localized) -> str:
        return getattr(value, language, None) or value.en

    head = "".join(
        f'<th scope="col" data-page-size="{key}">{_e(strings["page"].format(size=label))}</th>'
        for key, label, _ in PAGE_SIZES
    )
    rows = []
    for guest in LEVELS:
        for nested in LEVELS:
            cells = "".join(
                f'<td data-page-size="{key}" data-label="{_e(strings["page"].format(size=label))}">'
                f'{_e(strings["unit"].format(count=references("nested", guest, nested, key)))}</td>'
                for key, label, _ in PAGE_SIZES
            )
            rows.append(
                f'<tr data-guest="{guest}" data-nested="{nested}">'
                f'<th scope="row" data-label="{_e(strings["guest"])}">{guest}</th>'
                f'<td data-label="{_e(strings["nested"])}">{nested}</td>{cells}</tr>'
            )
    modes = "".join(
        f'<dt data-mode="{key}">{_e(text(mode.label))}</dt><dd>{_formula_html(text(mode.explain))}</dd>'
        for key, mode in data.modes
    )
    payload = _widget.script_json(_script_data(data, language))
    return "\n".join([
        f'<div class="page-walk" data-widget="{NAME}" id="{uid}" lang="{language}">',
        f'<p class="page-walk__intro">{_e(text(data.intro))}</p>',
        '<div class="page-walk__static" data-static>',
        f'<p class="page-walk__formula">{_formula_html(text(data.formula))}</p>',
        f'<p>{_e(text(data.final_access))}</p>',
        f'<div class="page-walk__table-wrap" role="region" tabindex="0" aria-labelledby="{uid}-caption">',
        f'<table class="page-walk__table"><caption id="{uid}-caption">{_e(strings["caption"])}</caption>',
        f'<thead><tr><th scope="col">{_e(strings["guest"])}</th><th scope="col">{_e(strings["nested"])}</th>{head}</tr></thead>',
        f'<tbody>{"".join(rows)}</tbody></table>',
        "</div>",
        f'<p>{_e(strings["native"])}</p>',
        f'<dl class="page-walk__modes">{modes}</dl>',
        f'<p>{_e(text(data.large_pages))}</p>',
        f'<p>{_e(text(data.tlb))}</p>',
        "</div>",
        f'<script type="application/json" data-page-walk-data>{payload}</script>',
        "</div>",
    ])


def _formula_html(text: str) -> str:
    """Escaped text whose formulas do not break across lines."""
    escaped = _e(text)
    for formula in ("(n+1)(m+1)−1", "(n+1)m+n"):
        escaped = escaped.replace(formula, f'<span class="page-walk__nowrap">{formula}</span>')
    return escaped


def _script_data(data: PageWalk, language: str) -> dict:
    def text(value: Localized) -> str:
        return getattr(value, language, None) or value.en

    return {
        "lang": language,
        "formula": text(data.formula),
        "modes": {key: {"label": text(mode.label), "explain": text(mode.explain)} for key, mode in data.modes},
        "largePages": text(data.large_pages),
        "tlb": text(data.tlb),
        "finalAccess": text(data.final_access),
    }


