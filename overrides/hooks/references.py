"""References: one data file, citations in the prose, per-page lists, the index page.

- ``docs/_data/references.yml`` is the single source of truth (fields modelled on
  CSL; schema below). Bad data stops the build with ``file:LINE: field: problem``.
- ``[@key]`` or ``[@key, §24.1]`` in a page becomes
  ``<a class="cite" href="…/references/#key">[Popek & Goldberg 1974]</a>``; an unknown
  key stops the build with ``page.md:LINE``. Code blocks and code spans are left alone.
- A page that cites anything gets an "この章の参考文献" list at its end.
- ``<!-- reference-index -->`` (on /references/) becomes every entry, grouped by
  type, each with ``data-ref-id``, its note, dates, archived copy and the pages
  that cite it. References that no page cites are reported in the build log.
"""

from __future__ import annotations

import html
import re
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from mkdocs.exceptions import PluginError
from mkdocs.plugins import get_plugin_logger
from mkdocs.utils import get_relative_url
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, RootModel, StringConstraints, model_validator

import _yaml_data  # beside this file; MkDocs puts the hook's folder on sys.path

log = get_plugin_logger("references")

INDEX_MARKER = "<!-- reference-index -->"
CITATION = re.compile(r"\[@(?P<key>[^\],\s]+)(?:,\s*(?P<locator>[^\]]+))?\]")
FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
CODE_SPAN = re.compile(r"(`+)(?:.+?)\1")

# Kinds of reference, so that a reader can tell a manual from a kernel document
# from a news report. The index groups them under the published section anchors
# (/references/#paper … #talk must not disappear: the permalink contract).
GROUPS = {
    "paper": ["paper"],
    "book": ["book"],
    "thesis": ["thesis"],
    "spec": ["spec", "manual"],
    "documentation": ["kernel-doc", "project-doc", "man-page", "source"],
    "article": ["announcement", "news", "article", "blog", "mailing-list", "encyclopedia", "historical-article"],
    "talk": ["talk"],
}
TYPES = [kind for kinds in GROUPS.values() for kind in kinds]
Kind = Literal[
    "paper", "book", "thesis", "spec", "manual", "kernel-doc", "project-doc", "man-page", "source",
    "announcement", "news", "article", "blog", "mailing-list", "encyclopedia", "historical-article", "talk",
]
STRINGS = {
    "ja": {
        "heading": "この章の参考文献", "cited_in": "引用しているページ", "not_cited": "まだどのページからも引用していません",
        "archived": "アーカイブ", "accessed": "参照", "issued_unknown": "発行日未確認", "all": "すべて",
        "type": "種類", "language": "言語", "lang_ja": "日本語", "lang_en": "英語",
        "retired": "一覧から外した資料", "replaced_by": "代わりの資料",
        "retired_intro": "以前この一覧にあり、ミラーサイトだった、または引用しなくなったために外した資料です。以前のリンクから来た方のために残しています。",
        "groups": {"paper": "論文", "book": "書籍", "thesis": "学位論文・技術報告", "spec": "仕様書・マニュアル",
                   "documentation": "ドキュメントとソースコード", "article": "記事", "talk": "講演"},
        "types": {"paper": "論文", "book": "書籍", "thesis": "学位論文・技術報告", "spec": "仕様書",
                  "manual": "ベンダーのマニュアル・製品文書", "kernel-doc": "Linuxカーネルの文書",
                  "project-doc": "プロジェクトの文書", "man-page": "manページ", "source": "ソースコード・コミット",
                  "announcement": "発表・告知", "news": "ニュース記事", "article": "解説記事", "blog": "ブログ",
                  "mailing-list": "メーリングリスト", "encyclopedia": "百科事典",
                  "historical-article": "初期の日本語記事（2011〜2015年ごろ）", "talk": "講演"},
    },
    "en": {
        "heading": "References for this chapter", "cited_in": "Cited in", "not_cited": "Not cited by any page yet",
        "archived": "archived copy", "accessed": "accessed", "issued_unknown": "date unconfirmed", "all": "All",
        "type": "Kind", "language": "Language", "lang_ja": "Japanese", "lang_en": "English",
        "retired": "Entries no longer in the index", "replaced_by": "Now cited instead",
        "retired_intro": "These were in the index before and were removed because they were mirror sites or are no longer cited. They stay here for readers who follow an older link.",
        "groups": {"paper": "Papers", "book": "Books", "thesis": "Theses and reports", "spec": "Specifications and manuals",
                   "documentation": "Documentation and source code", "article": "Articles", "talk": "Talks"},
        "types": {"paper": "Paper", "book": "Book", "thesis": "Thesis or report", "spec": "Specification",
                  "manual": "Vendor manual or product documentation", "kernel-doc": "Linux kernel documentation",
                  "project-doc": "Project documentation", "man-page": "Manual page", "source": "Source code or commit",
                  "announcement": "Announcement", "news": "News report", "article": "Explainer article", "blog": "Blog post",
                  "mailing-list": "Mailing-list post", "encyclopedia": "Encyclopedia",
                  "historical-article": "Early Japanese article (c. 2011–2015)", "talk": "Talk"},
    },
}


def _iso(value):
    return value.isoformat() if isinstance(value, date) else value


def _valid_partial_date(value: str) -> str:
    parts = value.split("-")
    try:
        date(int(parts[0]), int(parts[1]) if len(parts) > 1 else 1, int(parts[2]) if len(parts) > 2 else 1)
    except (ValueError, IndexError):
        raise ValueError(f"{value!r} is not a real date (YYYY, YYYY-MM or YYYY-MM-DD)") from None
    return value


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Url = Annotated[str, StringConstraints(pattern=r"^https?://\S+$")]
PartialDate = Annotated[
    str,
    BeforeValidator(_iso),
    StringConstraints(pattern=r"^\d{4}(?:-\d{2}(?:-\d{2})?)?$"),
    AfterValidator(_valid_partial_date),
]
FullDate = Annotated[
    str, BeforeValidator(_iso), StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$"), AfterValidator(_valid_partial_date)
]


class Reference(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]
    type: Kind
    title: Text
    short: Text | None = None  # the citation label, where authors and year do not make one
    short_en: Text | None = None  # the label on English pages, where `short` is Japanese
    authors: list[Text] = []
    container: Text | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    issued: PartialDate | None = None
    url: Url
    doi: str | None = None
    accessed: FullDate | None = None
    language: Literal["ja", "en", "pl"]  # pl: one Polish source (history of AMD-V)
    archived: Url | None = None
    note_ja: Text
    note_en: Text

    def label(self, language: str = "ja") -> str:
        if language != "ja" and self.short_en:
            return self.short_en
        if self.short:
            return self.short
        year = f" {self.issued[:4]}" if self.issued else ""
        if not self.authors:
            return self.title + year
        names = [author.split()[-1] for author in self.authors]
        if len(names) == 1:
            people = names[0]
        elif len(names) == 2:
            people = f"{names[0]} & {names[1]}"
        else:
            people = f"{names[0]} et al."
        return people + year


class References(RootModel[list[Reference]]):
    @model_validator(mode="after")
    def _unique(self) -> References:
        seen = set()
        for ref in self.root:
            if ref.key in seen:
                raise ValueError(f"key '{ref.key}' is used twice")
            seen.add(ref.key)
        return self


# --- state for one language's build ---------------------------------------------

class RetiredReference(BaseModel):
    """An entry that left the index; its anchor stays (the permalink contract)."""

    model_config = ConfigDict(extra="forbid")
    key: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]
    replaced_by: str | None = None
    note_ja: Text
    note_en: Text


class RetiredReferences(RootModel[list[RetiredReference]]):
    pass


_refs: dict[str, Reference] = {}
_retired: dict[str, RetiredReference] = {}
_cited_by: dict[str, list] = defaultdict(list)  # key -> pages citing it


def on_config(config):
    """Load and validate the reference data."""
    path = Path(config.docs_dir) / "_data" / "references.yml"
    try:
        data = _yaml_data.load(path.read_text(encoding="utf-8"), References, source=str(path))
    except _yaml_data.DataError as error:
        raise PluginError(f"references: {error}") from None
    _refs.clear()
    _refs.update({ref.key: ref for ref in data.root})
    retired_path = path.with_name("retired-references.yml")
    try:
        retired = _yaml_data.load(retired_path.read_text(encoding="utf-8"), RetiredReferences, source=str(retired_path))
    except _yaml_data.DataError as error:
        raise PluginError(f"references: {error}") from None
    _retired.clear()
    for entry in retired.root:
        line = _line_of(retired_path, entry.key)
        if entry.key in _refs:
            raise PluginError(f"references: {retired_path}:{line}: '{entry.key}' is retired but still in references.yml")
        if entry.replaced_by and entry.replaced_by not in _refs:
            raise PluginError(f"references: {retired_path}:{line}: replaced_by '{entry.replaced_by}' is not a reference")
        _retired[entry.key] = entry
    _cited_by.clear()
    return config


def _line_of(path: Path, key: str) -> int | str:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if re.match(rf"^\s*-?\s*key:\s*{re.escape(key)}\s*$", line):
            return number
    return "?"


def on_page_markdown(markdown, page, config, files, **kwargs):
    """Turn [@key] into citation links; append the page's reference list."""
    language = _language(page)
    # A Markdown link to the index's Markdown file: MkDocs resolves it (to the English
    # index in the English build) and checks the anchor, and being a real link in the
    # document tree keeps other hooks (the glossary's term links) out of its text.
    target = get_relative_url("references.md", page.file.src_uri)
    href = get_relative_url(_references_url(language), page.url)
    cited: list[str] = []

    def cite(match, line_number):
        key, locator = match["key"], match["locator"]
        if key in _retired:
            instead = _retired[key].replaced_by
            hint = f"; cite '{instead}' instead" if instead else ""
            raise PluginError(f"references: {page.file.src_uri}:{line_number}: '{key}' was retired (retired-references.yml){hint}")
        if key not in _refs:
            raise PluginError(f"references: {page.file.src_uri}:{line_number}: unknown reference key '{key}'")
        if key not in cited:
            cited.append(key)
        ref = _refs[key]
        label = ref.label(language) + (f", {locator.strip()}" if locator else "")
        text = re.sub(r"([\\\[\]*_`<])", r"\\\1", label)
        title = ref.title.replace('"', "'")
        return f'[\\[{text}\\]]({target}#{key} "{title}"){{: .cite }}'

    lines = markdown.split("\n")
    fence = None
    for number, line in enumerate(lines):
        opening = FENCE.match(line)
        if fence:
            if opening and opening[1].startswith(fence):
                fence = None
            continue
        if opening:
            fence = opening[1]
            continue
        if "[@" in line:
            lines[number] = _outside_code(line, lambda text: CITATION.sub(lambda m: cite(m, number + 1), text))
    markdown = "\n".join(lines)

    for key in cited:
        _cited_by[key].append(page)
    if cited:
        markdown += _page_list(cited, language, href)
    if INDEX_MARKER in markdown:
        markdown = markdown.replace(INDEX_MARKER, _index(language))
    return markdown


def on_post_page(output, page, config, **kwargs):
    """Fill in the index's "cited in" lists, once every page has been read."""
    if 'data-cited-in="' not in output:
        return output
    language = _language(page)

    def links(match):
        key = match[1]
        citing = _cited_by.get(key, [])
        if not citing:
            return f'<span class="cited-in cited-in--none">{STRINGS[language]["not_cited"]}</span>'
        items = ", ".join(
            f'<a href="{get_relative_url(p.url, page.url)}">{html.escape(p.title or p.url)}</a>' for p in citing
        )
        return f'<span class="cited-in">{STRINGS[language]["cited_in"]}: {items}</span>'

    return re.sub(r'<span class="cited-in" data-cited-in="([^"]+)"></span>', links, output)


def on_post_build(config, **kwargs):
    """Report the references that no page cites (information, not an error)."""
    uncited = sorted(set(_refs) - set(_cited_by))
    if uncited:
        log.info(f"{len(uncited)} references are not cited by any page: {', '.join(uncited)}")


# --- rendering -------------------------------------------------------------------


def _language(page) -> str:
    return getattr(page.file, "locale", None) or "ja"


def _references_url(language: str) -> str:
    return "references/" if language == "ja" else f"{language}/references/"


def _outside_code(line: str, transform) -> str:
    """Apply ``transform`` to the parts of ``line`` that are not code spans."""
    out, last = [], 0
    for span in CODE_SPAN.finditer(line):
        out.append(transform(line[last:span.start()]))
        out.append(span.group(0))
        last = span.end()
    out.append(transform(line[last:]))
    return "".join(out)


def format_entry(ref: Reference, language: str) -> str:
    """One reference as HTML: authors, title, container, details, date, link."""
    parts = []
    if ref.authors:
        parts.append(html.escape(", ".join(ref.authors)) + ".")
    title = html.escape(ref.title)
    parts.append(f"「{title}」" if ref.language == "ja" else f"“{title}.”")
    details = [html.escape(ref.container)] if ref.container else []
    if ref.volume:
        details.append(f"{html.escape(ref.volume)}" + (f"({html.escape(ref.issue)})" if ref.issue else ""))
    if ref.pages:
        details.append(f"pp. {html.escape(ref.pages)}")
    details.append(ref.issued or STRINGS[language]["issued_unknown"])
    parts.append(", ".join(details) + ".")
    link = f"https://doi.org/{ref.doi}" if ref.doi else ref.url
    parts.append(f'<a href="{html.escape(link)}" class="reference__link">{html.escape(link)}</a>')
    if ref.archived:
        parts.append(f'(<a href="{html.escape(ref.archived)}">{STRINGS[language]["archived"]}</a>)')
    return " ".join(parts)


def _page_list(cited: list[str], language: str, href: str) -> str:
    strings = STRINGS[language]
    items = "\n".join(
        f'<li><a href="{href}#{key}">[{html.escape(_refs[key].label(language))}]</a> '
        f"{format_entry(_refs[key], language)}</li>"
        for key in cited
    )
    return (
        f'\n\n## {strings["heading"]} {{#chapter-references}}\n\n'
        f'<ol class="chapter-references">\n{items}\n</ol>\n'
    )


def _index(language: str) -> str:
    strings = STRINGS[language]
    note = "note_ja" if language == "ja" else "note_en"
    options = "".join(f'<option value="{t}">{strings["types"][t]}</option>' for t in TYPES)
    out = [
        '<div class="reference-filter" data-reference-filter hidden>',
        f'<label>{strings["type"]} <select data-filter="type"><option value="">{strings["all"]}</option>{options}</select></label>',
        f'<label>{strings["language"]} <select data-filter="language"><option value="">{strings["all"]}</option>'
        f'<option value="ja">{strings["lang_ja"]}</option><option value="en">{strings["lang_en"]}</option></select></label>',
        "</div>",
        "",
    ]
    for group, kinds in GROUPS.items():
        in_group = [kind for kind in kinds if any(r.type == kind for r in _refs.values())]
        if not in_group:
            continue
        out += [f'## {strings["groups"][group]} {{#{group}}}', ""]
        for kind in in_group:
            refs = sorted((r for r in _refs.values() if r.type == kind), key=lambda r: (r.language != language, r.label(language)))
            if len(kinds) > 1:
                out += [f'### {strings["types"][kind]} {{#kind-{kind}}}', ""]
            out += _entries(refs, strings, note, language)
    out += _retired_section(strings, note, language)
    return "\n".join(out)


def _retired_section(strings, note, language) -> list[str]:
    """Anchors for entries that left the index, each with the reason and its replacement."""
    if not _retired:
        return []
    out = [f'## {strings["retired"]} {{#retired}}', "", strings["retired_intro"], "", '<ul class="reference-list reference-list--retired">']
    for key, entry in sorted(_retired.items()):
        replacement = ""
        if entry.replaced_by:
            ref = _refs[entry.replaced_by]
            replacement = f' {strings["replaced_by"]}: <a href="#{ref.key}">[{html.escape(ref.label(language))}]</a>'
        out.append(
            f'<li id="{key}" class="reference reference--retired" data-retired-ref-id="{key}"><p class="reference__citation"><code>{key}</code></p>'
            f'<p class="reference__note">{html.escape(getattr(entry, note))}{replacement}</p></li>'
        )
    return out + ["</ul>", ""]


def _entries(refs, strings, note, language) -> list[str]:
    out = ['<ul class="reference-list">']
    for ref in refs:
        accessed = f' <span class="reference__accessed">({strings["accessed"]} {ref.accessed})</span>' if ref.accessed else ""
        out.append(
            f'<li id="{ref.key}" class="reference" data-ref-id="{ref.key}" data-type="{ref.type}" '
            f'data-language="{ref.language}" lang="{ref.language}">'
            f'<p class="reference__citation"><strong>[{html.escape(ref.label(language))}]</strong> '
            f"{format_entry(ref, language)}{accessed}</p>"
            f'<p class="reference__note" lang="{language}">{html.escape(getattr(ref, note))}</p>'
            f'<p class="reference__meta" lang="{language}"><span class="reference__kind">{strings["types"][ref.type]}</span>'
            f' · <span class="cited-in" data-cited-in="{ref.key}"></span></p>'
            f"</li>"
        )
    return out + ["</ul>", ""]
