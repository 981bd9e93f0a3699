"""The trap-and-emulate stepper (docs/_data/trap-and-emulate.yml): step guest kernel code under three strategies.

- ``<!-- trap-and-emulate -->`` on a line of its own (not indented; one inside a
  code fence is left alone) becomes the widget: the strategies, a static table of
  every instruction under every strategy (what enters the VMM, whether the guest
  still sees real-hardware behaviour, the totals), and each instruction's full
  explanation in a ``<details>``, so that the page reads well without JavaScript.
  The data the script needs is embedded, in the page's language, as
  ``<script type="application/json" data-trap-and-emulate-data>``;
  ``assets/javascripts/widgets/trap-and-emulate.js`` turns the widget into the
  stepper (choose a strategy; Step, Back, Reset; counters; the guest's state).
- The page gets ``"trap-and-emulate"`` in ``page.meta["widgets"]``, which makes
  ``overrides/main.html`` load the widget's CSS and JS on that page only.
- The data is validated when the build starts, used or not: a bad file stops the
  build with ``trap-and-emulate.yml:LINE: field: what is wrong``.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Annotated, Literal

from mkdocs.exceptions import PluginError
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

import _widget  # beside this file: shared widget plumbing
import _yaml_data  # beside this file; MkDocs puts the hook's folder on sys.path

NAME = "trap-and-emulate"

Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Event = Literal["trap", "vm-exit", "translated"]
Control = Literal["none", "trap", "vm-exit", "translated"]
Kind = Literal["ordinary", "privileged", "iopl", "sensitive"]

# Each kind of entry into the VMM and the counter (data-counter) that counts it.
COUNTERS = {"trap": "traps", "vm-exit": "exits", "translated": "translations"}

STRINGS = {
    "ja": {
        "intro": "ゲストOSのカーネルの短いコードを3つの方式で動かしたとき、何が起きるかを命令ごとの表にまとめました。"
                 "表の下の命令を開くと、CPUとVMMの動作と、ゲストから見た結果の説明が読めます。",
        "strategies": "3つの方式",
        "caption": "命令ごとの、VMMへの移行とゲストから見た結果",
        "line": "行",
        "instruction": "命令",
        "total": "合計",
        "line_n": "{n}行目",
        "kinds": {
            "ordinary": {"label": "一般の命令", "short": "一般"},
            "privileged": {"label": "特権命令", "short": "特権"},
            "iopl": {"label": "IOPLで保護される命令", "short": "IOPL"},
            "sensitive": {"label": "特権命令でないセンシティブ命令", "short": "センシティブ"},
        },
        "controls": {
            "none": "VMMへ移らない",
            "trap": "トラップ",
            "vm-exit": "VM exit",
            "translated": "VMMのコードに置き換え",
        },
        "counters": {"traps": "トラップ", "exits": "VM exit", "translations": "置き換えた命令"},
        "count": "{label}{n}回",
        "no_entry": "VMMへの移行なし",
        "guest": {"correct": "正しい", "wrong": "誤り（ゲストは気づきません）"},
        "guest_cell": {"correct": "ゲストから見て正しい", "wrong": "ゲストから見て誤り（気づきません）"},
        "fields": {
            "cpu": "CPUの動作",
            "control": "VMMへの移行",
            "vmm": "VMMの処理",
            "view": "ゲストから見た結果",
            "depends": "設定による違い",
        },
        "wrong_lines": "ゲストが誤る命令: {lines}",
        "join": "、",
        "paren": "（{}）",
    },
    "en": {
        "intro": "The table shows, instruction by instruction, what happens when a short piece of guest OS kernel "
                 "code runs under three strategies. Open an instruction below the table to read what the CPU and "
                 "the VMM do and what the guest sees.",
        "strategies": "The three strategies",
        "caption": "Per instruction: entry into the VMM, and what the guest sees",
        "line": "Line",
        "instruction": "Instruction",
        "total": "Total",
        "line_n": "Line {n}",
        "kinds": {
            "ordinary": {"label": "ordinary instruction", "short": "ordinary"},
            "privileged": {"label": "privileged instruction", "short": "privileged"},
            "iopl": {"label": "IOPL-protected instruction", "short": "IOPL"},
            "sensitive": {"label": "sensitive, not privileged", "short": "sensitive"},
        },
        "controls": {
            "none": "Stays in the guest",
            "trap": "Trap",
            "vm-exit": "VM exit",
            "translated": "Replaced by VMM code",
        },
        "counters": {"traps": "traps", "exits": "VM exits", "translations": "replaced instructions"},
        "count": "{n} {label}",
        "no_entry": "no entry into the VMM",
        "guest": {"correct": "correct", "wrong": "wrong (the guest does not notice)"},
        "guest_cell": {"correct": "correct for the guest", "wrong": "wrong for the guest (unnoticed)"},
        "fields": {
            "cpu": "What the CPU does",
            "control": "Entry into the VMM",
            "vmm": "What the VMM does",
            "view": "What the guest sees",
            "depends": "Depends on the configuration",
        },
        "wrong_lines": "The guest goes wrong at: {lines}",
        "join": ", ",
        "paren": " ({})",
    },
}


# --- the data -------------------------------------------------------------------------


class Localized(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ja: Text
    en: Text


class Strategy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: Id
    label: Localized
    about: Localized = Field(description="how the guest kernel runs")
    assumption: Localized | None = Field(default=None, description="the configuration this example assumes")
    events: list[Event] = Field(min_length=1, description="the kinds of VMM entry the strategy can produce")


class Cell(BaseModel):
    """One instruction under one strategy."""

    model_config = ConfigDict(extra="forbid")
    control: Control
    cpu: Localized
    vmm: Localized
    guest: Literal["correct", "wrong"]
    view: Localized
    depends: Localized | None = None


class Instruction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: Id
    code: Text
    comment: Localized
    kind: Kind
    cells: dict[Id, Cell]


class Program(BaseModel):
    model_config = ConfigDict(extra="forbid")
    program: Localized
    note: Localized | None = None
    strategies: list[Strategy] = Field(min_length=1)
    instructions: list[Instruction] = Field(min_length=1)


def load(text: str, source: str) -> Program:
    """Validate the shape with pydantic, then the cross-references, each with its line."""
    program = _yaml_data.load(text, Program, source=source)
    _yaml_data.raise_problems(text, source, _reference_problems(program))
    return program


def _reference_problems(program: Program):
    """Yield (location, message) for ids and controls that do not match up."""
    strategies = {}
    for index, strategy in enumerate(program.strategies):
        if strategy.id in strategies:
            yield ("strategies", index, "id"), f"strategy id '{strategy.id}' is used twice"
        strategies[strategy.id] = strategy
    known = ", ".join(strategies)
    seen = set()
    for index, instruction in enumerate(program.instructions):
        where = ("instructions", index)
        if instruction.id in seen:
            yield (*where, "id"), f"instruction id '{instruction.id}' is used twice"
        seen.add(instruction.id)
        for strategy_id in strategies:
            if strategy_id not in instruction.cells:
                yield (*where, "cells"), f"no cell for strategy '{strategy_id}'"
        for strategy_id, cell in instruction.cells.items():
            if strategy_id not in strategies:
                yield (*where, "cells", strategy_id), f"unknown strategy '{strategy_id}' (strategies: {known})"
                continue
            allowed = ["none", *strategies[strategy_id].events]
            if cell.control not in allowed:
                yield (
                    (*where, "cells", strategy_id, "control"),
                    f"'{cell.control}' cannot happen under '{strategy_id}' (its events: {', '.join(allowed)})",
                )


def totals(program: Program) -> dict[str, dict[str, int]]:
    """Per strategy: how many traps, VM exits and replaced instructions the whole program causes."""
    result = {}
    for strategy in program.strategies:
        counts = dict.fromkeys(COUNTERS.values(), 0)
        for instruction in program.instructions:
            control = instruction.cells[strategy.id].control
            if control in COUNTERS:
                counts[COUNTERS[control]] += 1
        result[strategy.id] = counts
    return result


_program: Program | None = None


# --- hook events ------------------------------------------------------------------------


def on_config(config):
    """Load and validate the stepper's data."""
    global _program
    path = Path(config.docs_dir) / "_data" / "trap-and-emulate.yml"
    try:
        _program = load(path.read_text(encoding="utf-8"), str(path))
    except OSError as error:
        raise PluginError(f"trap-and-emulate: {path}: {error.strerror}") from None
    except _yaml_data.DataError as error:
        raise PluginError(f"trap-and-emulate: {error}") from None
    return config


def on_page_markdown(markdown, page, **kwargs):
    """Expand the marker into the widget; list the widget in the page's meta."""
    return _widget.expand_marker(markdown, page, NAME, lambda language, uid: render(_program, language, uid))


# --- rendering ---------------------------------------------------------------------------


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _count_text(strings: dict, counts: dict[str, int], strategy: Strategy) -> str:
    """'トラップ4回' for the kinds of entry the strategy has; 'no entry' if none happened."""
    parts = []
    for event in strategy.events:
        name = COUNTERS[event]
        label = strings["counters"][name]
        if counts[name] == 1 and strings is STRINGS["en"]:
            label = label.removesuffix("s")  # "1 trap", "1 VM exit"
        parts.append(strings["count"].format(label=label, n=counts[name]))
    if not any(counts[COUNTERS[event]] for event in strategy.events):
        return strings["no_entry"]
    return strings["join"].join(parts)


def render(program: Program, language: str, uid: str) -> str:
    """The widget's HTML: one raw block (no blank lines) that Markdown leaves alone."""
    strings = STRINGS.get(language, STRINGS["en"])

    def t(value: Localized) -> str:
        return _e(getattr(value, language))

    strategies = program.strategies
    about = "".join(
        f'<dt data-strategy-about="{s.id}">{t(s.label)}</dt>'
        f"<dd><p>{t(s.about)}</p>" + (f"<p>{t(s.assumption)}</p>" if s.assumption else "") + "</dd>"
        for s in strategies
    )

    head = "".join(f'<th scope="col" data-cell="{s.id}">{t(s.label)}</th>' for s in strategies)
    rows = []
    for number, instruction in enumerate(program.instructions, start=1):
        kind = strings["kinds"][instruction.kind]
        cells = []
        for strategy in strategies:
            cell = instruction.cells[strategy.id]
            verdict = strings["guest_cell"][cell.guest]
            cells.append(
                f'<td data-cell="{strategy.id}" data-control="{cell.control}" data-guest="{cell.guest}"'
                f' data-label="{t(strategy.label)}">'
                f'<span class="trap-and-emulate__control">{_e(strings["controls"][cell.control])}</span>'
                f'<span class="trap-and-emulate__verdict trap-and-emulate__verdict--{cell.guest}">'
                f'{_e(verdict)}</span></td>'
            )
        rows.append(
            f'<tr data-instruction="{instruction.id}">'
            f'<td class="trap-and-emulate__number">{number}</td>'
            f'<th scope="row"><code>{_e(instruction.code)}</code>'
            f'<span class="trap-and-emulate__comment">{t(instruction.comment)}</span>'
            f'<span class="trap-and-emulate__kind" data-kind="{instruction.kind}">{_e(kind["label"])}</span></th>'
            f'{"".join(cells)}</tr>'
        )

    counts = totals(program)
    foot = []
    for strategy in strategies:
        text = _e(_count_text(strings, counts[strategy.id], strategy))
        wrong = [
            strings["line_n"].format(n=number)
            for number, instruction in enumerate(program.instructions, start=1)
            if instruction.cells[strategy.id].guest == "wrong"
        ]
        if wrong:
            text += (
                f'<span class="trap-and-emulate__verdict trap-and-emulate__verdict--wrong">'
                f'{_e(strings["wrong_lines"].format(lines=strings["join"].join(wrong)))}</span>'
            )
        foot.append(f'<td data-total="{strategy.id}" data-label="{t(strategy.label)}">{text}</td>')

    details = []
    fields = strings["fields"]
    for number, instruction in enumerate(program.instructions, start=1):
        items = []
        for strategy in strategies:
            cell = instruction.cells[strategy.id]
            parts = [
                f'<p><strong>{_e(fields["cpu"])}</strong>: {t(cell.cpu)}</p>',
                f'<p><strong>{_e(fields["vmm"])}</strong>: {t(cell.vmm)}</p>',
                f'<p data-guest="{cell.guest}"><strong>{_e(fields["view"])}</strong>'
                + _e(strings["paren"]).format(
                    f'<span class="trap-and-emulate__verdict trap-and-emulate__verdict--{cell.guest}">'
                    f'{_e(strings["guest"][cell.guest])}</span>'
                )
                + f": {t(cell.view)}</p>",
            ]
            if cell.depends:
                parts.append(f'<p><strong>{_e(fields["depends"])}</strong>: {t(cell.depends)}</p>')
            items.append(
                f'<dt data-cell="{strategy.id}">{t(strategy.label)}: {_e(strings["controls"][cell.control])}</dt>'
                f'<dd>{"".join(parts)}</dd>'
            )
        details.append(
            f'<details class="trap-and-emulate__entry" data-instruction="{instruction.id}">'
            f'<summary>{_e(strings["line_n"].format(n=number))}: <code>{_e(instruction.code)}</code>'
            f'{_e(strings["paren"].format(strings["kinds"][instruction.kind]["label"]))}</summary>'
            f'<dl>{"".join(items)}</dl></details>'
        )

    data = _widget.script_json(_script_data(program, language))
    return "\n".join([
        f'<div class="trap-and-emulate" data-widget="{NAME}" id="{uid}" lang="{language}">',
        '<div class="trap-and-emulate__static" data-static>',
        f'<p class="trap-and-emulate__intro">{_e(strings["intro"])}</p>',
        f'<p class="trap-and-emulate__strategies-title"><strong>{_e(strings["strategies"])}</strong></p>',
        f'<dl class="trap-and-emulate__strategies">{about}</dl>',
        (f'<p class="trap-and-emulate__note">{t(program.note)}</p>' if program.note else ""),
        f'<div class="trap-and-emulate__table-wrap" role="region" tabindex="0" aria-labelledby="{uid}-caption">',
        f'<table class="trap-and-emulate__table"><caption id="{uid}-caption">{_e(strings["caption"])}'
        f'<span class="trap-and-emulate__program">{t(program.program)}</span></caption>',
        f'<thead><tr><th scope="col" class="trap-and-emulate__col-number">{_e(strings["line"])}</th>'
        f'<th scope="col" class="trap-and-emulate__col-instruction">{_e(strings["instruction"])}</th>'
        f"{head}</tr></thead>",
        f'<tbody>{"".join(rows)}</tbody>',
        f'<tfoot><tr><td></td><th scope="row">{_e(strings["total"])}</th>{"".join(foot)}</tr></tfoot></table>',
        "</div>",
        '<div class="trap-and-emulate__explanations">',
        "\n".join(details),
        "</div>",
        "</div>",
        f'<script type="application/json" data-trap-and-emulate-data>{data}</script>',
        "</div>",
    ])


def _script_data(program: Program, language: str) -> dict:
    def text(value: Localized | None):
        return getattr(value, language) if value else None

    strings = STRINGS.get(language, STRINGS["en"])
    return {
        "lang": language,
        "program": text(program.program),
        "note": text(program.note),
        "kinds": strings["kinds"],
        "controls": strings["controls"],
        "counters": COUNTERS,
        "strategies": [
            {
                "id": s.id,
                "label": text(s.label),
                "about": text(s.about),
                "assumption": text(s.assumption),
                "events": s.events,
            }
            for s in program.strategies
        ],
        "instructions": [
            {
                "id": i.id,
                "code": i.code,
                "comment": text(i.comment),
                "kind": i.kind,
                "cells": {
                    s.id: {
                        "control": i.cells[s.id].control,
                        "cpu": text(i.cells[s.id].cpu),
                        "vmm": text(i.cells[s.id].vmm),
                        "guest": i.cells[s.id].guest,
                        "view": text(i.cells[s.id].view),
                        "depends": text(i.cells[s.id].depends),
                    }
                    for s in program.strategies
                },
            }
            for i in program.instructions
        ],
    }


