"""The glossary: its data, the /glossary/ page, term cards in the prose, the term table."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from tests.support import anchors, site
from tests.test_build import build_fixture, make_project

DATA = site.ROOT / "docs" / "_data"
CORE_TERMS = [
    "virtual-machine-monitor", "hypervisor", "guest", "host", "trap-and-emulate",
    "privileged-instruction", "sensitive-instruction", "binary-translation", "paravirtualization",
    "hypercall", "intel-vt-x", "amd-v", "vmx-root-operation", "vmx-non-root-operation", "vmcs", "vmcb",
    "vm-entry", "vm-exit", "ept", "npt", "rvi", "shadow-page-table", "tlb", "vpid", "asid", "iommu",
    "intel-vt-d", "sr-iov", "virtio", "vhost", "kvm", "qemu", "tcg", "jit", "process-virtual-machine",
]


def glossary() -> list[dict]:
    return yaml.safe_load((DATA / "glossary.yml").read_text(encoding="utf-8"))


def prh_patterns() -> list[tuple[str, re.Pattern]]:
    """(expected, compiled pattern) for every rule of the term table."""
    rules = yaml.safe_load((DATA / "terms.prh.yml").read_text(encoding="utf-8"))["rules"]
    out = []
    for rule in rules:
        patterns = rule.get("patterns") or [rule["pattern"]]
        for pattern in patterns:
            regex = pattern[1:-1] if pattern.startswith("/") and pattern.endswith("/") else re.escape(pattern)
            out.append((rule["expected"], re.compile(regex)))
    return out


def test_glossary_has_the_core_terms():
    keys = {term["key"] for term in glossary()}
    assert len(keys) >= 40
    assert not set(CORE_TERMS) - keys


def test_term_table_and_glossary_agree():
    """No rule of the term table rewrites a glossary term, and `avoid` never hits its own term."""
    for term in glossary():
        for expected, pattern in prh_patterns():
            assert not pattern.search(term["ja"]) or expected == term["ja"], (term["key"], expected)
        for avoided in term.get("avoid", []):
            regex = avoided[1:-1] if avoided.startswith("/") else re.escape(avoided)
            assert not re.search(regex, term["ja"]), (term["key"], avoided)
        # The definitions follow the table too.
        for expected, pattern in prh_patterns():
            assert not pattern.search(term["def_ja"]), (term["key"], expected)


def test_glossary_pages_list_every_term(site_dir):
    keys = sorted(term["key"] for term in glossary())
    for path in ("glossary", "en/glossary"):
        html = (site_dir / path / "index.html").read_text(encoding="utf-8")
        assert sorted(re.findall(r'data-term="([^"]+)"', html)) == keys, path
        assert 'class="glossary-term"' not in html, "the glossary links no term to itself"
    english = (site_dir / "en" / "glossary" / "index.html").read_text(encoding="utf-8")
    assert "Virtual Machine Control Structure" in english and "（準備中）" not in english


def test_prose_gets_term_cards_in_both_languages(site_dir):
    japanese = (site_dir / "index.html").read_text(encoding="utf-8")
    assert re.search(r'<a class="glossary-term" data-glossary="hypervisor" href="glossary/#hypervisor">ハイパーバイザー</a>', japanese) or \
        re.search(r'<a class="glossary-term" href="glossary/#hypervisor" data-glossary="hypervisor">ハイパーバイザー</a>', japanese)
    cards = json.loads(re.search(r"<script type=\"application/json\" data-glossary-cards>(.*?)</script>", japanese, re.S)[1])
    assert cards["hypervisor"]["name"].startswith("ハイパーバイザー（") and cards["hypervisor"]["def"]
    english = (site_dir / "en" / "index.html").read_text(encoding="utf-8")
    assert re.search(r'<a class="glossary-term" [^>]*href="glossary/#kvm"[^>]*>KVM</a>', english)
    cards = json.loads(re.search(r"<script type=\"application/json\" data-glossary-cards>(.*?)</script>", english, re.S)[1])
    assert cards["kvm"]["name"] == "Kernel-based Virtual Machine (KVM)"
    assert 'title="' not in re.search(r'<a class="glossary-term"[^>]*>', japanese)[0], "no definition repeated per link"


TERM_PAGE = """\
# 用語の試験

ハイパーバイザーとハイパーバイザー、そして`ハイパーバイザー`と[ハイパーバイザー](index.md)。準仮想化。

## 次の節 {#next}

ここでもハイパーバイザー。VMCSとVMCSx。

| 表 |
|---|
| TLB |

<figure markdown>
![図](assets/figures/kvm-stack.svg)
<figcaption>TLBの図</figcaption>
</figure>

??? note "TLBの囲み"

    囲みの本文。

## 遠い節 {#far}

{filler}

ハイパーバイザーはここでまたリンクになります。TLBは初めてです。

## VMCSの節 {#vmcs-section}

本文。
"""


def test_terms_are_linked_at_first_use_and_again_only_far_away(tmp_path):
    page = TERM_PAGE.replace("{filler}", "本文の続きです。" * 600)
    result = build_fixture(tmp_path, {"terms.md": page})
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "site" / "terms" / "index.html").read_text(encoding="utf-8")
    body = html.split('<h1 id="', 1)[1].split("</article>")[0]
    first, second, far, last = re.split(r"<h2 ", body)[:4]
    assert first.count('href="../glossary/#hypervisor"') == 1
    assert "<code>ハイパーバイザー</code>" in first
    assert 'href="../glossary/#paravirtualization"' in first
    assert 'href="../glossary/#virtualization"' not in first, "準仮想化 is not 仮想化"
    assert second.count('href="../glossary/#hypervisor"') == 0, "a near section does not link it again"
    assert second.count('href="../glossary/#vmcs"') == 1, "VMCSx is not VMCS"
    assert "glossary/#tlb" not in second, "never in tables, captions or box titles"
    assert far.count('href="../glossary/#hypervisor"') == 1, "a far section links it again"
    assert far.count('href="../glossary/#tlb"') == 1
    assert "glossary-term" not in last.split("</h2>")[0], "headings are left alone"


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda t: t.replace("  def_en: ", "  definition_en: ", 1), r"glossary.yml:\d+: \d+.def_en: Field required"),
        (lambda t: t.replace("key: asid", "key: amd-v"), r"glossary.yml:\d+: \(top level\): key used twice: amd-v"),
        (lambda t: re.sub(r"chapter: \S+", "chapter: no-such-chapter", t, count=1),
         r"glossary.yml:\d+: chapter: 'no-such-chapter' is not a page of course.yml"),
    ],
    ids=["missing-field", "duplicate-key", "unknown-chapter"],
)
def test_malformed_glossary_fails_with_file_and_line(tmp_path, edit, message):
    config = make_project(tmp_path, {})
    data = tmp_path / "docs" / "_data" / "glossary.yml"
    original = data.read_text(encoding="utf-8")
    assert edit(original) != original
    data.write_text(edit(original), encoding="utf-8")
    result = site.build(config, tmp_path / "site", check=False)
    assert result.returncode != 0
    assert re.search(message, result.stderr), result.stderr


@pytest.mark.browser
@pytest.mark.parametrize("path, term", [("", "ハイパーバイザー"), ("en/", "KVM")])
def test_hovering_a_term_shows_its_card(page, context, base_url, path, term):
    page.goto(base_url + path)
    link = page.locator("a.glossary-term", has_text=term).first
    link.hover()
    card = page.locator(".glossary-card")
    card.wait_for(state="visible")
    assert term in card.inner_text()
    assert link.get_attribute("aria-describedby") == "glossary-card"
    link.click()
    page.wait_for_url(re.compile(r"/glossary/#"))
    assert page.locator("dt:target").count() == 1
    assert context.log.problems() == []


@pytest.mark.browser
def test_first_tap_shows_the_card_second_tap_opens_the_glossary(browser, base_url):
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(base_url + "virtualization/")
        link = page.locator("a.glossary-term").first
        link.scroll_into_view_if_needed()
        link.tap()
        card = page.locator(".glossary-card")
        card.wait_for(state="visible")
        assert page.url.endswith("/virtualization/"), "the first tap stays on the page"
        box, screen = card.bounding_box(), page.viewport_size
        assert box["x"] >= 0 and box["x"] + box["width"] <= screen["width"], "the card fits the screen"
        link.tap()
        page.wait_for_url(re.compile(r"/glossary/#"))
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.parametrize("viewport", anchors.VIEWPORTS)
def test_a_link_to_an_entry_lands_on_it(browser, base_url, viewport):
    """Every term link opens /glossary/#key, and entries are drawn only near the screen
    (content-visibility): the entry must still land just under the header."""
    anchors.check_links_land(browser, base_url, "glossary/", "dt[data-term]", viewport)


@pytest.mark.browser
@pytest.mark.parametrize("path", ["glossary/", "en/glossary/"])
@pytest.mark.parametrize("viewport", anchors.VIEWPORTS)
def test_entries_drawn_near_the_screen_look_as_if_always_drawn(browser, base_url, path, viewport):
    """Each entry's <div> is contained, which stops margins collapsing through it: once
    drawn, every entry must sit exactly where it sits with the feature off. And the size
    held for an entry not yet drawn stays near a drawn entry's, so the scroll bar barely
    moves while the reader scrolls."""
    context = browser.new_context(viewport=viewport)
    try:
        page = context.new_page()
        page.goto(base_url + path, wait_until="networkidle")
        held = page.evaluate("() => parseFloat(getComputedStyle(document.querySelector("
                             "'.glossary-list__entry')).containIntrinsicHeight.replace('auto', ''))")
        page.evaluate("""async () => {
            for (let y = 0; y < document.documentElement.scrollHeight; y += innerHeight / 2) {
                scrollTo(0, y);
                await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
            }
        }""")
        tops = "() => [...document.querySelectorAll('dt[data-term]')].map(d => d.getBoundingClientRect().top + scrollY)"
        drawn = page.evaluate(tops)
        heights = page.evaluate("() => [...document.querySelectorAll('.glossary-list__entry')]"
                                ".map(e => e.getBoundingClientRect().height)")
        page.add_style_tag(content=".glossary-list__entry { content-visibility: visible !important; }")
        plain = page.evaluate(tops)
    finally:
        context.close()
    moved = [(i, round(b - a)) for i, (a, b) in enumerate(zip(drawn, plain)) if abs(b - a) > 1]
    assert not moved, f"{path}: entries drawn elsewhere than without content-visibility: {moved[:5]}"
    average = sum(heights) / len(heights)
    assert abs(held - average) <= 0.15 * average, f"{path}: {held} px held, drawn entries average {average:.0f} px"


@pytest.mark.browser
def test_keyboard_focus_shows_the_card_and_escape_hides_it(page, base_url):
    page.goto(base_url + "virtualization/")
    link = page.locator("a.glossary-term").first
    link.focus()
    page.locator(".glossary-card").wait_for(state="visible")
    page.keyboard.press("Escape")
    page.locator(".glossary-card").wait_for(state="hidden")


def test_term_links_stay_rare_on_real_pages(site_dir):
    """At most one link per term and h2 section, none in tables, captions or summaries."""
    for path in ("hardware-assist", "memory", "kvm"):
        html = (site_dir / path / "index.html").read_text(encoding="utf-8")
        article = html.split("<article", 1)[1].split("</article>", 1)[0]
        for section in re.split(r"<h2 ", article):
            keys = re.findall(r'class="glossary-term"[^>]*data-glossary="([^"]+)"', section)
            assert len(keys) == len(set(keys)), (path, sorted(k for k in keys if keys.count(k) > 1))
        for container in re.findall(r"<(?:table|figcaption|summary)\b.*?</(?:table|figcaption|summary)>", article, re.S):
            assert "glossary-term" not in container, path


def test_no_term_link_inside_a_citation(tmp_path):
    """A citation label that names a term (QEMU documentation) stays one plain link."""
    result = build_fixture(tmp_path, {"cites.md": "# 題\n\n本文です[@qemu-docs]。\n"})
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "site" / "cites" / "index.html").read_text(encoding="utf-8")
    cite = re.search(r'<a [^>]*class="cite"[^>]*>(.*?)</a>', html)
    assert cite and cite[1] == "[QEMU documentation]", cite


def test_readings_are_katakana_so_the_glossary_sorts_right():
    """A hiragana reading (めいれい…) sorted before every katakana entry."""
    bad = [
        (term["key"], term["reading"])
        for term in glossary()
        if term.get("reading") and not re.fullmatch(r"[\u30a0-\u30ff0-9A-Za-z ・]+", term["reading"])
    ]
    assert bad == []
