"""The taxonomy explorer (docs/_data/taxonomy.yml): place real systems in the VM taxonomy.

- ``<!-- taxonomy-explorer -->`` on a line of its own (not indented; one inside a
  code fence is left alone) becomes the widget: a static table of every system on
  every axis with the right answers, and each system's explanations in a
  ``<details>``, so that the page reads well without JavaScript. The script
  (``assets/javascripts/widgets/taxonomy-explorer.js``) turns it into the exercise
  (pick a system, answer each axis, check, read why). The script reads each system's
  ``about`` and each answer's explanation and notes from the static part (one copy
  per page), the rest from its data.
- The plumbing (marker, page meta, root element, strings in
  ``docs/_data/taxonomy-explorer.strings.yml``) is ``_widget.Widget``'s.
- The data is validated when the build starts, used or not: a bad file stops the
  build with ``taxonomy.yml:LINE: field: what is wrong``.
"""

from __future__ import annotations

from pydantic import Field, model_validator

import _widget  # beside this file (MkDocs puts the hook's folder on sys.path)
from _widget import Id, Localized, Model
from _widget import escape as _e

WIDGET = _widget.Widget("taxonomy-explorer", "taxonomy explorer")

# --- the data -------------------------------------------------------------------------


class Option(Model):
    id: Id
    label: Localized


class Axis(Model):
    id: Id
    label: Localized
    short: Localized | None = Field(default=None, description="the table's column heading, if shorter")
    hint: Localized | None = None
    options: list[Option] = Field(min_length=2)

    @model_validator(mode="after")
    def _unique_options(self) -> Axis:
        ids = [option.id for option in self.options]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"option id used twice: {', '.join(duplicates)}")
        return self


class Answer(Model):
    correct: list[Id] = Field(min_length=1, description="the accepted option ids")
    explain: Localized = Field(description="why; shown whether the reader was right or wrong")
    notes: dict[Id, Localized] = Field(default_factory=dict, description="per chosen option")


class System(Model):
    id: Id
    name: Localized
    about: Localized
    answers: dict[Id, Answer]


class Taxonomy(Model):
    axes: list[Axis] = Field(min_length=1)
    systems: list[System] = Field(min_length=1)




def _reference_problems(taxonomy: Taxonomy):
    """Yield (location, message) for ids that do not match up."""
    yield from _widget.repeated(taxonomy.axes, "axes", "axis")
    yield from _widget.repeated(taxonomy.systems, "systems", "system")
    axes = {axis.id: [option.id for option in axis.options] for axis in taxonomy.axes}
    for index, system in enumerate(taxonomy.systems):
        where = ("systems", index)
        yield from _widget.columns(where, "answers", system.answers, axes, "answer", "axis", "axes")
        for axis_id, answer in system.answers.items():
            if axis_id not in axes:
                continue
            options = axes[axis_id]
            known = f"axis '{axis_id}' has {', '.join(options)}"
            if len(set(answer.correct)) != len(answer.correct):
                yield (*where, "answers", axis_id, "correct"), "an option is listed twice"
            for position, option in enumerate(answer.correct):
                if option not in options:
                    yield (*where, "answers", axis_id, "correct", position), f"unknown option '{option}' ({known})"
            for option in answer.notes:
                if option not in options:
                    yield (*where, "answers", axis_id, "notes", option), f"unknown option '{option}' ({known})"


# --- rendering ---------------------------------------------------------------------------


def render(taxonomy: Taxonomy, language: str, uid: str) -> str:
    """The widget's HTML: one raw block (no blank lines) that Markdown leaves alone."""
    strings = WIDGET.words(language)
    axes = taxonomy.axes
    labels = {axis.id: {option.id: option.label.pick(language) for option in axis.options} for axis in axes}

    head = "".join(
        f'<th scope="col" data-axis="{axis.id}">{_e((axis.short or axis.label).pick(language))}</th>' for axis in axes
    )
    rows = []
    for system in taxonomy.systems:
        cells = []
        for axis in axes:
            answer = system.answers[axis.id]
            text = strings["answerJoin"].join(_e(labels[axis.id][o]) for o in answer.correct)
            if len(answer.correct) > 1:
                text += f'<span class="taxonomy-explorer__views">{_e(strings["viewsDiffer"])}</span>'
            label = _e((axis.short or axis.label).pick(language))
            cells.append(f'<td data-axis="{axis.id}" data-label="{label}">{text}</td>')
        rows.append(
            f'<tr data-system="{system.id}"><th scope="row">{_e(system.name.pick(language))}</th>{"".join(cells)}</tr>'
        )

    details = []
    for system in taxonomy.systems:
        items = []
        for axis in axes:
            answer = system.answers[axis.id]
            correct = strings["answerJoin"].join(_e(labels[axis.id][o]) for o in answer.correct)
            notes = "".join(
                f'<li data-note="{option}"><strong>{_e(_widget.fmt(strings["ifChosen"], option=labels[axis.id][option]))}'
                f"</strong>: <span data-note-text>{_e(note.pick(language))}</span></li>"
                for option, note in _ordered_notes(answer, axis)
            )
            items.append(
                f'<dt data-axis="{axis.id}">{_e(axis.label.pick(language))}: {correct}</dt>'
                f'<dd data-axis="{axis.id}"><p data-explain>{_e(answer.explain.pick(language))}</p>'
                + (f'<ul class="taxonomy-explorer__notes">{notes}</ul>' if notes else "")
                + "</dd>"
            )
        details.append(
            f'<details class="taxonomy-explorer__entry" data-system="{system.id}">'
            f"<summary>{_e(system.name.pick(language))}</summary>"
            f'<p class="taxonomy-explorer__about">{_e(system.about.pick(language))}</p>'
            f'<dl>{"".join(items)}</dl></details>'
        )

    static = "\n".join([
        f'<p class="taxonomy-explorer__intro">{_e(strings["tableIntro"])}</p>',
        f'<div class="widget__table-wrap" role="region" tabindex="0" aria-labelledby="{uid}-caption">',
        f'<table class="widget__table widget__cards taxonomy-explorer__table">'
        f'<caption id="{uid}-caption">{_e(strings["caption"])}</caption>',
        f'<thead><tr><th scope="col">{_e(strings["system"])}</th>{head}</tr></thead>',
        f'<tbody>{"".join(rows)}</tbody></table>',
        "</div>",
        '<div class="taxonomy-explorer__explanations">',
        "\n".join(details),
        "</div>",
    ])
    return WIDGET.html(uid, language, static, _script_data(taxonomy, language))


def _ordered_notes(answer: Answer, axis: Axis):
    """Notes in the axis's option order (the YAML's order is the author's)."""
    order = [option.id for option in axis.options]
    return sorted(answer.notes.items(), key=lambda item: order.index(item[0]))


def _script_data(taxonomy: Taxonomy, language: str) -> dict:
    def text(value: Localized | None):
        return value.pick(language) if value else None

    return {
        "axes": [
            {
                "id": axis.id,
                "label": text(axis.label),
                "hint": text(axis.hint),
                "options": [{"id": o.id, "label": text(o.label)} for o in axis.options],
            }
            for axis in taxonomy.axes
        ],
        "systems": [
            {
                "id": system.id,
                "name": text(system.name),
                "answers": {
                    axis.id: {
                        "correct": system.answers[axis.id].correct,
                    }
                    for axis in taxonomy.axes
                },
            }
            for system in taxonomy.systems
        ],
    }


on_config, on_page_markdown, on_post_build = WIDGET.hooks(render, "taxonomy.yml", Taxonomy, _reference_problems)
