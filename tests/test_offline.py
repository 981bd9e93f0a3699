"""The offline package works opened from disk (file://): pages, search, quizzes, widgets."""

from __future__ import annotations

import pytest

from tests.conftest import PageLog
from tests.support import site

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def offline_site(tmp_path_factory):
    site_dir = tmp_path_factory.mktemp("offline") / "site"
    site.build(site.ROOT / "mkdocs.yml", site_dir, offline=True)
    return site_dir


@pytest.fixture
def file_page(browser):
    context = browser.new_context()
    log = PageLog()

    def route(route):
        url = route.request.url
        if url.startswith(("file://", "data:", "blob:", "about:")):
            route.continue_()
        else:
            log.outside_requests.append(url)
            route.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.on("console", lambda m: m.type == "error" and log.console_errors.append(m.text))
    page.on("pageerror", lambda e: log.page_errors.append(str(e)))
    yield page, log
    context.close()


def test_pages_use_html_urls_and_the_local_shim(offline_site):
    html = (offline_site / "index.html").read_text(encoding="utf-8")
    assert 'href="virtualization.html"' in html
    assert "unpkg.com" not in html and "iframe-worker-shim.js" in html
    assert (offline_site / "assets" / "javascripts" / "iframe-worker-shim.js").is_file()


def test_inlined_search_index_holds_each_language(offline_site):
    """search_index.js holds both languages' indexes and picks the page's (<html lang>)."""
    import json

    text = (offline_site / "search" / "search_index.js").read_text(encoding="utf-8")
    assert text.startswith("var __index = ") and "document.documentElement.lang" in text
    japanese = json.loads((offline_site / "search" / "search_index.json").read_text(encoding="utf-8"))
    english = json.loads((offline_site / "en" / "search" / "search_index.json").read_text(encoding="utf-8"))
    assert any(doc["location"].startswith("virtualization.html") for doc in japanese["docs"])
    assert all(doc["location"].startswith("en/") for doc in english["docs"])
    assert japanese["docs"][0]["location"] in text and english["docs"][0]["location"] in text


@pytest.mark.parametrize("start, query, expected", [
    ("index.html", "準仮想化", "paravirtualization.html"),
    ("index.html", "ハイパーバイザーとは", "virtualization.html"),
    ("en/index.html", "hypervisor", "en/"),
])
def test_search_works_from_disk(offline_site, file_page, start, query, expected):
    page, log = file_page
    page.goto((offline_site / start).as_uri())
    box = page.locator("input.md-search__input")
    box.click()
    box.fill(query)
    box.press("End")
    results = page.locator(".md-search-result__item > a")
    results.first.wait_for()
    hrefs = results.evaluate_all("els => els.map(e => e.href)")
    assert any(expected in href for href in hrefs), hrefs
    # Each language searches its own pages, from disk too.
    in_english = ["/en/" in href for href in hrefs]
    assert all(in_english) if start.startswith("en/") else not any(in_english), hrefs
    assert log.problems() == []


def test_quiz_and_links_work_from_disk(offline_site, file_page):
    page, log = file_page
    page.goto((offline_site / "index.html").as_uri())
    quiz = page.locator('[data-quiz-id="home-choose-path"]')
    quiz.locator("input").first.check()
    quiz.get_by_role("button", name="答え合わせ").click()
    assert quiz.get_attribute("data-quiz-state") == "correct"
    page.locator(".chapter-map a", has_text="仮想マシンの分類").click()
    page.wait_for_url("**/taxonomy.html")
    widget = page.locator('[data-widget="taxonomy-explorer"]')
    assert widget.is_visible()
    assert log.problems() == []
