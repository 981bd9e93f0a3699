"""Quizzes: a ```quiz fence of YAML, validated at build time, rendered as a form.

Authoring syntax: CONTRIBUTING.md#quizzes. Each fence is one question with a
stable id (unique in the site, the same in the Japanese and English page), and
every choice carries its own explanation. A bad quiz stops the build with
``page.md:LINE: what is wrong``.

Validation happens in ``on_page_markdown``: superfences swallows exceptions
raised inside a fence formatter and shows the raw text instead. The formatter
only renders what has already been validated. The page's question ids go to
``page.meta["quiz_ids"]``; the templates and the learning record use them.
"""

from __future__ import annotations

import hashlib
import html
import re
from typing import Annotated

import markdown
import yaml
from mkdocs.exceptions import PluginError
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

import _yaml_data  # beside this file; MkDocs puts the hook's folder on sys.path

FENCE_START = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*quiz[ \t]*$")
QUIZ_ID = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]

STRINGS = {
    "ja": {"answers": "答えと解説", "correct": "正解", "incorrect": "不正解"},
    "en": {"answers": "Answers and explanations", "correct": "Correct", "incorrect": "Incorrect"},
}


class Choice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Text
    correct: bool = False
    explain: Text = Field(description="why this choice is right or wrong")


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, StringConstraints(pattern=QUIZ_ID)]
    question: Text
    multiple: bool | None = Field(
        default=None, description="checkboxes; defaults to true when more than one choice is correct"
    )
    choices: list[Choice] = Field(min_length=2)

    @model_validator(mode="after")
    def _check_answers(self) -> Question:
        correct = sum(choice.correct for choice in self.choices)
        if correct == 0:
            raise ValueError("no correct choice: mark at least one with `correct: true`")
        if self.multiple is False and correct > 1:
            raise ValueError(f"`multiple: false` but {correct} choices are correct")
        texts = [choice.text for choice in self.choices]
        if len(set(texts)) != len(texts):
            raise ValueError("two choices have the same text")
        return self

    @property
    def is_multiple(self) -> bool:
        return self.multiple if self.multiple is not None else sum(c.correct for c in self.choices) > 1


def choice_key(choice: Choice) -> str:
    """A stable key for a choice: its text's hash, so reordering choices keeps saved answers."""
    return hashlib.sha1(choice.text.encode("utf-8")).hexdigest()[:10]


# --- state for one build (the i18n plugin runs one build per language) ----------

_seen_ids: dict[str, str] = {}  # question id -> "page.md:LINE" where it was defined
_page_language = "ja"


def on_config(config):
    """Register the ```quiz fence; start a fresh id registry for this language's build."""
    _seen_ids.clear()
    superfences = config.mdx_configs.setdefault("pymdownx.superfences", {})
    fences = superfences.setdefault("custom_fences", [])
    if not any(fence.get("name") == "quiz" for fence in fences):
        fences.append({"name": "quiz", "class": "quiz", "format": _format})
    return config


def on_page_markdown(markdown_text, page, **kwargs):
    """Validate every quiz on the page and record its ids."""
    global _page_language
    _page_language = getattr(page.file, "locale", None) or "ja"
    source = page.file.src_uri
    ids = []
    for first_line, yaml_text in _quiz_blocks(markdown_text, source):
        try:
            question = _yaml_data.load(yaml_text, Question, source=source, first_line=first_line)
        except _yaml_data.DataError as error:
            raise PluginError(f"quiz: {error}") from None
        where = f"{source}:{first_line}"
        if question.id in _seen_ids:
            raise PluginError(
                f"quiz: {where}: id '{question.id}' is already used at {_seen_ids[question.id]}"
            )
        _seen_ids[question.id] = where
        ids.append(question.id)
    page.meta["quiz_ids"] = ids
    return markdown_text


def _quiz_blocks(text: str, source: str):
    """Yield (line of the first YAML line, dedented YAML) for each ```quiz fence."""
    lines = text.splitlines()
    number = 0
    while number < len(lines):
        start = FENCE_START.match(lines[number])
        number += 1
        if not start:
            continue
        indent, fence = start["indent"], start["fence"]
        body_start = number
        while number < len(lines) and lines[number].strip() != fence:
            number += 1
        if number == len(lines):
            raise PluginError(f"quiz: {source}:{body_start}: the quiz fence is never closed")
        body = [line[len(indent):] if line.startswith(indent) else line for line in lines[body_start:number]]
        number += 1
        yield body_start + 1, "\n".join(body)


# --- rendering ----------------------------------------------------------------

_inline_md = markdown.Markdown(extensions=["pymdownx.inlinehilite", "pymdownx.highlight", "attr_list"])
_block_md = markdown.Markdown(
    extensions=["pymdownx.inlinehilite", "pymdownx.highlight", "pymdownx.superfences", "attr_list"]
)


def _block(text: str) -> str:
    return _block_md.reset().convert(text)


def _inline(text: str) -> str:
    rendered = _inline_md.reset().convert(text)
    return rendered.removeprefix("<p>").removesuffix("</p>")


def _format(source, language, class_name, options, md, **kwargs):
    question = Question.model_validate(yaml.safe_load(source))
    strings = STRINGS.get(_page_language, STRINGS["en"])
    qid = html.escape(question.id)
    kind = "checkbox" if question.is_multiple else "radio"
    choices = []
    answers = []
    for choice in question.choices:
        key = choice_key(choice)
        choices.append(
            f'<label class="quiz__choice"><input type="{kind}" name="quiz-{qid}" value="{key}" '
            f'data-quiz-choice="{key}"{" data-correct" if choice.correct else ""}>'
            f'<span class="quiz__choice-text">{_inline(choice.text)}</span></label>'
        )
        verdict = strings["correct"] if choice.correct else strings["incorrect"]
        answers.append(
            f'<li class="quiz__answer" data-quiz-answer="{key}" data-correct="{str(choice.correct).lower()}">'
            f'<p class="quiz__answer-head"><strong>{verdict}</strong>: '
            f'<span class="quiz__answer-choice">{_inline(choice.text)}</span></p>'
            f"{_block(choice.explain)}</li>"
        )
    return (
        f'<div class="quiz" data-quiz-id="{qid}" data-quiz-multiple="{str(question.is_multiple).lower()}">'
        f'<fieldset class="quiz__fieldset" aria-labelledby="quiz-{qid}-question">'
        f'<div class="quiz__question" id="quiz-{qid}-question">'
        f'<p class="quiz__number"></p>{_block(question.question)}</div>'
        f'<div class="quiz__choices">{"".join(choices)}</div>'
        f'<div class="quiz__feedback" data-quiz-feedback aria-live="polite"></div>'
        f"</fieldset>"
        f'<details class="quiz__answers"><summary>{strings["answers"]}</summary>'
        f'<ul>{"".join(answers)}</ul></details>'
        f"</div>"
    )
