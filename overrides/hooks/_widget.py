"""What every widget hook shares (not a hook itself: the leading underscore).

A widget hook makes one ``Widget``, and the Widget answers the hook's events::

    WIDGET = _widget.Widget("io-path", "io path")  # the name, and the label of its build errors
    ...
    def render(data, language, uid): ...  # the widget's HTML, made with WIDGET.html(...)

    on_config, on_page_markdown, on_post_build = WIDGET.hooks(render, "io-path.yml", IoPaths, problems)

- ``on_config`` loads the widget's strings and, if it has one, ``docs/_data/<data file>``
  into ``WIDGET.data``: validated as the pydantic model, then by ``problems(data)`` (the
  cross-references, as (location, message) pairs). Bad data or strings stop the build
  with ``<label>: <file>:<line>: field: what is wrong``.
- ``on_page_markdown`` replaces each ``<!-- name -->`` line outside code fences with
  ``render(WIDGET.data, language, uid)`` (one raw HTML block) and lists the widget in
  ``page.meta["widgets"]``, so that overrides/main.html loads the kit and the widget's
  CSS and JS on that page only.
- ``html`` wraps a widget's static part and its script's data in the root element that
  the kit (assets/javascripts/widgets/_kit.js) looks for: ``[data-widget]`` holding
  ``[data-static]`` and ``<script type="application/json" data-widget-data>``; the data
  gets ``lang`` and ``strings``.
- ``on_post_build`` drops the whole-line comments and the indentation from the built
  copies of the kit's and the widget's JS and CSS: the sources keep them for people,
  readers do not download them. (The scripts have no multi-line strings.)
- The words live in ``docs/_data/<name>.strings.yml``: ``page`` (the hook's static HTML,
  for readers without JavaScript) and ``script`` (sent to the script in the page's
  language), each key with ``ja`` and ``en`` and the same placeholders in both.
  ``WIDGET.words(language)`` gives both sections to the hook. The kit's own words (an
  error shown in the widget) are in ``docs/_data/widget-kit.strings.yml``.
- Placeholders, here and in the kit alike: ``{name}`` is the value, ``{name|one|other}``
  is ``one`` when the value is 1, else ``other`` (English plurals: ``{n} {n|step|steps}``).
- ``Model`` is the base of the data models (no unknown keys), ``Localized`` a text in
  both languages; ``repeated`` and ``columns`` find the usual cross-reference problems
  of a table-like data file (ids used twice, cells for unknown or missing columns).
"""

from __future__ import annotations

import html as _html
import json
import re
from pathlib import Path
from typing import Annotated, Callable

from mkdocs.exceptions import PluginError
from pydantic import BaseModel, ConfigDict, Field, RootModel, StringConstraints, model_validator

import _yaml_data  # beside this file; MkDocs puts the hook's folder on sys.path

FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
PLACEHOLDER = re.compile(r"\{(\w+)(?:\|([^|{}]*)\|([^{}]*))?\}")
# A comment on lines of its own: /* … */ (no */ inside) or, in a script, // ….
COMMENT_BLOCK = re.compile(r"^[ \t]*/\*(?:(?!\*/)[\s\S])*\*/[ \t]*\n", re.M)
COMMENT_LINE = re.compile(r"^[ \t]*//.*\n", re.M)
INDENT = re.compile(r"^[ \t]+", re.M)

Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Key = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9]*(?:[.-][A-Za-z0-9]+)*$")]


class Model(BaseModel):
    """A widget's data: unknown keys are errors (a misspelt key must not pass unseen)."""

    model_config = ConfigDict(extra="forbid")


class Localized(Model):
    """A text of the course's data, in both languages."""

    ja: Text
    en: Text

    def pick(self, language: str) -> str:
        return self.en if language == "en" else self.ja


class Words(Model):
    """One string of a widget: both languages, the same placeholders (spaces kept)."""

    ja: str
    en: str

    @model_validator(mode="after")
    def _same_placeholders(self) -> Words:
        ja, en = placeholders(self.ja), placeholders(self.en)
        if ja != en:
            raise ValueError(f"ja and en differ in placeholders: ja {sorted(ja)}, en {sorted(en)}")
        return self


class Section(RootModel[dict[Key, Words]]):
    """The strings of one side (page or script), by key."""


class Strings(Model):
    page: Section = Field(default_factory=lambda: Section({}), description="the hook's static HTML")
    script: Section = Field(default_factory=lambda: Section({}), description="sent to the script")

    @model_validator(mode="after")
    def _keys_once(self) -> Strings:
        both = sorted(set(self.page.root) & set(self.script.root))
        if both:
            raise ValueError(f"in both page and script: {', '.join(both)}")
        return self

    def section(self, name: str, language: str) -> dict[str, str]:
        return {key: getattr(words, language) for key, words in getattr(self, name).root.items()}


def repeated(items, field: str, what: str):
    """Cross-reference problems, (location, message): each item at ``field`` whose id came before."""
    seen = set()
    for index, item in enumerate(items):
        if item.id in seen:
            yield (field, index, "id"), f"{what} id '{item.id}' is used twice"
        seen.add(item.id)


def columns(where: tuple, field: str, cells: dict, names, cell: str, column: str, plural: str):
    """Cross-reference problems of one row whose ``cells`` (at ``where + (field,)``) are keyed by
    the ``names`` of another list: a name without a cell, a cell without a name."""
    for name in names:
        if name not in cells:
            yield (*where, field), f"no {cell} for {column} '{name}'"
    for key in cells:
        if key not in names:
            yield (*where, field, key), f"unknown {column} '{key}' ({plural}: {', '.join(names)})"


def placeholders(text: str) -> set[str]:
    return {match[1] for match in PLACEHOLDER.finditer(text)}


def fmt(template: str, **values) -> str:
    """Fill ``{name}`` and ``{name|one|other}`` as the kit's ``t()`` does."""

    def fill(match: re.Match) -> str:
        value = values[match[1]]
        if match[2] is not None:
            return match[2] if value == 1 else match[3]
        return str(value)

    return PLACEHOLDER.sub(fill, template)


def escape(text) -> str:
    return _html.escape(str(text), quote=True)


def script_json(data: dict) -> str:
    """JSON that is safe inside <script>: no '<', '>' or '&' that HTML could read."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def served(text: str, script: bool) -> str:
    """``text`` without its whole-line comments and indentation (the code stays as it is)."""
    text = COMMENT_BLOCK.sub("", text)
    if script:
        text = COMMENT_LINE.sub("", text)
    return INDENT.sub("", text)


def language_of(page) -> str:
    return getattr(page.file, "locale", None) or "ja"


def expand_marker(markdown: str, page, name: str, render: Callable[[str, str], str]) -> str:
    """Replace the widget's marker lines; ``render(language, uid)`` returns the HTML."""
    marker = f"<!-- {name} -->"
    if marker not in markdown:
        return markdown
    language = language_of(page)
    lines = markdown.split("\n")
    fence = None
    count = 0
    for number, line in enumerate(lines):
        opening = FENCE.match(line)
        if fence:
            fence = None if opening and opening[1].startswith(fence) else fence
            continue
        if opening:
            fence = opening[1]
            continue
        if line.rstrip() == marker:
            count += 1
            lines[number] = "\n" + render(language, f"{name}-{count}") + "\n"
    if count:
        widgets = page.meta.setdefault("widgets", [])
        if name not in widgets:
            widgets.append(name)
    return "\n".join(lines)


class Widget:
    """One widget's name, the label its build errors start with, and its strings."""

    def __init__(self, name: str, label: str):
        self.name = name
        self.label = label
        self.strings: Strings | None = None
        self.kit: Strings | None = None
        self.data = None
        self.data_file: str | None = None
        self.model: type[BaseModel] | None = None
        self.problems = None
        self.render = None

    def hooks(self, render, data_file: str | None = None, model: type[BaseModel] | None = None, problems=None):
        """The hook's events: ``on_config, on_page_markdown, on_post_build = WIDGET.hooks(...)``."""
        self.render, self.data_file, self.model, self.problems = render, data_file, model, problems
        return self.on_config, self.on_page_markdown, self.on_post_build

    def on_config(self, config, **kwargs):
        """Load and validate the strings and the data (a bad file stops the build)."""
        self.data = self.configure(config)
        return config

    def load(self, text: str, source: str):
        """Validate ``text`` as the model, then its cross-references, each error with its line."""
        data = _yaml_data.load(text, self.model, source=source)
        if self.problems:
            _yaml_data.raise_problems(text, source, self.problems(data))
        return data

    def on_page_markdown(self, markdown, page, **kwargs):
        """Expand the marker into the widget; list the widget in the page's meta."""
        return expand_marker(markdown, page, self.name, lambda language, uid: self.render(self.data, language, uid))

    def fail(self, message: str) -> PluginError:
        return PluginError(f"{self.label}: {message}")

    def read(self, path: Path) -> str:
        try:
            return path.read_text(encoding="utf-8")
        except OSError as error:
            raise self.fail(f"{path}: {error.strerror}") from None

    def configure(self, config):
        """Load the strings and, if the widget has one, its data file; return the data."""
        folder = Path(config.docs_dir) / "_data"
        self.kit = self.load_strings(folder / "widget-kit.strings.yml")
        self.strings = self.load_strings(folder / f"{self.name}.strings.yml")
        if self.data_file is None:
            return None
        path = folder / self.data_file
        try:
            return self.load(self.read(path), str(path))
        except _yaml_data.DataError as error:
            raise self.fail(str(error)) from None

    def load_strings(self, path: Path) -> Strings:
        try:
            return _yaml_data.load(self.read(path), Strings, source=str(path))
        except _yaml_data.DataError as error:
            raise self.fail(str(error)) from None

    def words(self, language: str) -> dict[str, str]:
        """Every string (page and script) in ``language``, for the hook's HTML."""
        return {**self.strings.section("page", language), **self.strings.section("script", language)}

    def on_post_build(self, config, **kwargs) -> None:
        """Drop the comments and indentation from the built kit and widget assets."""
        assets = Path(config.site_dir) / "assets"
        for name in ("_kit", self.name):
            for folder, suffix in (("javascripts", ".js"), ("stylesheets", ".css")):
                path = assets / folder / "widgets" / (name + suffix)
                if path.is_file():
                    text = path.read_text(encoding="utf-8")
                    path.write_text(served(text, suffix == ".js"), encoding="utf-8")

    def html(self, uid: str, language: str, static: str, data: dict, *, before: str = "") -> str:
        """The root element: ``before`` (shown with and without script), the static part
        ([data-static], hidden once the script runs) and the script's data, which gets
        ``lang`` and the ``script`` strings. One raw block (no blank line) for Markdown."""
        strings = {**self.kit.section("script", language), **self.strings.section("script", language)}
        payload = {"lang": language, "strings": strings, **data}
        return "\n".join(part for part in [
            f'<div class="widget {self.name}" data-widget="{self.name}" id="{uid}" lang="{language}">',
            before,
            f'<div class="{self.name}__static" data-static>',
            static,
            "</div>",
            f'<script type="application/json" data-widget-data>{script_json(payload)}</script>',
            "</div>",
        ] if part)
