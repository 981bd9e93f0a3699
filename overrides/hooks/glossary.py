"""The glossary (docs/_data/glossary.yml): the /glossary/ page and term cards in the prose.

- ``<!-- glossary -->`` (on /glossary/) becomes every entry, each with
  ``data-term="key"`` and ``id="key"``, its Japanese and English names, the
  definition and a link to the chapter that explains it.
- In every other page a term becomes a link to its glossary entry at its first
  use on the page, and again in a later h2 section only when that section is far
  from the last link (``FAR`` characters of prose): onboarding documents link
  readers straight into sections, but a term underlined in every section is noise.
  Never in code, links, headings, tables, figures, summaries or box titles.
- Each page that links terms carries their cards once, as JSON
  (``<script type="application/json" data-glossary-cards>``);
  ``assets/javascripts/glossary-card.js`` shows a term's card on hover and focus,
  and on a touch screen on the first tap (a second tap, or the card's link, opens
  the glossary). Without JavaScript the link simply opens the glossary. The card
  used to be a ``title`` on every link, which repeated long definitions in the HTML.

Markdown's abbr extension is not used for this: it matches on ``\\b`` word
boundaries, which never occur inside Japanese text (ハイパーコールで), and it
could not link to the entry.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as etree
from pathlib import Path
from typing import Annotated

import yaml
from markdown import Extension
from markdown.treeprocessors import Treeprocessor
from mkdocs.exceptions import PluginError
from mkdocs.utils import get_relative_url
from pydantic import BaseModel, ConfigDict, RootModel, StringConstraints, model_validator

import _yaml_data  # beside this file; MkDocs puts the hook's folder on sys.path

MARKER = "<!-- glossary -->"
SKIP_TAGS = {
    "code", "pre", "a", "abbr", "h1", "h2", "h3", "h4", "h5", "h6", "script", "style", "kbd", "samp", "button",
    # A link in a table cell, a caption or a summary competes with what is around it
    # (a <summary> is itself interactive: a link inside it is nested-interactive).
    "table", "figure", "figcaption", "summary",
}
SKIP_CLASSES = {"admonition-title"}
FAR = 4000  # characters of prose after which a later section links a term again
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
STRINGS = {
    "ja": {"chapter": "詳しくは", "soon": "準備中", "reading": "読み"},
    "en": {"chapter": "Explained in", "soon": "coming soon", "reading": "reading"},
}


class Term(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]
    ja: Text
    reading: Text | None = None
    en: Text
    abbr: Text | None = None
    def_ja: Text
    def_en: Text
    chapter: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]+(?:/[a-z0-9-]+)*$")]
    avoid: list[Text] = []


class Glossary(RootModel[list[Term]]):
    @model_validator(mode="after")
    def _unique(self) -> Glossary:
        for attribute in ("key", "ja"):
            values = [getattr(term, attribute) for term in self.root]
            duplicates = sorted({v for v in values if values.count(v) > 1})
            if duplicates:
                raise ValueError(f"{attribute} used twice: {', '.join(duplicates)}")
        return self


class _State:
    terms: list[Term] = []
    chapter_titles: dict[str, dict[str, str]] = {}
    # Set per page before its Markdown is converted:
    pattern: re.Pattern | None = None
    by_surface: dict[str, Term] = {}
    href: str = ""
    language: str = "ja"
    used: dict[str, Term] = {}  # terms linked on this page, for its cards


_state = _State()


# --- term cards in the prose ---------------------------------------------------------


class _TermLinker(Treeprocessor):
    """Link each term at its first use on the page, and again only in a far section."""

    def run(self, root: etree.Element) -> None:
        if _state.pattern is None:
            return
        self.offset = 0  # characters of prose seen so far
        self.last: dict[str, int] = {}  # term key -> offset of its last link
        self.section: set[str] = set()  # terms linked in the current h2 section
        for child in list(root):
            if child.tag == "h2":
                self.section = set()
            self._visit(child)

    def _visit(self, el: etree.Element) -> None:
        if el.tag in SKIP_TAGS or SKIP_CLASSES & set((el.get("class") or "").split()):
            return
        if el.text:
            el.text, created = self._split(el.text)
            for index, new in enumerate(created):
                el.insert(index, new)
        for child in list(el):
            if child.get("class") == "glossary-term":
                continue
            self._visit(child)
            if child.tail:
                child.tail, created = self._split(child.tail)
                position = list(el).index(child)
                for offset, new in enumerate(created, start=1):
                    el.insert(position + offset, new)

    def _wanted(self, key: str, at: int) -> bool:
        if key in self.section:
            return False
        return key not in self.last or at - self.last[key] >= FAR

    def _split(self, text: str):
        """Return (text before the first new link, [links, each carrying its tail])."""
        created: list[etree.Element] = []
        head, last = None, 0
        for match in _state.pattern.finditer(text):
            term = _state.by_surface[match.group(0)]
            at = self.offset + match.start()
            if not self._wanted(term.key, at):
                continue
            self.section.add(term.key)
            self.last[term.key] = at
            _state.used[term.key] = term
            before = text[last:match.start()]
            if created:
                created[-1].tail = before
            else:
                head = before
            link = etree.Element("a", {"href": f"{_state.href}#{term.key}", "class": "glossary-term",
                                       "data-glossary": term.key})
            link.text = match.group(0)
            created.append(link)
            last = match.end()
        self.offset += len(text)
        if not created:
            return text, []
        created[-1].tail = text[last:]
        return head, created


class _GlossaryExtension(Extension):
    def extendMarkdown(self, md) -> None:
        # After toc (5): headings keep their plain text and ids.
        md.treeprocessors.register(_TermLinker(md), "glossary_terms", 4)


_extension = _GlossaryExtension()


def _card_text(term: Term, language: str) -> str:
    """The tooltip: the term in both languages, then the one-line definition."""
    abbr = term.abbr if term.abbr and term.abbr not in term.en else None
    if language == "ja":
        names = [name for name in (abbr, term.en) if name and name not in term.ja]
        return f"{term.ja}（{', '.join(names)}）: {term.def_ja}" if names else f"{term.ja}: {term.def_ja}"
    name = f"{term.en} ({abbr})" if abbr else term.en
    if term.ja not in (term.en, term.abbr):
        name += f" — {term.ja}"
    return f"{name}: {term.def_en}"


def _surfaces(term: Term, language: str) -> list[str]:
    if language == "ja":
        return [term.ja] + ([term.abbr] if term.abbr and term.abbr != term.ja else [])
    if term.abbr:
        return [term.abbr]
    # English prose writes "hypervisor" mid-sentence and "Hypervisor" at its start.
    return [term.en, term.en[0].lower() + term.en[1:]]


def _pattern_for(language: str):
    by_surface = {}
    for term in _state.terms:
        for surface in _surfaces(term, language):
            by_surface.setdefault(surface, term)
    pieces = []
    for surface in sorted(by_surface, key=len, reverse=True):  # longest first: 準仮想化 before 仮想化
        escaped = re.escape(surface)
        if surface[0].isascii() and surface[0].isalnum():
            escaped = r"(?<![A-Za-z0-9_\-])" + escaped
        if surface[-1].isascii() and surface[-1].isalnum():
            escaped += r"(?![A-Za-z0-9_])"
        pieces.append(escaped)
    return re.compile("|".join(pieces)) if pieces else None, by_surface


# --- hook events -----------------------------------------------------------------------


def on_config(config):
    """Load the glossary and the chapter titles; register the term linker."""
    path = Path(config.docs_dir) / "_data" / "glossary.yml"
    try:
        glossary = _yaml_data.load(path.read_text(encoding="utf-8"), Glossary, source=str(path))
    except _yaml_data.DataError as error:
        raise PluginError(f"glossary: {error}") from None
    course = yaml.safe_load((Path(config.docs_dir) / "_data" / "course.yml").read_text(encoding="utf-8"))
    _state.chapter_titles = {page["slug"]: page["title"] for page in course["pages"]}
    for term in glossary.root:
        if term.chapter not in _state.chapter_titles:
            line = _line_of_key(path, term.key)
            raise PluginError(f"glossary: {path}:{line}: chapter: '{term.chapter}' is not a page of course.yml")
    _state.terms = glossary.root
    if _extension not in config.markdown_extensions:
        config.markdown_extensions.append(_extension)
    return config


def on_page_markdown(markdown, page, config, files, **kwargs):
    """Prepare the term linker for this page; expand the glossary marker."""
    language = getattr(page.file, "locale", None) or "ja"
    _state.language = language
    if MARKER in markdown:
        _state.pattern = None  # no links from the glossary to itself
        return markdown.replace(MARKER, _glossary_html(language, page, files))
    _state.pattern, _state.by_surface = _pattern_for(language)
    _state.used = {}
    # A link to the Markdown file: MkDocs resolves it (to the English glossary in
    # the English build) and checks that the anchor exists.
    _state.href = get_relative_url("glossary.md", page.file.src_uri)
    return markdown


def on_page_content(html, page, config, files, **kwargs):
    """Give the page the cards of the terms it links, once each."""
    if not _state.used:
        return html
    language = getattr(page.file, "locale", None) or "ja"
    cards = {key: _card(term, language) for key, term in sorted(_state.used.items())}
    _state.used = {}
    page.meta["glossary_cards"] = True
    payload = json.dumps(cards, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    return html + f'\n<script type="application/json" data-glossary-cards>{payload}</script>\n'


def _card(term: Term, language: str) -> dict[str, str]:
    """A card: the term's names in both languages, and its one-line definition."""
    name, _, definition = _card_text(term, language).partition(": ")
    return {"name": name, "def": definition}


def _line_of_key(path: Path, key: str) -> int | str:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if re.match(rf"^\s*-?\s*key:\s*{re.escape(key)}\s*$", line):
            return number
    return "?"


# --- the glossary page -------------------------------------------------------------------


def _chapter_link(term: Term, language: str, page, files) -> str:
    title = _state.chapter_titles[term.chapter][language]
    for candidate in (f"{term.chapter}.md", f"{term.chapter}/index.md"):
        file = files.get_file_from_path(candidate)
        if file:
            return f'<a href="{get_relative_url(file.url, page.url)}">{_escape(title)}</a>'
    return f"{_escape(title)}（{STRINGS[language]['soon']}）" if language == "ja" else f"{_escape(title)} ({STRINGS[language]['soon']})"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _glossary_html(language: str, page, files) -> str:
    strings = STRINGS[language]
    if language == "ja":
        terms = sorted(_state.terms, key=lambda t: (t.reading or t.ja))
    else:
        terms = sorted(_state.terms, key=lambda t: (t.abbr or t.en).lower())
    out = ['<dl class="glossary-list">']
    for term in terms:
        if language == "ja":
            head = f'<span class="glossary-list__term" lang="ja">{_escape(term.ja)}</span>'
            if term.reading and term.reading != term.ja:
                head += f'<span class="glossary-list__reading">（{_escape(term.reading)}）</span>'
            other = _escape(term.en) if not term.abbr or term.abbr == term.ja else f"{_escape(term.abbr)}: {_escape(term.en)}"
            definition = term.def_ja
        else:
            head = f'<span class="glossary-list__term">{_escape(term.abbr or term.en)}</span>'
            other = (f"{_escape(term.en)} · " if term.abbr else "") + f'<span lang="ja">{_escape(term.ja)}</span>'
            definition = term.def_en
        # One <div> per entry (allowed in a <dl>): the unit the page draws only near the
        # screen (extra.css, content-visibility).
        out.append(
            f'<div class="glossary-list__entry">'
            f'<dt id="{term.key}" data-term="{term.key}">{head} <span class="glossary-list__other">{other}</span></dt>'
            f'<dd><p>{_escape(definition)}</p>'
            f'<p class="glossary-list__chapter">{strings["chapter"]}: {_chapter_link(term, language, page, files)}</p></dd>'
            f'</div>'
        )
    out.append("</dl>")
    return "\n".join(out)
