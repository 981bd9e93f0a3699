"""The trap-and-emulate stepper (docs/_data/trap-and-emulate.yml): step guest kernel code under three strategies.

- ``<!-- trap-and-emulate -->`` on a line of its own (not indented; one inside a
  code fence is left alone) becomes the widget: the strategies, a static table of
  every instruction under every strategy (what enters the VMM, whether the guest
  still sees real-hardware behaviour, the totals), and each instruction's full
  explanation in a ``<details>``, so that the page reads well without JavaScript.
  ``assets/javascripts/widgets/trap-and-emulate.js`` turns the widget into the
  stepper (choose a strategy; Step, Back, Reset; counters; the guest's state).
- The plumbing (marker, page meta, root element, strings in
  ``docs/_data/trap-and-emulate.strings.yml``) is ``_widget.Widget``'s.
- The data is validated when the build starts, used or not: a bad file stops the
  build with ``trap-and-emulate.yml:LINE: field: what is wrong``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

import _widget  # beside this file (MkDocs puts the hook's folder on sys.path)
from _widget import Id, Localized, Model, Text
from _widget import escape as _e

WIDGET = _widget.Widget("trap-and-emulate", "trap-and-emulate")
Event = Literal["trap", "vm-exit", "translated"]
Control = Literal["none", "trap", "vm-exit", "translated"]
Kind = Literal["ordinary", "privileged", "iopl", "sensitive"]

# Each kind of entry into the VMM and the counter (data-counter) that counts it.
COUNTERS = {"trap": "traps", "vm-exit": "exits", "translated": "translations"}

# --- the data -------------------------------------------------------------------------


class Strategy(Model):
    id: Id
    label: Localized
    about: Localized = Field(description="how the guest kernel runs")
    assumption: Localized | None = Field(default=None, description="the configuration this example assumes")
    events: list[Event] = Field(min_length=1, description="the kinds of VMM entry the strategy can produce")


class Cell(Model):
    """One instruction under one strategy."""

    control: Control
    cpu: Localized
    vmm: Localized
    guest: Literal["correct", "wrong"]
    view: Localized
    depends: Localized | None = None


class Instruction(Model):
    id: Id
    code: Text
    comment: Localized
    kind: Kind
    cells: dict[Id, Cell]


class Program(Model):
    program: Localized
    note: Localized | None = None
    strategies: list[Strategy] = Field(min_length=1)
    instructions: list[Instruction] = Field(min_length=1)




def _reference_problems(program: Program):
    """Yield (location, message) for ids and controls that do not match up."""
    yield from _widget.repeated(program.strategies, "strategies", "strategy")
    yield from _widget.repeated(program.instructions, "instructions", "instruction")
    strategies = {strategy.id: strategy for strategy in program.strategies}
    for index, instruction in enumerate(program.instructions):
        where = ("instructions", index)
        yield from _widget.columns(where, "cells", instruction.cells, strategies, "cell", "strategy", "strategies")
        for strategy_id, cell in instruction.cells.items():
            if strategy_id not in strategies:
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


# --- rendering ---------------------------------------------------------------------------


def _count_text(strings: dict, counts: dict[str, int], strategy: Strategy) -> str:
    """'トラップ4回' for the kinds of entry the strategy has; 'no entry' if none happened."""
    if not any(counts[COUNTERS[event]] for event in strategy.events):
        return strings["noEntry"]
    names = [COUNTERS[event] for event in strategy.events]
    return strings["join"].join(_widget.fmt(strings[f"count.{name}"], n=counts[name]) for name in names)


def render(program: Program, language: str, uid: str) -> str:
    """The widget's HTML: one raw block (no blank lines) that Markdown leaves alone."""
    strings = WIDGET.words(language)

    def t(value: Localized) -> str:
        return _e(value.pick(language))

    strategies = program.strategies
    about = "".join(
        f'<dt data-strategy-about="{s.id}">{t(s.label)}</dt>'
        f"<dd><p>{t(s.about)}</p>" + (f"<p>{t(s.assumption)}</p>" if s.assumption else "") + "</dd>"
        for s in strategies
    )

    head = "".join(f'<th scope="col" data-cell="{s.id}">{t(s.label)}</th>' for s in strategies)
    rows = []
    for number, instruction in enumerate(program.instructions, start=1):
        kind = strings[f"kind.{instruction.kind}"]
        cells = []
        for strategy in strategies:
            cell = instruction.cells[strategy.id]
            verdict = strings[f"guestCell.{cell.guest}"]
            cells.append(
                f'<td data-cell="{strategy.id}" data-control="{cell.control}" data-guest="{cell.guest}"'
                f' data-label="{t(strategy.label)}">'
                f'<span class="trap-and-emulate__control">{_e(strings[f"control.{cell.control}"])}</span>'
                f'<span class="trap-and-emulate__verdict trap-and-emulate__verdict--{cell.guest}">'
                f'{_e(verdict)}</span></td>'
            )
        rows.append(
            f'<tr data-instruction="{instruction.id}">'
            f'<td class="trap-and-emulate__number">{number}</td>'
            f'<th scope="row"><code>{_e(instruction.code)}</code>'
            f'<span class="trap-and-emulate__comment">{t(instruction.comment)}</span>'
            f'<span class="trap-and-emulate__kind" data-kind="{instruction.kind}">{_e(kind)}</span></th>'
            f'{"".join(cells)}</tr>'
        )

    counts = totals(program)
    foot = []
    for strategy in strategies:
        text = _e(_count_text(strings, counts[strategy.id], strategy))
        wrong = [
            _widget.fmt(strings["lineLabel"], n=number)
            for number, instruction in enumerate(program.instructions, start=1)
            if instruction.cells[strategy.id].guest == "wrong"
        ]
        if wrong:
            text += (
                f'<span class="trap-and-emulate__verdict trap-and-emulate__verdict--wrong">'
                f'{_e(_widget.fmt(strings["wrongLines"], lines=strings["join"].join(wrong)))}</span>'
            )
        foot.append(f'<td data-total="{strategy.id}" data-label="{t(strategy.label)}">{text}</td>')

    details = []
    for number, instruction in enumerate(program.instructions, start=1):
        items = []
        for strategy in strategies:
            cell = instruction.cells[strategy.id]
            parts = [
                f'<p><strong>{_e(strings["field.cpu"])}</strong>: {t(cell.cpu)}</p>',
                f'<p><strong>{_e(strings["field.vmm"])}</strong>: {t(cell.vmm)}</p>',
                f'<p data-guest="{cell.guest}"><strong>{_e(strings["field.view"])}</strong>'
                + _widget.fmt(
                    _e(strings["paren"]),
                    text=f'<span class="trap-and-emulate__verdict trap-and-emulate__verdict--{cell.guest}">'
                    f'{_e(strings[f"guest.{cell.guest}"])}</span>',
                )
                + f": {t(cell.view)}</p>",
            ]
            if cell.depends:
                parts.append(f'<p><strong>{_e(strings["field.depends"])}</strong>: {t(cell.depends)}</p>')
            items.append(
                f'<dt data-cell="{strategy.id}">{t(strategy.label)}: {_e(strings[f"control.{cell.control}"])}</dt>'
                f'<dd>{"".join(parts)}</dd>'
            )
        details.append(
            f'<details class="trap-and-emulate__entry" data-instruction="{instruction.id}">'
            f'<summary>{_e(_widget.fmt(strings["lineLabel"], n=number))}: <code>{_e(instruction.code)}</code>'
            f'{_e(_widget.fmt(strings["paren"], text=strings[f"kind.{instruction.kind}"]))}</summary>'
            f'<dl>{"".join(items)}</dl></details>'
        )

    static = "\n".join(part for part in [
        f'<p class="trap-and-emulate__intro">{_e(strings["tableIntro"])}</p>',
        f'<p class="trap-and-emulate__strategies-title"><strong>{_e(strings["strategies"])}</strong></p>',
        f'<dl class="trap-and-emulate__strategies">{about}</dl>',
        (f'<p class="trap-and-emulate__note">{t(program.note)}</p>' if program.note else ""),
        f'<div class="widget__table-wrap" role="region" tabindex="0" aria-labelledby="{uid}-caption">',
        f'<table class="widget__table widget__cards trap-and-emulate__table"><caption id="{uid}-caption">'
        f'{_e(strings["caption"])}<span class="trap-and-emulate__program">{t(program.program)}</span></caption>',
        f'<thead><tr><th scope="col" class="trap-and-emulate__col-number">{_e(strings["line"])}</th>'
        f'<th scope="col" class="trap-and-emulate__col-instruction">{_e(strings["instruction"])}</th>'
        f"{head}</tr></thead>",
        f'<tbody>{"".join(rows)}</tbody>',
        f'<tfoot><tr><td></td><th scope="row">{_e(strings["total"])}</th>{"".join(foot)}</tr></tfoot></table>',
        "</div>",
        '<div class="trap-and-emulate__explanations">',
        "\n".join(details),
        "</div>",
    ] if part)
    return WIDGET.html(uid, language, static, _script_data(program, language))


def _script_data(program: Program, language: str) -> dict:
    def text(value: Localized | None):
        return value.pick(language) if value else None

    return {
        "program": text(program.program),
        "note": text(program.note),
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


on_config, on_page_markdown, on_post_build = WIDGET.hooks(render, "trap-and-emulate.yml", Program, _reference_problems)
