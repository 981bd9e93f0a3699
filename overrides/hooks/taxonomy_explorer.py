"""The taxonomy explorer (docs/_data/taxonomy.yml): place real systems in the VM taxonomy.

- ``<!-- taxonomy-explorer -->`` on a line of its own (not indented; one inside a
  code fence is left alone) becomes the widget: a static table of every system on
  every axis with the right answers, and each system's explanations in a
  ``<details>``, so that the page reads well without JavaScript.
  The data the script needs is embedded, in the page's language, as
  ``<script type="application/json" data-taxonomy-data>``;
  ``assets/javascripts/widgets/taxonomy-explorer.js`` turns the widget into the
  exercise (pick a system, answer each axis, check, read why).
- The page gets ``"taxonomy-explorer"`` in ``page.meta["widgets"]``, which makes
  ``overrides/main.html`` load the widget's CSS and JS on that page only.
- The data is validated when the build starts, used or not: a bad file stops the
  build with ``taxonomy.yml:LINE: field: what is wrong``.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Annotated

from mkdocs.exceptions import PluginError
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

import _widget  # beside this file: shared widget plumbing
import _yaml_data  # beside this file; MkDocs puts the hook's folder on sys.path

NAME = "taxonomy-explorer"

Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]

STRINGS = {
    "ja": {
        "intro": "次の表は、実在のシステムを4つの観点で分類したものです。"
                 "それぞれの理由は、表の下のシステム名を開くと読めます。",
        "caption": "実在のシステムの分類（正解）",
        "system": "システム",
        "views_differ": "（見方が分かれます）",
        "answer_join": "／",
        "if_chosen": "「{option}」と答えた場合",
    },
    "en": {
        "intro": "The table places real systems in the taxonomy on four axes. "
                 "Open a system below the table to read why.",
        "caption": "Real systems in the taxonomy (answers)",
        "system": "System",
        "views_differ": " (views differ)",
        "answer_join": " / ",
        "if_chosen": "If you answered “{option}”",
    },
}


# --- the data -------------------------------------------------------------------------


class Localized(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ja: Text
    en: Text


class Option(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: Id
    label: Localized


class Axis(BaseModel):
    model_config = ConfigDict(extra="forbid")
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


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    correct: list[Id] = Field(min_length=1, description="the accepted option ids")
    explain: Localized = Field(description="why; shown whether the reader was right or wrong")
    notes: dict[Id, Localized] = Field(default_factory=dict, description="per chosen option")


class System(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: Id
    name: Localized
    about: Localized
    answers: dict[Id, Answer]


class Taxonomy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    axes: list[Axis] = Field(min_length=1)
    systems: list[System] = Field(min_length=1)


def load(text: str, source: str) -> Taxonomy:
    """Validate the shape with pydantic, then the cross-references, each with its line."""
    taxonomy = _yaml_data.load(text, Taxonomy, source=source)
    _yaml_data.raise_problems(text, source, _reference_problems(taxonomy))
    return taxonomy


def _reference_problems(taxonomy: Taxonomy):
    """Yield (location, message) for ids that do not match up."""
    axes = {}
    for index, axis in enumerate(taxonomy.axes):
        if axis.id in axes:
            yield ("axes", index, "id"), f"axis id '{axis.id}' is used twice"
        axes[axis.id] = [option.id for option in axis.options]
    seen = set()
    for index, system in enumerate(taxonomy.systems):
        where = ("systems", index)
        if system.id in seen:
            yield (*where, "id"), f"system id '{system.id}' is used twice"
        seen.add(system.id)
        for axis_id in axes:
            if axis_id not in system.answers:
                yield (*where, "answers"), f"no answer for axis '{axis_id}'"
        for axis_id, answer in system.answers.items():
            if axis_id not in axes:
                yield (*where, "answers", axis_id), f"unknown axis '{axis_id}' (axes: {', '.join(axes)})"
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


_taxonomy: Taxonomy | None = None


# --- hook events ------------------------------------------------------------------------


def on_config(config):
    """Load and validate the taxonomy data."""
    global _taxonomy
    path = Path(config.docs_dir) / "_data" / "taxonomy.yml"
    try:
        _taxonomy = load(path.read_text(encoding="utf-8"), str(path))
    except OSError as error:
        raise PluginError(f"taxonomy explorer: {path}: {error.strerror}") from None
    except _yaml_data.DataError as error:
        raise PluginError(f"taxonomy explorer: {error}") from None
    return config


def on_page_markdown(markdown, page, **kwargs):
    """Expand the marker into the widget; list the widget in the page's meta."""
    return _widget.expand_marker(markdown, page, NAME, lambda language, uid: render(_taxonomy, language, uid))


# --- rendering ---------------------------------------------------------------------------


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def render(taxonomy: Taxonomy, language: str, uid: str) -> str:
    """The widget's HTML: one raw block (no blank lines) that Markdown leaves alone."""
    strings = STRINGS.get(language, STRINGS["en"])
    axes = taxonomy.axes
    labels = {axis.id: {option.id: getattr(option.label, language) for option in axis.options} for axis in axes}

    head = "".join(
        f'<th scope="col" data-axis="{axis.id}">{_e(getattr(axis.short or axis.label, language))}</th>' for axis in axes
    )
    rows = []
    for system in taxonomy.systems:
        cells = []
        for axis in axes:
            answer = system.answers[axis.id]
            text = strings["answer_join"].join(_e(labels[axis.id][o]) for o in answer.correct)
            if len(answer.correct) > 1:
                text += f'<span class="taxonomy-explorer__views">{_e(strings["views_differ"])}</span>'
            label = _e(getattr(axis.short or axis.label, language))
            cells.append(f'<td data-axis="{axis.id}" data-label="{label}">{text}</td>')
        rows.append(
            f'<tr data-system="{system.id}"><th scope="row">{_e(getattr(system.name, language))}</th>{"".join(cells)}</tr>'
        )

    details = []
    for system in taxonomy.systems:
        items = []
        for axis in axes:
            answer = system.answers[axis.id]
            correct = strings["answer_join"].join(_e(labels[axis.id][o]) for o in answer.correct)
            notes = "".join(
                f'<li><strong>{_e(strings["if_chosen"].format(option=labels[axis.id][option]))}</strong>: '
                f"{_e(getattr(note, language))}</li>"
                for option, note in _ordered_notes(answer, axis)
            )
            items.append(
                f'<dt data-axis="{axis.id}">{_e(getattr(axis.label, language))}: {correct}</dt>'
                f"<dd><p>{_e(getattr(answer.explain, language))}</p>"
                + (f'<ul class="taxonomy-explorer__notes">{notes}</ul>' if notes else "")
                + "</dd>"
            )
        details.append(
            f'<details class="taxonomy-explorer__entry" data-system="{system.id}">'
            f"<summary>{_e(getattr(system.name, language))}</summary>"
            f'<p class="taxonomy-explorer__about">{_e(getattr(system.about, language))}</p>'
            f'<dl>{"".join(items)}</dl></details>'
        )

    data = _widget.script_json(_script_data(taxonomy, language))
    return "\n".join([
        f'<div class="taxonomy-explorer" data-widget="{NAME}" id="{uid}" lang="{language}">',
        '<div class="taxonomy-explorer__static" data-static>',
        f'<p class="taxonomy-explorer__intro">{_e(strings["intro"])}</p>',
        f'<div class="taxonomy-explorer__table-wrap" role="region" tabindex="0" aria-labelledby="{uid}-caption">',
        f'<table class="taxonomy-explorer__table"><caption id="{uid}-caption">{_e(strings["caption"])}</caption>',
        f'<thead><tr><th scope="col">{_e(strings["system"])}</th>{head}</tr></thead>',
        f'<tbody>{"".join(rows)}</tbody></table>',
        "</div>",
        '<div class="taxonomy-explorer__explanations">',
        "\n".join(details),
        "</div>",
        "</div>",
        f'<script type="application/json" data-taxonomy-data>{data}</script>',
        "</div>",
    ])


def _ordered_notes(answer: Answer, axis: Axis):
    """Notes in the axis's option order (the YAML's order is the author's)."""
    order = [option.id for option in axis.options]
    return sorted(answer.notes.items(), key=lambda item: order.index(item[0]))


def _script_data(taxonomy: Taxonomy, language: str) -> dict:
    def text(value: Localized | None):
        return getattr(value, language) if value else None

    return {
        "lang": language,
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
                "about": text(system.about),
                "answers": {
                    axis.id: {
                        "correct": system.answers[axis.id].correct,
                        "explain": text(system.answers[axis.id].explain),
                        "notes": {o: text(n) for o, n in system.answers[axis.id].notes.items()},
                    }
                    for axis in taxonomy.axes
                },
            }
            for system in taxonomy.systems
        ],
    }


