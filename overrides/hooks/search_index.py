"""One search index per language, holding the glossary's aliases (CONTRIBUTING.md#search).

Material's search plugin writes ``search/search_index.json`` and mkdocs-static-i18n
merges both languages into it, so every reader downloaded both languages and
searches on / returned /en/ pages. After the merge this hook writes instead:

- ``search/search_index.json``: the Japanese pages;
- ``en/search/search_index.json``: the English pages, and the fallback page of
  each chapter that is not translated yet (``/en/<chapter>/``, Japanese text).

The page's script (docs/assets/javascripts/search.js) fetches its own language's
file. In each index:

- The glossary is one document per term (``glossary/#<key>``) and /references/
  one per work (``references/#<key>``, its label weighted like a heading),
  instead of one long page each, so a query lands on the entry.
- ``keys``, a field mkdocs.yml declares with a heading's weight, holds a term's
  names: ja, en, abbr, the ``avoid`` spellings of glossary.yml, the katakana
  rendering of the English name (_katakana.py) and a token for the term itself
  (term_id()). They go into the term's glossary document and into the section of
  its chapter that defines it (defining_section()), so ポステッドインタラプト or
  "posted interrupts" finds io/#posted-interrupts, and that section outranks
  passing mentions. A term a section introduces as 「term（English）」 goes into
  its keys too. Names of several English words are stored joined (key_form()).
- ``ids`` holds the identifiers the text mentions, joined (KVM_EXIT_IO).
- Index and query are normalised the same way: ``keys`` also gets the course's
  spelling of any variant the text itself uses (the katakana rules of
  docs/_data/terms.prh.yml) and the NFKC form of full- and half-width words;
  ``config.query`` carries the same rules, the question words and particles to
  drop and the glossary's names with kanji to the script that rewrites the query.
- Documents weigh differently (``boost``), see SECTION_BOOST.
- The JSON is written as UTF-8: the plugin escapes every Japanese character as
  ``\\uXXXX`` (6 bytes instead of 3).

What the index leaves out of the pages (quiz answers, citation labels, chapter
reference lists, the lists of /references/ and /glossary/) is marked by
search_exclude.py.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import yaml
from mkdocs.plugins import event_priority

import _katakana  # beside this file; MkDocs puts the hook's folder on sys.path

DEFAULT_LANGUAGE = "ja"
SKIP_SECTIONS = {"summary", "quiz", "chapter-references"}
KATAKANA = "\u30a1-\u30fa\u30fc"

# Dropped from queries (search.js), longest first there: what readers put around
# the terms they look for. Particles only where they stand between two words.
QUESTION_WORDS = [
    "とは何ですか", "とはなんですか", "とは何か", "とは何", "とはなに", "とは",
    "って何ですか", "ってなんですか", "って何", "ってなに",
    "について知りたい", "について教えて", "について",
    "の違いは", "の違い", "違いは", "違い", "ちがい",
    "の仕組み", "仕組み", "しくみ", "の方法", "方法", "やり方", "の意味", "意味",
    "の役割", "役割", "の使い方", "使い方", "の比較", "比較", "を教えて", "教えて",
    "何ですか", "なんですか", "ですか", "とか",
]
PARTICLES = [
    "としての", "として", "における", "による", "について", "からの", "までの",
    "での", "との", "への", "から", "まで", "より", "って",
    "の", "を", "に", "は", "が", "と", "で", "も", "へ", "や",
]
# English: lunr's stop words and the words of a question.
STOP_WORDS = """a able about across after all almost also am among an and any are as at be
because been but by can cannot could dear did do does either else ever every for from get got had has
have he her hers him his how however i if in into is it its just least let like likely may me might most
must my neither no nor not of off often on only or other our own rather said say says she should since so
some than that the their them then there these they this tis to too twas us wants was we were what when
where which while who whom why will with would yet you your
difference differences between vs versus compare comparison explained explain meaning mean means work works
""".split()
_STOP = set(STOP_WORDS)
# A joined name's mark: letters, because the index's trimmer strips anything else
# from a token's ends, and a pair no query starts with.
JOINED = "qz"
TERM_MARK = "qg"
HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


# --- data ---------------------------------------------------------------------------------------


def _literal(pattern: str) -> str | None:
    """A prh pattern as the plain text it stands for (/ハイパーバイザ(?!ー)/ -> ハイパーバイザ)."""
    if not (pattern.startswith("/") and pattern.endswith("/")):
        return pattern
    body = re.sub(r"\(\?<?[!=][^)]*\)", "", pattern[1:-1])  # look-arounds
    body = re.sub(r"\((?:\?:)?([^()|]*)\)\?", "", body)  # optional groups
    body = re.sub(r".\?", "", body)  # optional characters
    return None if re.search(r"[\\\[\](){}|*+?.^$]", body) else body


def _regex(pattern: str) -> str:
    return pattern[1:-1] if pattern.startswith("/") and pattern.endswith("/") else re.escape(pattern)


def _is_katakana(text: str | None) -> bool:
    return bool(text) and re.fullmatch(f"[{KATAKANA}・]+", text) is not None


def spelling_rules(docs_dir: Path) -> list[tuple[str, str]]:
    """(regex, course spelling) for the term table's katakana spellings (サーバ -> サーバー)."""
    table = yaml.safe_load((docs_dir / "_data" / "terms.prh.yml").read_text(encoding="utf-8"))
    rules = []
    for rule in table.get("rules", []):
        patterns = rule.get("patterns") or [rule.get("pattern")]
        for pattern in filter(None, patterns):
            if _is_katakana(rule["expected"]) and _is_katakana(_literal(pattern)) and "(?<" not in pattern:
                rules.append((_regex(pattern), rule["expected"]))
    return rules


def load_glossary(docs_dir: Path) -> list[dict]:
    return yaml.safe_load((docs_dir / "_data" / "glossary.yml").read_text(encoding="utf-8")) or []


def aliases(term: dict) -> list[str]:
    """Every name a reader may type for ``term``, the course's own first."""
    names = [term["ja"], term.get("abbr"), term["en"]]
    names += [_literal(spelling) for spelling in term.get("avoid", [])]
    names.append(_katakana.render(term["en"]))
    seen, result = set(), []
    for name in names:
        if name and name.casefold() not in seen:
            seen.add(name.casefold())
            result.append(name)
    return result


def term_id(term: dict) -> str:
    """A token that stands for the glossary term itself (qgvirtualmachinemonitor).

    Material segments the kanji of a query with the index's own words and can
    lose part of a compound (高水準言語 may search as 高* 水準*). search.js finds
    the glossary's Japanese names in the query as whole strings
    (config.query.terms) and adds this token, which the term's glossary entry and
    defining section hold.
    """
    return TERM_MARK + re.sub(r"[^a-z0-9]", "", term["key"])


def term_names(glossary: list[dict]) -> list[list[str]]:
    """[name, term id] for every Japanese name, longest first, for search.js."""
    pairs = {}
    for term in glossary:
        for name in aliases(term):
            if not name.isascii():
                pairs.setdefault(_fold(name), term_id(term))
    return [[name, ident] for name, ident in sorted(pairs.items(), key=lambda p: (-len(p[0]), p[0]))]


def singular(word: str) -> str:
    """An English plural's singular, the same rule as search.js (interrupts -> interrupt)."""
    if not re.fullmatch(r"[a-z]{5,}", word):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if re.search(r"(?:s|x|ch|sh)es$", word):
        return word[:-2]
    if re.search(r"[^su]s$", word):
        return word[:-1]
    return word


def key_form(name: str) -> str:
    """How ``name`` is stored in keys: a name of several Latin words as one token.

    lunr has no phrases and no length normalisation, so "Full virtualization" as two
    words would match a query for "virtualization" as well as the name Virtualization
    does. Joined, without stop words and with its last word singular, behind a mark
    that keeps a prefix query (virtualization*) from matching it (qzfullvirtualization,
    qzshadowpagetable, qzkvmexitio), it matches only the whole name; search.js joins
    the reader's consecutive Latin words the same way.
    """
    if not re.fullmatch(r"[\x20-\x7e]+", name) or not re.search(r"[\s\-_]", name.strip()):
        return name
    words = [w for w in re.split(r"[^a-z0-9]+", name.lower()) if w and w not in _STOP]
    if len(words) < 2:
        return words[0] if words else name
    words[-1] = singular(words[-1])
    return JOINED + "".join(words)


# --- building one language's index ------------------------------------------------------------------


def _plain(html_text: str) -> str:
    return re.sub(r"<[^>]+>", " ", html_text).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def defining_section(term: dict, sections: list[dict]) -> dict | None:
    """The section of the term's chapter that defines it (see the module docstring)."""
    names = [_fold(name) for name in (term["ja"], term.get("abbr"), term["en"]) if name]
    candidates = [s for s in sections if s["location"].partition("#")[2] not in SKIP_SECTIONS]
    headed = [s for s in candidates if any(name in _fold(_plain(s["title"])) for name in names)]
    if headed:
        # The page, if its title names the term; else the heading that is the term,
        # else one that starts with it, else the shortest.
        def rank(section):
            title = _fold(_plain(section["title"])).strip()
            return ("#" in section["location"], title not in names,
                    not any(title.startswith(n) for n in names), len(title))

        return min(headed, key=rank)
    introduced = re.compile(
        "|".join(re.escape(_fold(term["ja"])) + r"\s*[（(]\s*" + re.escape(_fold(other))
                 for other in (term["en"], term.get("abbr")) if other)
    )
    for section in candidates:
        if introduced.search(_fold(_plain(section["text"]))):
            return section
    # Else the first section that mentions it; the page's opening only if none does
    # (a page outranks its sections, so a passing mention there would weigh most).
    mentions = [s for s in candidates if any(name in _fold(_plain(s["text"])) for name in names)]
    return next((s for s in mentions if "#" in s["location"]), mentions[0] if mentions else None)


def _glossary_document(term: dict, location: str, language: str) -> dict:
    esc = lambda s: s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")  # noqa: E731
    abbr = term.get("abbr")
    if language == DEFAULT_LANGUAGE:
        other = term["en"] if not abbr or abbr == term["ja"] else f"{abbr}: {term['en']}"
        title = term["ja"] if other.casefold() == term["ja"].casefold() else f"{term['ja']}（{other}）"
        definition = term["def_ja"]
    else:
        title = f"{abbr} ({term['en']})" if abbr and abbr != term["en"] else term["en"]
        title += f" · {term['ja']}" if term["ja"] not in (term["en"], abbr) else ""
        definition = term["def_en"]
    return {"location": location, "title": esc(title), "text": f"<p>{esc(definition)}</p>"}


def _add_keys(document: dict, names: list[str], field: str = "keys") -> None:
    """Add ``names`` (in their key form) to a field of the document, each word once:
    a word named twice must not weigh twice."""
    words = document.get(field, "").split()
    seen = {word.strip(",").casefold() for word in words}
    for name in names:
        fresh = [word for word in key_form(name).split() if word.casefold() not in seen]
        seen.update(word.casefold() for word in fresh)
        if fresh:
            words[-1:] = [words[-1] + ","] if words else []
            words += fresh
    if words:
        document[field] = " ".join(words)


# Words in full-width letters and digits (ＫＶＭ, ＳＲ－ＩＯＶ) or half-width katakana (ﾊｲﾊﾟｰ).
WIDE = re.compile(r"[０-９Ａ-Ｚａ-ｚ][０-９Ａ-Ｚａ-ｚ－＿／]*|[\uff66-\uff9f]+")


def variant_keys(document: dict, rules: list[tuple[str, str]]) -> list[str]:
    """The course's spellings of variants the document itself uses (normalising the index side)."""
    text = _plain(document["title"] + " " + document["text"])
    found = [expected for pattern, expected in rules if re.search(pattern, text)]
    found += [unicodedata.normalize("NFKC", run) for run in WIDE.findall(text)]
    return found


# A term introduced with its English name: シャドウページテーブル（shadow page table）.
INTRODUCED = re.compile(r"([0-9A-Za-z\u30a1-\u30fa\u30fc\u3400-\u9fff\-]{2,})（([A-Za-z][^（）]{1,80})）")


def introduced_keys(document: dict, glossary_names: set[str]) -> list[str]:
    """Terms the section introduces as 「term（English）」, and their English names.

    Glossary terms are left to their defining section (a chapter may introduce a
    term again where it returns to it).
    """
    found = []
    for term, english in INTRODUCED.findall(_plain(document["text"])):
        names = [part.strip() for part in re.split(r"[、,;]", english)]
        latin = [name for name in names
                 if re.fullmatch(r"[A-Za-z][A-Za-z0-9 .\-/]*", name) and len(name.split()) <= 4]
        if any(_fold(name) in glossary_names for name in [term, *latin]):
            continue
        if latin:
            found += ([] if HAN.search(term) else [term]) + latin
    return found


REFERENCE = re.compile(r'<li id="([^"]+)" class="reference"[^>]*>\s*<p class="reference__citation">(.*?)</p>', re.S)
NOT_FOR_FINDING = re.compile(
    r'<a [^>]*class="reference__link"[^>]*>.*?</a>|\(?<a href="https://web\.archive\.org/[^"]*">[^<]*</a>\)?'
    r'|<span class="reference__accessed">.*?</span>', re.S)


def reference_documents(html_text: str, page: str) -> list[dict]:
    """One document per entry of /references/: its label as title, the rest of its citation as text.

    Only the label (authors and year, or a short name) is weighted like a heading:
    a paper's title shares the words of the chapters that cite it.
    """
    documents = []
    for key, citation in REFERENCE.findall(html_text):
        citation = re.sub(r"\s+", " ", NOT_FOR_FINDING.sub("", citation)).strip()
        label = re.search(r"<strong>(.*?)</strong>", citation)
        rest = citation[label.end():] if label else citation
        text = re.sub(r"<[^>]+>", "", rest).strip()
        documents.append({"location": f"{page}#{key}", "title": label.group(1) if label else key,
                          "text": f"<p>{text}</p>", "boost": REFERENCE_BOOST})
    return documents


# Identifiers joined by - or _ (KVM_EXIT_IO, kvm-intel): the separator splits them
# into common words, so the field ``ids`` (a low weight, mkdocs.yml) also holds them
# joined (kvmexitio), as search.js looks them up.
IDENTIFIER = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z][A-Za-z0-9]*(?:[-_][A-Za-z0-9]+)+(?![A-Za-z0-9_-])")


def identifiers(document: dict) -> list[str]:
    text = _plain(document["title"] + " " + document["text"])
    return sorted({name for name in IDENTIFIER.findall(text) if len(name) >= 5})


# Material ranks a page (×5) far above a section (×2) that matches the same terms
# (its score × (1 + (page + share of the terms matched)²)), so a page whose title
# holds one of two terms outranked the section whose heading holds both. Sections
# weigh a little more to even that out; a page still wins on equal terms. A
# glossary entry ranks below the section that defines its term, above passing
# mentions; a reference by its label, below headings.
SECTION_BOOST = 1.6
DEFINING_BOOST = 2.0
DEFINING_PAGE_BOOST = 1.2  # a page whose title names the term (Material: ×5 already)
GLOSSARY_BOOST = 1.2
REFERENCE_BOOST = 1.2


def build_index(entries: list[dict], language: str, prefix: str, glossary: list[dict],
                rules: list[tuple[str, str]], config: dict, read_page=lambda location: "",
                directory_urls: bool = True) -> dict:
    """The index of one language from the search plugin's entries of that language's build.

    ``read_page(location)`` returns a built page's HTML (for /references/).
    """

    def page(slug: str) -> str:
        return f"{prefix}{slug}/" if directory_urls else f"{prefix}{slug}.html"

    docs = [dict(entry) for entry in entries]
    by_page: dict[str, list[dict]] = {}
    for doc in docs:
        by_page.setdefault(doc["location"].partition("#")[0], []).append(doc)

    glossary_page = page("glossary")
    glossary_docs = []
    for term in glossary:
        # In keys as text: the course's own word if it has no kanji, and the English
        # names (several words joined, key_form()). Every other Japanese name is held
        # by the term's token only (search.js finds the names in the query): as text,
        # kanji would be segmented (仮想|化) and a long katakana rendering
        # (ハードウェアバーチャルマシン) would both give a heading's weight to any
        # query that only shares a part of them.
        names = [name for name in aliases(term)
                 if name.isascii() or (name == term["ja"] and not HAN.search(name))] + [term_id(term)]
        document = _glossary_document(term, f"{glossary_page}#{term['key']}", language)
        _add_keys(document, names)
        document["boost"] = GLOSSARY_BOOST
        glossary_docs.append(document)
        section = defining_section(term, by_page.get(page(term["chapter"]), []))
        if section is not None:
            _add_keys(section, names)
            section["boost"] = DEFINING_BOOST if "#" in section["location"] else DEFINING_PAGE_BOOST
        # A section of another chapter whose heading is the term itself explains it
        # too; the term's own chapter still weighs more.
        exact = {_fold(name) for name in (term["ja"], term.get("abbr"), term["en"]) if name}
        for doc in docs:
            if "#" in doc["location"] and _fold(_plain(doc["title"])).strip() in exact and doc is not section:
                _add_keys(doc, names)
    if glossary_page in by_page:
        at = docs.index(by_page[glossary_page][0]) + 1  # sections follow their page's document
        docs[at:at] = glossary_docs

    glossary_names = {_fold(name) for term in glossary for name in aliases(term)}
    for doc in docs:
        introduced = introduced_keys(doc, glossary_names)
        _add_keys(doc, introduced + variant_keys(doc, rules))
        _add_keys(doc, identifiers(doc), field="ids")
        if "#" in doc["location"] and not doc.get("boost"):
            doc["boost"] = DEFINING_BOOST if introduced else SECTION_BOOST
        if not doc.get("boost"):
            doc.pop("boost", None)

    references_page = page("references")
    if references_page in by_page:
        at = docs.index(by_page[references_page][-1]) + 1
        docs[at:at] = reference_documents(read_page(references_page), references_page)

    return {
        "config": {
            **config,
            "query": {
                "spelling": [list(rule) for rule in rules],
                "questions": sorted(QUESTION_WORDS, key=len, reverse=True),
                "particles": sorted(PARTICLES, key=len, reverse=True),
                "stop": STOP_WORDS,
                "joined": JOINED,
                "marks": [JOINED, TERM_MARK],
                "terms": term_names(glossary),
            },
        },
        "docs": docs,
    }


def belongs(location: str, prefix: str, prefixes: dict[str, str]) -> bool:
    """Whether ``location`` is a page of the language whose pages live under ``prefix``."""
    if prefix:
        return location.startswith(prefix)
    return not any(p and location.startswith(p) for p in prefixes.values())


# --- hook events -------------------------------------------------------------------------------------


class _State:
    entries: dict[str, list[dict]] = {}  # language -> the search plugin's entries of its build


def _read_page(site_dir: Path, location: str) -> str:
    path = site_dir / (location + "index.html" if location.endswith("/") else location)
    return path.read_text(encoding="utf-8") if path.exists() else ""


def _prefixes(config) -> dict[str, str]:
    """language -> URL prefix of its pages ('' for the default language)."""
    i18n = config.plugins.get("i18n")
    if not i18n:
        return {config.theme["language"]: ""}
    return {
        language.locale: "" if language.default else f"{language.locale}/"
        for language in i18n.config.languages
        if language.build
    }


@event_priority(-105)  # after the i18n plugin merged the languages (-100), before offline_package (-110)
def on_post_build(config, **kwargs):
    plugin = config.plugins.get("material/search") or config.plugins.get("search")
    if plugin is None or not plugin.config.enabled:
        return
    prefixes = _prefixes(config)
    language = config.theme["language"]
    i18n = config.plugins.get("i18n")
    if i18n is not None and not getattr(i18n, "building", False):
        # The outer build is the default language's; the i18n plugin has built the
        # others inside it and left theme.language at the last one.
        language = next((lang for lang, p in prefixes.items() if not p), language)
    prefix = prefixes.get(language, "")
    # In the last build the plugin holds the i18n plugin's merge of all languages.
    _State.entries[language] = [e for e in plugin.search_index.entries
                                if belongs(e["location"], prefix, prefixes)]

    docs_dir = Path(config.docs_dir)
    glossary, rules = load_glossary(docs_dir), spelling_rules(docs_dir)
    index_config = {key: plugin.config[key] for key in ("lang", "separator", "pipeline", "fields")}
    site_dir = Path(config.site_dir)
    for lang, entries in _State.entries.items():
        if lang not in prefixes:
            continue
        index = build_index(entries, lang, prefixes[lang], glossary, rules, index_config,
                            read_page=lambda location: _read_page(site_dir, location),
                            directory_urls=config.use_directory_urls)
        path = site_dir / prefixes[lang] / "search" / "search_index.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(index, ensure_ascii=False, separators=(",", ":"), default=str),
                        encoding="utf-8")
