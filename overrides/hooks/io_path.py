"""The I/O path widget (docs/_data/io-path.yml): follow one packet along five I/O paths.

- ``<!-- io-path -->`` on a line of its own (not indented; one inside a code fence
  is left alone) becomes the widget: a static table of every path with its hops,
  what each hop costs (VM exit, copy, host user/kernel switch) and the totals, then
  a table comparing the totals, so that the page reads well without JavaScript.
  The data the script needs is embedded, in the page's language, as
  ``<script type="application/json" data-io-path-data>``;
  ``assets/javascripts/widgets/io-path.js`` turns the widget into a step-through
  (pick a path, step, back, reset, counters, a comparison of the five totals).
- The page gets ``"io-path"`` in ``page.meta["widgets"]``, which makes
  ``overrides/main.html`` load the widget's CSS and JS on that page only.
- The data is validated when the build starts, used or not: a bad file stops the
  build with ``io-path.yml:LINE: field: what is wrong``.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Annotated, Literal

from mkdocs.exceptions import PluginError
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

import _widget  # beside this file: shared widget plumbing
import _yaml_data  # beside this file; MkDocs puts the hook's folder on sys.path

NAME = "io-path"

# The five paths the chapter compares, in this order (the data must have each once).
PATH_IDS = ("emulation", "virtio", "vhost", "vfio", "sriov")
COUNTERS = ("exits", "copies", "switches")  # summed from the hops' exit, copy, switch

Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]

STRINGS = {
    "ja": {
        "intro": "ゲストが送る1つのネットワークパケットを、5つの経路でたどります。"
                 "各経路の表は、パケットや制御が通る場所を順に並べ、それぞれでVM exit・データのコピー・"
                 "ホストのユーザー空間とカーネルの切り替えが起きるかを示します。",
        "caption": "経路ごとの道のり",
        "number": "順番",
        "where": "場所",
        "explain": "説明",
        "exits": "VM exit",
        "copies": "コピー",
        "switches": "切り替え",
        "yes": "あり",
        "no": "なし",
        "total": "合計",
        "compare_caption": "5つの経路の合計",
        "path": "経路",
        "note": "数は、1つのパケットを送るときの最小限の流れを、この表の数え方で数えたものです。"
                "ゲストの中のコピー、デバイスのDMA、送信完了の割り込みは数えていません。"
                "実際の数は、ドライバーやQEMU・カーネルの版、まとめて送るかどうか、割り込みの扱いで変わります。",
        "sides": {"guest": "ゲスト", "host-kernel": "ホストのカーネル",
                  "host-user": "ホストのユーザー空間", "device": "デバイス"},
    },
    "en": {
        "intro": "Follow one network packet sent by the guest along five paths. "
                 "Each path's table lists, in order, the places the packet or the control goes through, "
                 "and whether each causes a VM exit, a copy of the data, or a switch between "
                 "host user space and the host kernel.",
        "caption": "Each path, hop by hop",
        "number": "Step",
        "where": "Where",
        "explain": "What happens",
        "exits": "VM exit",
        "copies": "Copy",
        "switches": "Switch",
        "yes": "yes",
        "no": "no",
        "total": "Total",
        "compare_caption": "The five paths' totals",
        "path": "Path",
        "note": "The numbers count the minimal flow for sending one packet, the way this table counts. "
                "Copies inside the guest, DMA by a device and the transmit-complete interrupt are not counted. "
                "Real numbers vary with the driver, the QEMU and kernel versions, batching and interrupt handling.",
        "sides": {"guest": "Guest", "host-kernel": "Host kernel",
                  "host-user": "Host user space", "device": "Device"},
    },
}


# --- the data -------------------------------------------------------------------------


class Localized(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ja: Text
    en: Text


class Hop(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    where: Localized
    side: Literal["guest", "host-kernel", "host-user", "device"]
    exit: bool = Field(default=False, description="reaching this hop is a VM exit")
    copied: bool = Field(default=False, alias="copy", description="the CPU copies the packet's data here")
    switch: bool = Field(default=False, description="crossing between host user space and the host kernel")
    explain: Localized


class IoPath(BaseModel):
    model_config = ConfigDict(extra="forbid")
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


class IoPaths(BaseModel):
    model_config = ConfigDict(extra="forbid")
    paths: list[IoPath] = Field(min_length=1)


def load(text: str, source: str) -> IoPaths:
    """Validate the shape with pydantic, then the path ids, each with its line."""
    data = _yaml_data.load(text, IoPaths, source=source)
    _yaml_data.raise_problems(text, source, _path_problems(data))
    return data


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


_data: IoPaths | None = None


# --- hook events ------------------------------------------------------------------------


def on_config(config):
    """Load and validate the paths."""
    global _data
    path = Path(config.docs_dir) / "_data" / "io-path.yml"
    try:
        _data = load(path.read_text(encoding="utf-8"), str(path))
    except OSError as error:
        raise PluginError(f"io path: {path}: {error.strerror}") from None
    except _yaml_data.DataError as error:
        raise PluginError(f"io path: {error}") from None
    return config


def on_page_markdown(markdown, page, **kwargs):
    """Expand the marker into the widget; list the widget in the page's meta."""
    return _widget.expand_marker(markdown, page, NAME, lambda language, uid: render(_data, language, uid))


# --- rendering ---------------------------------------------------------------------------


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def render(data: IoPaths, language: str, uid: str) -> str:
    """The widget's HTML: one raw block (no blank lines) that Markdown leaves alone."""
    strings = STRINGS.get(language, STRINGS["en"])
    flag = {True: strings["yes"], False: strings["no"]}
    labels = [strings[c] for c in COUNTERS]

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
        name = _e(getattr(path.name, language))
        rows = [
            f'<tr class="io-path__group"><th colspan="6" scope="rowgroup" id="{uid}-{path.id}">{name}'
            f'<span class="io-path__summary">{_e(getattr(path.summary, language))}</span></th></tr>'
        ]
        for number, hop in enumerate(path.hops, start=1):
            side = _e(strings["sides"][hop.side])
            rows.append(
                f'<tr data-row="{number}" data-side="{hop.side}"><td data-label="{_e(strings["number"])}">{number}</td>'
                f'<th scope="row">{_e(getattr(hop.where, language))}'
                f'<span class="io-path__side">{side}</span></th>'
                f'<td data-label="{_e(strings["explain"])}">{_e(getattr(hop.explain, language))}</td>'
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
        f'<tr data-row-path="{path.id}"><th scope="row">{_e(getattr(path.name, language))}</th>'
        + cells([path.totals()[c] for c in COUNTERS], total=True)
        + "</tr>"
        for path in data.paths
    )
    compare = (
        f'<table class="io-path__table io-path__compare-table" data-compare-static>'
        f'<caption id="{uid}-compare-caption">{_e(strings["compare_caption"])}</caption>'
        f'<thead><tr><th scope="col">{_e(strings["path"])}</th>'
        + "".join(f'<th scope="col">{_e(label)}</th>' for label in labels)
        + f"</tr></thead><tbody>{compare_rows}</tbody></table>"
    )

    script = _widget.script_json(_script_data(data, language))
    return "\n".join([
        f'<div class="io-path" data-widget="{NAME}" id="{uid}" lang="{language}">',
        '<div class="io-path__static" data-static>',
        f'<p class="io-path__intro">{_e(strings["intro"])}</p>',
        f'<div class="io-path__table-wrap" role="region" tabindex="0" aria-labelledby="{uid}-caption">',
        f'<table class="io-path__table io-path__hops-table"><caption id="{uid}-caption">{_e(strings["caption"])}</caption>',
        head,
        "".join(bodies),
        "</table>",
        "</div>",
        f'<div class="io-path__table-wrap" role="region" tabindex="0" aria-labelledby="{uid}-compare-caption">',
        compare,
        "</div>",
        f'<p class="io-path__note">{_e(strings["note"])}</p>',
        "</div>",
        f'<script type="application/json" data-io-path-data>{script}</script>',
        "</div>",
    ])


def _script_data(data: IoPaths, language: str) -> dict:
    def text(value: Localized):
        return getattr(value, language)

    return {
        "lang": language,
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


