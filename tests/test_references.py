"""References: data validation, citations, per-page lists, the index page."""

from __future__ import annotations

import re
import shutil

import pytest
import yaml

from tests.support import anchors, site
from tests.test_build import build_fixture, make_project

SEED_URLS = [
    "http://gihyo.jp/dev/serial/01/vm_work/0001",
    "http://gihyo.jp/dev/serial/01/vm_work/0002",
    "http://www.plathome.co.jp/solution/virtualserver/introduction/06.html",
    "https://ja.wikipedia.org/wiki/",  # 「仮想化」, checked below with its title
    "http://www.vsolution.jp/vmware/virtualization_guide/01/",
    "https://enterprisezine.jp/iti/detail/362",
    "http://blogs.itmedia.co.jp/itsolutionjuku/2014/06/post-9f0b.html",
    "http://blogs.itmedia.co.jp/itsolutionjuku/2015/06/post_90.html",
]
DATA = site.ROOT / "docs" / "_data" / "references.yml"
CITING = "# 引用する章\n\n本文[@popek-goldberg-1974]。マニュアル[@intel-sdm-vol3, §24.1]。\n\n`[@not-a-citation]`\n\n```text\n[@also-not-one]\n```\n"


def test_reference_data_has_what_the_course_needs():
    refs = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    assert len(refs) >= 25
    for entry in refs:
        assert entry["note_ja"] and entry["note_en"], entry["key"]


def test_every_seed_url_is_on_the_references_page(site_dir):
    for path in ("references", "en/references"):
        html = (site_dir / path / "index.html").read_text(encoding="utf-8")
        for url in SEED_URLS:
            assert f'href="{url}' in html, (path, url)
        assert "仮想化" in html and "wikipedia.org" in html


def test_references_page_lists_every_entry(site_dir):
    keys = [entry["key"] for entry in yaml.safe_load(DATA.read_text(encoding="utf-8"))]
    html = (site_dir / "references" / "index.html").read_text(encoding="utf-8")
    assert sorted(re.findall(r'data-ref-id="([^"]+)"', html)) == sorted(keys)
    for key in keys:
        assert f'id="{key}"' in html


UNCITED = """
- key: fixture-uncited
  type: article
  title: "A reference that no page cites"
  url: "https://example.org/uncited"
  language: en
  note_ja: "試験用。"
  note_en: "For the test."
"""


def test_citations_render_and_collect_a_page_list(tmp_path):
    config = make_project(tmp_path, {"citing.md": CITING})
    data = tmp_path / "docs" / "_data" / "references.yml"
    data.write_text(data.read_text(encoding="utf-8") + UNCITED, encoding="utf-8")
    result = site.build(config, tmp_path / "site", check=False)
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "site" / "citing" / "index.html").read_text(encoding="utf-8")
    assert '<a class="cite" href="../references/#popek-goldberg-1974"' in html
    assert "[Popek &amp; Goldberg 1974]</a>" in html
    assert "[Intel SDM Vol. 3, §24.1]</a>" in html
    assert "<code>[@not-a-citation]</code>" in html
    assert "[@also-not-one]" in html
    assert 'id="chapter-references"' in html and "この章の参考文献" in html
    page_list = html.split('id="chapter-references"')[1]
    assert page_list.index("popek-goldberg-1974") < page_list.index("intel-sdm-vol3")
    # The index links back to the citing page; the log no longer calls it uncited.
    index = (tmp_path / "site" / "references" / "index.html").read_text(encoding="utf-8")
    entry = index.split('data-ref-id="popek-goldberg-1974"')[1].split("</li>")[0]
    assert '<a href="../citing/">引用する章</a>' in entry
    uncited = re.search(r"references are not cited by any page: (.*)", result.stderr)[1]
    assert "popek-goldberg-1974" not in uncited and "fixture-uncited" in uncited


def test_english_citation_points_to_the_english_index(tmp_path):
    english = "# Citing\n\nText [@popek-goldberg-1974].\n"
    result = build_fixture(tmp_path, {"citing.md": CITING, "citing.en.md": english})
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "site" / "en" / "citing" / "index.html").read_text(encoding="utf-8")
    assert '<a class="cite" href="../references/#popek-goldberg-1974"' in html
    assert "References for this chapter" in html


def test_unknown_key_fails_with_file_and_line(tmp_path):
    result = build_fixture(tmp_path, {"citing.md": "# 題\n\n本文。\n\n誤り[@no-such-paper]。\n"})
    assert result.returncode != 0
    assert "citing.md:5: unknown reference key 'no-such-paper'" in result.stderr


def build_with_data(tmp_path, edit):
    config = make_project(tmp_path, {})
    data = tmp_path / "docs" / "_data" / "references.yml"
    data.write_text(edit(data.read_text(encoding="utf-8")), encoding="utf-8")
    return site.build(config, tmp_path / "site", check=False)


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


@pytest.mark.parametrize(
    "edit, field",
    [
        (lambda t: t.replace('  title: "Formal Requirements', '  titel: "Formal Requirements', 1), "title: Field required"),
        (lambda t: t.replace('issued: "1974-07"', 'issued: "1974-13"'), "issued"),
        (lambda t: t.replace("key: creasy-1981", "key: popek-goldberg-1974"), "key 'popek-goldberg-1974' is used twice"),
        (lambda t: t.replace("language: en", "language: de", 1), "language: Input should be 'ja', 'en' or 'pl'"),
        (lambda t: t.replace('accessed: "2026-11-26"', 'accessed: "last week"', 1), "accessed: String should match pattern"),
    ],
    ids=["missing-field", "bad-date", "duplicate-key", "unknown-language", "bad-accessed-date"],
)
def test_malformed_data_fails_naming_file_line_and_field(tmp_path, edit, field):
    original = DATA.read_text(encoding="utf-8")
    assert edit(original) != original, "the fixture edit must change the data"
    result = build_with_data(tmp_path, edit)
    assert result.returncode != 0
    assert re.search(r"references: \S*references.yml:\d+: ", result.stderr), result.stderr
    assert field in result.stderr, result.stderr


def test_bad_date_names_its_line(tmp_path):
    edited = DATA.read_text(encoding="utf-8").replace('issued: "1974-07"', 'issued: "1974-13"')
    result = build_with_data(tmp_path, lambda t: edited)
    line = line_of(edited, 'issued: "1974-13"')
    assert f"references.yml:{line}:" in result.stderr, result.stderr
    assert "not a real date" in result.stderr


@pytest.mark.browser
def test_filter_by_kind_and_language(page, base_url):
    page.goto(base_url + "references/")
    entries = page.locator("[data-ref-id]")
    total = entries.count()
    page.select_option('select[data-filter="type"]', "spec")
    visible = page.locator("[data-ref-id]:visible")
    assert 0 < visible.count() < total
    assert set(visible.evaluate_all("els => els.map(e => e.dataset.type)")) == {"spec"}
    page.select_option('select[data-filter="type"]', "")
    page.select_option('select[data-filter="language"]', "ja")
    assert set(page.locator("[data-ref-id]:visible").evaluate_all("els => els.map(e => e.dataset.language)")) == {"ja"}
    assert not page.locator("h2#paper").is_visible()
    # A refined kind inside a group: its own heading and its group's stay, the rest go.
    page.select_option('select[data-filter="language"]', "")
    page.select_option('select[data-filter="type"]', "manual")
    assert set(page.locator("[data-ref-id]:visible").evaluate_all("els => els.map(e => e.dataset.type)")) == {"manual"}
    assert page.locator("h2#spec").is_visible() and page.locator("h3#kind-manual").is_visible()
    assert not page.locator("h3#kind-spec").is_visible()
    assert not page.locator("h2#documentation").is_visible()


@pytest.mark.browser
@pytest.mark.parametrize("viewport", anchors.VIEWPORTS)
def test_a_link_to_an_entry_lands_on_it(browser, base_url, viewport):
    """Onboarding documents link to /references/#key. Entries far down the list are laid
    out only near the screen (content-visibility), so check that the link still puts the
    entry just under the header, and that it stays there once the page settles."""
    anchors.check_links_land(browser, base_url, "references/", "[data-ref-id]", viewport)


def test_every_entry_shows_its_kind(site_dir):
    """A reader tells a manual from a kernel document from a news report at a glance."""
    html = (site_dir / "references" / "index.html").read_text(encoding="utf-8")
    kinds = re.findall(r'data-type="([^"]+)"[^>]*>.*?<span class="reference__kind">([^<]+)</span>', html, re.S)
    assert len(kinds) == len(re.findall(r"data-ref-id=", html))
    assert ("kernel-doc", "Linuxカーネルの文書") in kinds and ("news", "ニュース記事") in kinds


def test_english_pages_show_english_citation_labels(site_dir):
    """A Japanese label (Linux「…」) on an English page reads as noise; short_en gives the English one."""
    cjk = re.compile(r"[\u3040-\u30ff\u3400-\u9fff「」]")
    bad = []
    for page in (site_dir / "en").rglob("index.html"):
        html = page.read_text(encoding="utf-8")
        if "data-fallback-notice" in html:
            continue  # an untranslated page shows the Japanese original, labels included
        for label in re.findall(r'<a [^>]*class="cite"[^>]*>([^<]*)</a>', html):
            if cjk.search(label):
                bad.append(f"{page.relative_to(site_dir)}: {label}")
    assert not bad, "\n".join(sorted(set(bad))[:20])


def test_retired_references_keep_their_anchor(site_dir):
    """Links to /references/#<key> of an entry that left the index still land somewhere useful."""
    retired = yaml.safe_load((site.ROOT / "docs" / "_data" / "retired-references.yml").read_text(encoding="utf-8"))
    for path in ("references", "en/references"):
        html = (site_dir / path / "index.html").read_text(encoding="utf-8")
        for entry in retired:
            assert f'id="{entry["key"]}"' in html, (path, entry["key"])
            if entry.get("replaced_by"):
                assert f'href="#{entry["replaced_by"]}"' in html


def test_citing_a_retired_reference_names_the_replacement(tmp_path):
    result = build_fixture(tmp_path, {"old.md": "# 古い出典\n\n本文です[@xen-interface-3]。\n"})
    assert result.returncode != 0
    assert "old.md:3: 'xen-interface-3' was retired" in result.stderr
    assert "cite 'xen-interface-manual-3' instead" in result.stderr


def _host(url: str) -> str:
    return url.split("//", 1)[1].split("/", 1)[0].lower()


def test_no_reference_is_a_mirror_of_someone_elses_text():
    """Mirrors and aggregators of encyclopedias or documents are never a source (the list is data)."""
    mirrors = [
        line.strip() for line in (site.ROOT / "tests" / "data" / "mirror_domains.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    bad = []
    for entry in yaml.safe_load(DATA.read_text(encoding="utf-8")):
        for field in ("url", "archived"):
            host = _host(entry[field]) if entry.get(field) else ""
            if any(host == domain or host.endswith("." + domain) for domain in mirrors):
                bad.append(f"{entry['key']}: {field} {entry[field]}")
    assert not bad, "\n".join(bad)
    assert any(_host("https://wiki.kidzsearch.com/x").endswith("." + d) for d in mirrors), "the check must see subdomains"
