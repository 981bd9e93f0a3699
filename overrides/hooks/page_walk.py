"""The page-walk widget (docs/_data/page-walk.yml): count the memory references of a page walk.

- ``<!-- page-walk -->`` on a line of its own (not indented; one inside a code
  fence is left alone) becomes the widget: a static explanation of the formula
  (n+1)(m+1)−1 and a table of the counts for every combination, so that the page
  reads well without JavaScript. ``assets/javascripts/widgets/page-walk.js`` turns
  the widget into the stepper (settings, a grid of numbered references,
  step/back/run/reset).
- The plumbing (marker, page meta, root element, strings in
  ``docs/_data/page-walk.strings.yml``) is ``_widget.Widget``'s.
- The data is validated when the build starts, used or not: a bad file stops the
  build with ``page-walk.yml:LINE: field: what is wrong``.
- The counts never include the final data access (「最終的なデータアクセスを除く」).
- ``lab_walks`` (optional) are walks that the kvm-paging lab (docs/labs/kvm_paging.py)
  recorded: the widget offers them as presets and annotates each guest-table read with
  the entry the lab found; without JavaScript they are a static table. Each walk is
  checked here (levels for its page size, indices taken from its GVA) and against the
  lab's own output in tests/test_lab_kvm_paging.py.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

import _widget  # beside this file (MkDocs puts the hook's folder on sys.path)
from _widget import Localized, Model
from _widget import escape as _e

WIDGET = _widget.Widget("page-walk", "page walk")

# Page sizes and how many levels each removes from a walk (guest and nested alike).
PAGE_SIZES = (("4k", "4 KiB", 0), ("2m", "2 MiB", 1), ("1g", "1 GiB", 2))
LEVELS = (4, 5)

# --- the data -------------------------------------------------------------------------


class Mode(Model):
    label: Localized
    explain: Localized


class Modes(Model):
    native: Mode
    shadow: Mode
    nested: Mode


Hex = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-f]+$")]
TABLES = ("PML4", "PDPT", "PD", "PT")
SHIFTS = {"PML4": 39, "PDPT": 30, "PD": 21, "PT": 12}


class LabStep(Model):
    table: Literal["PML4", "PDPT", "PD", "PT"]
    index: Annotated[int, Field(ge=0, le=511)]
    entry_gpa: Hex
    entry: Hex


class LabWalk(Model):
    """One walk the lab printed: a GVA, the guest entries read on the way, the GPA."""

    gva: Hex
    page: Literal["4k", "2m", "1g"]
    steps: list[LabStep]
    gpa: Hex

    @model_validator(mode="after")
    def _walk_fits_the_page_size(self):
        fewer = {key: drop for key, _, drop in PAGE_SIZES}[self.page]
        tables = TABLES[: len(TABLES) - fewer]
        if [step.table for step in self.steps] != list(tables):
            raise ValueError(f"a {self.page} page is reached through {', '.join(tables)}")
        gva = int(self.gva, 16)
        for step in self.steps:
            if step.index != (gva >> SHIFTS[step.table]) & 0x1FF:
                raise ValueError(f"{step.table} index {step.index} is not the one in GVA {self.gva}")
        return self


class LabWalks(Model):
    intro: Localized
    walks: list[LabWalk]


class PageWalk(Model):
    intro: Localized
    formula: Localized
    modes: Modes
    large_pages: Localized
    tlb: Localized
    final_access: Localized
    lab_walks: LabWalks | None = None




def references(mode: str, guest: int, nested: int, page: str = "4k", tlb_hit: bool = False) -> int:
    """The page walk's memory references, final data access not counted."""
    if tlb_hit:
        return 0
    fewer = {key: drop for key, _, drop in PAGE_SIZES}[page]
    n, m = guest - fewer, nested - fewer
    return (n + 1) * (m + 1) - 1 if mode == "nested" else n


# --- rendering ---------------------------------------------------------------------------


def render(data: PageWalk, language: str, uid: str) -> str:
    """The widget's HTML: one raw block (no blank lines) that Markdown leaves alone."""
    strings = WIDGET.words(language)

    def text(value: Localized) -> str:
        return value.pick(language)

    head = "".join(f'<th scope="col" data-page-size="{key}">{_e(label)}</th>' for key, label, _ in PAGE_SIZES)
    rows = []
    for guest in LEVELS:
        for nested in LEVELS:
            cells = "".join(
                f'<td data-page-size="{key}" data-label="{_e(label)}">'
                f'{_e(_widget.fmt(strings["times"], count=references("nested", guest, nested, key)))}</td>'
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
    static = "\n".join([
        f'<p class="page-walk__formula">{_formula_html(text(data.formula))}</p>',
        f'<p>{_e(text(data.final_access))}</p>',
        f'<div class="widget__table-wrap" role="region" tabindex="0" aria-labelledby="{uid}-caption">',
        f'<table class="widget__table page-walk__table"><caption id="{uid}-caption">{_e(strings["caption"])}</caption>',
        f'<thead><tr><th scope="col">{_e(strings["guest"])}</th><th scope="col">{_e(strings["nested"])}</th>{head}</tr></thead>',
        f'<tbody>{"".join(rows)}</tbody></table>',
        "</div>",
        f'<p>{_e(strings["native"])}</p>',
        f'<dl class="page-walk__modes">{modes}</dl>',
        f'<p>{_e(text(data.large_pages))}</p>',
        f'<p>{_e(text(data.tlb))}</p>',
        _lab_tables(data, language, strings),
    ])
    intro = f'<p class="page-walk__intro">{_e(text(data.intro))}</p>'
    return WIDGET.html(uid, language, static, _script_data(data, language), before=intro)


def _lab_tables(data: PageWalk, language: str, strings: dict) -> str:
    """The lab's recorded walks as static tables (shown without JavaScript)."""
    if data.lab_walks is None:
        return ""
    sizes = {key: label for key, label, _ in PAGE_SIZES}
    names = ("labTable", "labIndex", "labEntryGpa", "labEntryValue")
    head = "".join(f'<th scope="col">{_e(strings[name])}</th>' for name in names)
    parts = [f'<p>{_e(data.lab_walks.intro.pick(language))}</p>']
    for walk in data.lab_walks.walks:
        rows = "".join(
            f"<tr><th scope=\"row\">{step.table}</th><td>{step.index}</td><td><code>{step.entry_gpa}</code></td>"
            f"<td><code>{step.entry}</code></td></tr>"
            for step in walk.steps
        )
        caption = _widget.fmt(strings["labCaption"], gva=walk.gva, size=sizes[walk.page])
        parts.append(
            f'<div class="widget__table-wrap" role="region" tabindex="0" aria-label="{_e(caption)}">'
            f'<table class="widget__table page-walk__table" data-lab-walk="{walk.gva}"><caption>{_e(caption)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
            f'<p class="page-walk__lab-gpa">{_e(_widget.fmt(strings["labGpa"], gpa=walk.gpa))}</p></div>'
        )
    return "".join(parts)


def _formula_html(text: str) -> str:
    """Escaped text whose formulas do not break across lines."""
    escaped = _e(text)
    for formula in ("(n+1)(m+1)−1", "(n+1)m+n"):
        escaped = escaped.replace(formula, f'<span class="page-walk__nowrap">{formula}</span>')
    return escaped


def _script_data(data: PageWalk, language: str) -> dict:
    def text(value: Localized) -> str:
        return value.pick(language)

    return {
        "modes": {key: {"label": text(mode.label), "explain": text(mode.explain)} for key, mode in data.modes},
        "largePages": text(data.large_pages),
        "tlb": text(data.tlb),
        "labWalks": [] if data.lab_walks is None else [
            {"gva": walk.gva, "page": walk.page, "gpa": walk.gpa,
             "steps": [step.model_dump() for step in walk.steps]}
            for walk in data.lab_walks.walks
        ],
    }


on_config, on_page_markdown, on_post_build = WIDGET.hooks(render, "page-walk.yml", PageWalk)
