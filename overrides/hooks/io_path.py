"""The I/O path widget (docs/_data/io-path.yml): follow one packet along five I/O paths.

- ``<!-- io-path -->`` on a line of its own (not indented; one inside a code fence
  is left alone) becomes the widget: a static table of every path with its hops,
  what each hop costs (VM exit, copy, host user/kernel switch) and the totals, then
  a table comparing the totals, so that the page reads well without JavaScript.
  ``assets/javascripts/widgets/io-path.js`` turns the widget into a step-through
  (pick a path, step, back, reset, counters, a comparison of the five totals).
- The plumbing (marker, page meta, root element, strings in
  ``docs/_data/io-path.strings.yml``) is ``_widget.Widget``'s.
- The data is validated when the build starts, used or not: a bad file stops the
  build with ``io-path.yml:LINE: field: what is wrong``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

import _widget  # beside this file (MkDocs puts the hook's folder on sys.path)
from _widget import Id, Localized, Model
from _widget import escape as _e

WIDGET = _widget.Widget("io-path", "io path")

# The five paths the chapter compares, in this order (the data must have each once).
PATH_IDS = ("emulation", "virtio", "vhost", "vfio", "sriov")
COUNTERS = ("exits", "copies", "switches")  # summed from the hops' exit, copy, switch

# --- the data -------------------------------------------------------------------------


class Hop(Model):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    where: Localized
    side: Literal["guest", "host-kernel", "host-user", "device"]
    exit: bool = Field(default=False, description="reaching this hop is a VM exit")
    copied: bool = Field(default=False, alias="copy", description="the CPU copies the packet's data here")
    switch: bool = Field(default=False, description="crossing between host user space and the host kernel")
    explain: Localized


class IoPath(Model):
    id: Id
    name: Localized
    summary: Localized
    hops: list[Hop] = Field(min_length=2)

    def totals(self) -> dict[str, int]:
        return {
            "exits": sum(hop.exit for hop in self.hops),
            "copies": sum(hop.copied for hop in self.hops),
            "switches": sum(hop.switch for hop in self.hops),
        }


class IoPaths(Model):
    paths: list[IoPath] = Field(min_length=1)




def _path_problems(data: IoPaths):
    """Yield (location, message): unknown, repeated, missing or misordered path ids."""
    known = ", ".join(PATH_IDS)
    seen = []
    for index, path in enumerate(data.paths):
        if path.id not in PATH_IDS:
            yield ("paths", index, "id"), f"unknown path '{path.id}' (paths: {known})"
        elif path.id in seen:
            yield ("paths", index, "id"), f"path '{path.id}' is listed twice"
        else:
            seen.append(path.id)
    missing = [i for i in PATH_IDS if i not in seen]
    if missing:
        yield ("paths",), f"missing path: {', '.join(missing)} (paths: {known})"
    elif seen != list(PATH_IDS):
        yield ("paths",), f"paths out of order: expected {known}"


# --- rendering ---------------------------------------------------------------------------


def render(data: IoPaths, language: str, uid: str) -> str:
    """The widget's HTML: one raw block (no blank lines) that Markdown leaves alone."""
    strings = WIDGET.words(language)
    flag = {True: strings["flag.yes"], False: strings["flag.no"]}
    labels = [strings[f"column.{c}"] for c in COUNTERS]

    def cells(values, total=False):
        out = []
        for counter, label, value in zip(COUNTERS, labels, values):
            text = str(value) if total else flag[value]
            mark = "" if total else f' data-on="{str(value).lower()}"'
            out.append(f'<td data-column="{counter}" data-label="{_e(label)}"{mark}>{_e(text)}</td>')
        return "".join(out)

    head = (
        f'<thead><tr><th scope="col">{_e(strings["number"])}</th><th scope="col">{_e(strings["where"])}</th>'
        f'<th scope="col">{_e(strings["explain"])}</th>'
        + "".join(f'<th scope="col">{_e(label)}</th>' for label in labels)
        + "</tr></thead>"
    )
    bodies = []
    for path in data.paths:
        name = _e(path.name.pick(language))
        rows = [
            f'<tr class="io-path__group"><th colspan="6" scope="rowgroup" id="{uid}-{path.id}">{name}'
            f'<span class="io-path__summary">{_e(path.summary.pick(language))}</span></th></tr>'
        ]
        for number, hop in enumerate(path.hops, start=1):
            side = _e(strings[f"side.{hop.side}"])
            rows.append(
                f'<tr data-row="{number}" data-side="{hop.side}"><td data-label="{_e(strings["number"])}">{number}</td>'
                f'<th scope="row">{_e(hop.where.pick(language))}'
                f'<span class="io-path__side">{side}</span></th>'
                f'<td data-label="{_e(strings["explain"])}">{_e(hop.explain.pick(language))}</td>'
                + cells((hop.exit, hop.copied, hop.switch))
                + "</tr>"
            )
        totals = path.totals()
        rows.append(
            f'<tr class="io-path__total" data-total><td></td><th scope="row" colspan="2">{_e(strings["total"])}</th>'
            + cells([totals[c] for c in COUNTERS], total=True)
            + "</tr>"
        )
        bodies.append(f'<tbody data-path-table="{path.id}">{"".join(rows)}</tbody>')

    compare_rows = "".join(
        f'<tr data-row-path="{path.id}"><th scope="row">{_e(path.name.pick(language))}</th>'
        + cells([path.totals()[c] for c in COUNTERS], total=True)
        + "</tr>"
        for path in data.paths
    )
    compare = (
        f'<table class="widget__table io-path__compare-table" data-compare-static>'
        f'<caption id="{uid}-compare-caption">{_e(strings["compare"])}</caption>'
        f'<thead><tr><th scope="col">{_e(strings["path"])}</th>'
        + "".join(f'<th scope="col">{_e(label)}</th>' for label in labels)
        + f"</tr></thead><tbody>{compare_rows}</tbody></table>"
    )

    static = "\n".join([
        f'<p class="io-path__intro">{_e(strings["tableIntro"])}</p>',
        f'<div class="widget__table-wrap" role="region" tabindex="0" aria-labelledby="{uid}-caption">',
        f'<table class="widget__table widget__cards io-path__hops-table">'
        f'<caption id="{uid}-caption">{_e(strings["caption"])}</caption>',
        head,
        "".join(bodies),
        "</table>",
        "</div>",
        f'<div class="widget__table-wrap" role="region" tabindex="0" aria-labelledby="{uid}-compare-caption">',
        compare,
        "</div>",
        f'<p class="io-path__note">{_e(strings["tableNote"])}</p>',
    ])
    return WIDGET.html(uid, language, static, _script_data(data, language))


def _script_data(data: IoPaths, language: str) -> dict:
    def text(value: Localized):
        return value.pick(language)

    return {
        "paths": [
            {
                "id": path.id,
                "name": text(path.name),
                "summary": text(path.summary),
                "hops": [
                    {
                        "where": text(hop.where),
                        "side": hop.side,
                        "exit": hop.exit,
                        "copy": hop.copied,
                        "switch": hop.switch,
                        "explain": text(hop.explain),
                    }
                    for hop in path.hops
                ],
            }
            for path in data.paths
        ],
    }


on_config, on_page_markdown, on_post_build = WIDGET.hooks(render, "io-path.yml", IoPaths, _path_problems)
