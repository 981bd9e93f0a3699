"""Search through the real search box finds Japanese and English terms."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.support import site

TERMS_FILE = site.ROOT / "tests" / "data" / "search_terms.tsv"


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


def search(page, base_url: str, from_path: str, query: str) -> list[str]:
    """Type ``query`` into the search box and return the result pages' URL paths."""
    page.goto(base_url + from_path.lstrip("/"))
    box = page.locator("input.md-search__input")
    box.click()
    box.fill(query)
    # Material reacts to key events; after filling Japanese text it needs one more.
    box.press("End")
    results = page.locator(".md-search-result__item > a")
    results.first.wait_for(timeout=4000)
    hrefs = results.evaluate_all("els => els.map(e => e.href)")
    return sorted({urlsplit(h).path for h in hrefs})


@pytest.mark.browser
@pytest.mark.parametrize("query, from_path, expected", load_terms())
def test_search_finds(page, context, base_url, query, from_path, expected):
    assert expected in search(page, base_url, from_path, query)
    assert context.log.problems() == []


@pytest.mark.browser
def test_search_for_nonsense_finds_nothing(page, base_url):
    page.goto(base_url)
    page.locator("input.md-search__input").click()
    page.locator("input.md-search__input").fill("zzqxjv")
    page.locator("input.md-search__input").press("End")
    meta = page.locator(".md-search-result__meta")
    meta.wait_for()
    page.wait_for_function("document.querySelector('.md-search-result__meta').textContent.trim() !== ''")
    assert page.locator(".md-search-result__item").count() == 0


@pytest.mark.browser
def test_index_is_loaded_only_when_the_reader_searches(page, base_url):
    index_requests = []
    page.on("request", lambda r: "search_index.json" in r.url and index_requests.append(r.url))
    page.goto(base_url, wait_until="networkidle")
    assert index_requests == []
    with page.expect_request(lambda r: "search_index.json" in r.url):
        page.locator("input.md-search__input").click()


def test_untranslated_fallback_pages_are_not_indexed_twice(tmp_path):
    import json

    from tests.test_build import build_fixture

    result = build_fixture(tmp_path, {"only-ja.md": "# 日本語だけ\n\n## 節 {#section}\n\n本文。\n"})
    assert result.returncode == 0, result.stderr
    index = json.loads((tmp_path / "site" / "search" / "search_index.json").read_text(encoding="utf-8"))
    locations = {doc["location"] for doc in index["docs"]}
    assert "only-ja/" in locations
    assert not any(location.startswith("en/only-ja/") for location in locations)
    assert "en/" in locations  # translated pages stay
