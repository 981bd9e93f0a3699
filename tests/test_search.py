"""Search through the real search box answers the way readers ask (CONTRIBUTING.md#search).

The terms table (tests/data/search_terms.tsv) is typed into Material's search box
in Chromium, one language's page at a time; every expected page must be among the
first three results. recall@1 and recall@3 over the whole table are printed.
Other tests: each language searches its own pages, the first search downloads one
language and shows results for what was typed while the index loaded, an input
method's composition updates the results, and the index holds the glossary's
aliases with the sections that define the terms.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest

from tests.support import site

TERMS_FILE = site.ROOT / "tests" / "data" / "search_terms.tsv"
TOP = 3


def load_terms() -> list[tuple[str, str, str]]:
    rows = []
    for number, line in enumerate(TERMS_FILE.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 3:
            raise ValueError(f"{TERMS_FILE.name}:{number}: expected 3 tab-separated fields")
        rows.append(tuple(fields))
    return rows


# --- driving the real search box ------------------------------------------------------------

BOX = "input.md-search__input"
META = ".md-search-result__meta"


def open_search(page, url: str) -> None:
    """Open ``url``, focus the search box and wait until the index is ready."""
    page.goto(url)
    page.locator(BOX).click()
    _settle(page, "")


def _placeholder(page) -> str:
    return page.evaluate(
        "JSON.parse(document.getElementById('__config').textContent)"
        ".translations['search.result.placeholder']"
    )


def _settle(page, query: str) -> None:
    """Type ``query`` as a reader would and wait for the results that belong to it."""
    box = page.locator(BOX)
    box.fill(query)
    # Material reads the box on keyup; fill() sends no key events.
    box.press("End")
    placeholder = _placeholder(page)
    if query:
        page.wait_for_function(
            "([meta, placeholder]) => { const t = document.querySelector(meta).textContent.trim();"
            " return t !== placeholder && !document.querySelector('.md-search-result__list').hidden"
            " && t !== '' && !/初期化|Initializing/.test(t); }",
            arg=[META, placeholder],
            timeout=20_000,
        )
    else:
        page.wait_for_function(
            "([meta, placeholder]) => document.querySelector(meta).textContent.trim() === placeholder",
            arg=[META, placeholder],
            timeout=20_000,
        )


def ranked(page, query: str) -> list[str]:
    """The result pages for ``query``, best first, as URL paths."""
    _settle(page, "")
    _settle(page, query)
    hrefs = page.locator(".md-search-result__item").evaluate_all(
        "items => items.map(li => li.querySelector('a').href)"
    )
    return [urlsplit(href).path for href in hrefs]


def run_table(browser, base_url: str, rows, problems: list | None = None):
    """Every row's ranked results, one page load per starting page: [(row, [path, …])].

    ``problems`` receives console errors, failed and outside requests.
    """
    from tests.conftest import open_context

    results = []
    context, log = open_context(browser, base_url)
    try:
        page = context.new_page()
        for start in dict.fromkeys(row[1] for row in rows):
            open_search(page, base_url + start.lstrip("/"))
            for row in rows:
                if row[1] == start:
                    results.append((row, ranked(page, row[0])))
    finally:
        context.close()
    if problems is not None:
        problems.extend(log.problems())
    return results


def recall(results, k: int) -> float:
    hits = sum(1 for (_, _, expected), found in results if expected in found[:k])
    return hits / len(results) if results else 0.0


# --- the table --------------------------------------------------------------------------------


@pytest.mark.browser
def test_search_terms_table(browser, base_url, site_dir, capsys):
    rows = load_terms()
    # Every page of the URL map exists: a row that expects a page the site lacks is a typo.
    unknown = [row for row in rows if not (site_dir / row[2].strip("/") / "index.html").is_file()]
    assert unknown == [], f"rows expecting pages the site does not have: {unknown}"
    pending: list = []
    problems: list[str] = []
    results = run_table(browser, base_url, rows, problems)
    with capsys.disabled():
        print(
            f"\nsearch: {len(rows)} queries, recall@1 {recall(results, 1):.3f}, "
            f"recall@{TOP} {recall(results, TOP):.3f}"
            + (f"; {len(pending)} waiting for their page: {[row[0] for row in pending]}" if pending else "")
        )
    misses = [
        f"{query!r} from {start}: {expected} not in the top {TOP}: {found[:5]}"
        for (query, start, expected), found in results
        if expected not in found[:TOP]
    ]
    assert misses == []
    assert problems == []


@pytest.mark.browser
def test_search_for_nonsense_finds_nothing(page, base_url):
    open_search(page, base_url)
    assert ranked(page, "zzqxjv") == []


def test_table_rows_are_not_page_titles():
    """Rows are what readers type, never a page title copied verbatim (CONTRIBUTING.md#search)."""
    import yaml

    course = yaml.safe_load((site.ROOT / "docs" / "_data" / "course.yml").read_text(encoding="utf-8"))
    titles = {title for page in course["pages"] for title in page["title"].values()}
    lines = TERMS_FILE.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("# Issue 18"))
    new_rows = [line.split("\t")[0] for line in lines[start:] if line.strip() and not line.startswith("#")]
    assert len(new_rows) >= 60
    assert [query for query in new_rows if query in titles] == []


# --- one language per search ------------------------------------------------------------------


@pytest.mark.browser
def test_each_language_searches_its_own_pages(page, base_url):
    for start, queries, own in [
        ("/", ["KVM", "hypervisor", "ハイパーバイザー"], lambda path: not path.startswith("/en/")),
        ("/en/", ["KVM", "hypervisor", "ハイパーバイザー"], lambda path: path.startswith("/en/")),
    ]:
        open_search(page, base_url + start.lstrip("/"))
        for query in queries:
            found = ranked(page, query)
            assert found, (start, query)
            assert [path for path in found if not own(path)] == [], (start, query, found)
            # The links highlight the reader's words, not the index's own tokens.
            highlights = page.locator(".md-search-result__item a").evaluate_all(
                "els => els.map(e => new URL(e.href).searchParams.get('h') || '')")
            assert not [h for h in highlights if re.search(r"\b(?:qz|qg)[a-z0-9]", h)], highlights


@pytest.mark.browser
def test_queries_are_normalised_like_the_index(page, base_url):
    """Question words, particles, widths, the term table and final long vowels."""
    open_search(page, base_url)
    normalise = lambda query: page.evaluate("q => window.kasoukaSearch.normalise(q)", query)  # noqa: E731
    # The word, its prefix without the final ー, the glossary term's token.
    assert normalise("ハイパーバイザーとは").split() == ["ハイパーバイザー^10", "ハイパーバイザ", "qghypervisor^30"]
    assert normalise("%st").split() == ["st^10", "st"]  # signs, as the index trims them
    assert "違い" not in normalise("完全仮想化と準仮想化の違い")
    assert normalise("完全仮想化と準仮想化の違い").split()[:2] == ["完全仮想化", "準仮想化"]
    assert normalise("ＫＶＭ").split() == ["kvm^10", "kvm"]
    assert normalise("ｻｰﾊﾞ統合").startswith("サーバ統合")  # half width, then サーバ* for サーバー
    assert "サーバー^10" in normalise("サーバ").split()  # the term table's spelling
    assert normalise("what is a hypervisor").split() == ["hypervisor^10", "hypervisor"]
    assert "qzshadowpagetable^30" in normalise("shadow page tables").split()
    assert "qzpagetable^2" in normalise("shadow page tables").split()
    assert "qzkvmexitio^30" in normalise("KVM_EXIT_IO").split()
    assert normalise("タイプ1").split() == ["タイプ^10", "タイプ", "1^10", "1"]


# --- first use ----------------------------------------------------------------------------------


@pytest.mark.browser
def test_results_appear_for_what_was_typed_while_the_index_loaded(page, base_url):
    held = []
    page.route("**/search_index.json", lambda route: held.append(route))
    page.goto(base_url, wait_until="networkidle")
    assert held == []  # nothing before the reader searches
    page.locator(BOX).click()
    page.wait_for_function("true")  # let the held request arrive
    page.keyboard.type("ハイパーバイザーとは")  # as an input method commits: input events, no keys
    assert len(held) == 1 and urlsplit(held[0].request.url).path == "/search/search_index.json"
    assert page.locator(".md-search-result__item").count() == 0
    held[0].continue_()
    # No further typing: the results come for what is in the box.
    page.locator(".md-search-result__item").first.wait_for(timeout=20_000)
    found = [urlsplit(h).path for h in page.locator(".md-search-result__item > a").evaluate_all(
        "els => els.map(e => e.href)")]
    assert "/virtualization/" in found[:TOP]


@pytest.mark.browser
def test_index_is_loaded_only_when_the_reader_searches(page, base_url):
    index_requests = []
    page.on("request", lambda r: "search_index.json" in r.url and index_requests.append(r.url))
    page.goto(base_url, wait_until="networkidle")
    assert index_requests == []
    with page.expect_request(lambda r: "search_index.json" in r.url):
        page.locator(BOX).click()


# --- input methods ------------------------------------------------------------------------------

COMPOSE = """([steps]) => {
  const box = document.querySelector('input.md-search__input');
  box.focus();
  for (const [type, init, value] of steps) {
    if (value !== null) box.value = value;
    const Event = type.startsWith('key') ? KeyboardEvent : type.startsWith('composition') ? CompositionEvent : InputEvent;
    box.dispatchEvent(new Event(type, {bubbles: true, cancelable: true, ...init}));
  }
}"""


def _ime_steps(reading: str, committed: str, commit_key: bool) -> list:
    """The events Chromium sends while an input method composes ``reading`` and commits it."""
    steps = [["keydown", {"key": "Process", "keyCode": 229}, None],
             ["compositionstart", {"data": ""}, None]]
    for end in range(1, len(reading) + 1):
        steps += [
            ["keydown", {"key": "Process", "keyCode": 229, "isComposing": True}, None],
            ["compositionupdate", {"data": reading[:end]}, None],
            ["input", {"inputType": "insertCompositionText", "data": reading[:end], "isComposing": True},
             reading[:end]],
            ["keyup", {"key": reading[end - 1], "keyCode": 229, "isComposing": True}, None],
        ]
    # Conversion, then the commit: Enter (keydown while composing, keyup after), or a
    # candidate picked with the mouse or a phone keyboard's suggestion (no key at all).
    steps += [["compositionupdate", {"data": committed}, None],
              ["input", {"inputType": "insertCompositionText", "data": committed, "isComposing": True}, committed]]
    if commit_key:
        steps.append(["keydown", {"key": "Enter", "keyCode": 229, "isComposing": True}, None])
    steps.append(["compositionend", {"data": committed}, None])
    if commit_key:
        steps.append(["keyup", {"key": "Enter", "keyCode": 13}, None])
    return steps


@pytest.mark.browser
@pytest.mark.parametrize("commit_key", [False, True], ids=["candidate-picked", "enter"])
def test_input_method_commit_updates_the_results(page, base_url, commit_key):
    open_search(page, base_url)
    url = page.url
    page.evaluate(COMPOSE, [_ime_steps("はいぱーばいざー", "ハイパーバイザー", commit_key)])
    page.wait_for_function(
        "() => [...document.querySelectorAll('.md-search-result__item > a')]"
        ".some(a => new URL(a.href).pathname === '/virtualization/')",
        timeout=10_000,
    )
    assert page.locator(BOX).input_value() == "ハイパーバイザー"
    assert page.url == url  # the Enter that committed the text did not open a result


# --- the index files -----------------------------------------------------------------------------


def _index(site_dir, prefix=""):
    return json.loads((site_dir / prefix / "search" / "search_index.json").read_text(encoding="utf-8"))


def test_each_language_has_its_own_index(site_dir):
    japanese, english = _index(site_dir), _index(site_dir, "en")
    ja_locations = [doc["location"] for doc in japanese["docs"]]
    en_locations = [doc["location"] for doc in english["docs"]]
    assert "virtualization/" in ja_locations and not [loc for loc in ja_locations if loc.startswith("en/")]
    assert en_locations and all(loc.startswith("en/") for loc in en_locations)
    assert "en/glossary/" in en_locations
    # UTF-8, not \\uXXXX: Japanese costs 3 bytes a character, not 6.
    raw = (site_dir / "search" / "search_index.json").read_text(encoding="utf-8")
    assert "仮想化" in raw and "\\u4eee" not in raw


def test_index_leaves_out_what_does_not_help_finding(site_dir):
    docs = _index(site_dir)["docs"]
    text = " ".join(doc["title"] + " " + doc["text"] for doc in docs)
    assert "答えと解説" not in text  # quiz answers
    assert not [doc for doc in docs if doc["location"].endswith("#chapter-references")]
    assert "(参照 20" not in text and "web.archive.org" not in text  # references: dates, links
    # The glossary and the references: one document per term and per work.
    locations = {doc["location"] for doc in docs}
    assert "glossary/#hypervisor" in locations
    assert "references/#popek-goldberg-1974" in locations


def test_glossary_names_lead_to_the_defining_section(site_dir):
    index = _index(site_dir)
    docs = {doc["location"]: doc for doc in index["docs"]}
    # A Japanese name the course does not use stands for the term's token ...
    assert ["ポステッドインタラプト", "qgpostedinterrupts"] in index["config"]["query"]["terms"]
    assert ["バーチャルマシン", "qgvirtualmachine"] in index["config"]["query"]["terms"]
    # ... which the glossary entry and the section that defines the term hold.
    assert "qgpostedinterrupts" in docs["glossary/#posted-interrupts"]["keys"]
    defining = [loc for loc, doc in docs.items() if "qgpostedinterrupts" in doc.get("keys", "")]
    assert defining == ["glossary/#posted-interrupts", "io/#posted-interrupts"]
    # English names of several words are held joined.
    assert "qzshadowpagetable" in docs["memory/#shadow-page-tables"]["keys"]


def test_untranslated_pages_are_searched_from_the_english_site_only(tmp_path):
    from tests.test_build import build_fixture

    result = build_fixture(tmp_path, {"only-ja.md": "# 日本語だけ\n\n## 節 {#section}\n\n本文。\n"})
    assert result.returncode == 0, result.stderr
    japanese = {doc["location"] for doc in _index(tmp_path / "site")["docs"]}
    english = {doc["location"] for doc in _index(tmp_path / "site", "en")["docs"]}
    assert "only-ja/" in japanese and "en/only-ja/" in english  # the fallback page, once
    assert not any(loc.startswith("en/") for loc in japanese)
    assert all(loc.startswith("en/") for loc in english)
