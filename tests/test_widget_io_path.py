"""The I/O path widget: its data, its build errors and the step-through in Chromium.

The fixture builds a copy of the site with one page (and its English twin) that
holds the ``<!-- io-path -->`` marker. The hook is added to the copied mkdocs.yml
if the real one does not list it yet; draft pages not in the nav are left out.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.support import site, widgets
from tests.test_accessibility import axe_violations

pytestmark = pytest.mark.browser

DATA = site.ROOT / "docs" / "_data" / "io-path.yml"
WIDGET = '[data-widget="io-path"]'
PATH_IDS = ["emulation", "virtio", "vhost", "vfio", "sriov"]
COUNTERS = {"exits": "exit", "copies": "copy", "switches": "switch"}

PAGE_JA = "# I/Oの経路\n\nパケットをたどります。\n\n<!-- io-path -->\n\n後ろの段落。\n"
PAGE_EN = "# I/O paths\n\nFollow a packet.\n\n<!-- io-path -->\n\nA paragraph after it.\n"
PAGES = {"io-path-widget.md": PAGE_JA, "io-path-widget.en.md": PAGE_EN}


def widget_project(root: Path, pages=PAGES) -> Path:
    return widgets.widget_project(root, pages)


def open_page(browser, base_url, path="io-path-widget/", **kwargs):
    return widgets.open_page(browser, base_url, path, **kwargs)


widget_site, ja_page, en_page = widgets.page_fixtures(PAGES, "io-path-widget/")


def data() -> dict:
    return yaml.safe_load(DATA.read_text(encoding="utf-8"))


def totals_from_yaml() -> dict[str, dict[str, int]]:
    """Each path's totals, summed here from the YAML (not from the hook)."""
    return {
        path["id"]: {counter: sum(bool(hop.get(flag, False)) for hop in path["hops"])
                     for counter, flag in COUNTERS.items()}
        for path in data()["paths"]
    }


def counters(widget) -> dict[str, int]:
    return {c: int(widget.locator(f'[data-counter="{c}"]').inner_text()) for c in COUNTERS}


def current_hop(widget):
    current = widget.locator('[data-hop][aria-current="step"]')
    assert current.count() <= 1
    return int(current.get_attribute("data-hop")) if current.count() else 0


# --- the data ------------------------------------------------------------------------


def test_data_has_the_five_paths_and_the_hand_checked_totals():
    assert [path["id"] for path in data()["paths"]] == PATH_IDS
    totals = totals_from_yaml()
    # Checked by hand against the chapter (not derived from the data).
    assert totals["emulation"] == {"exits": 1, "copies": 2, "switches": 4}
    assert totals["virtio"] == {"exits": 1, "copies": 1, "switches": 3}
    assert totals["vhost"] == {"exits": 1, "copies": 1, "switches": 0}
    assert totals["vfio"] == {"exits": 0, "copies": 0, "switches": 0}
    assert totals["sriov"] == {"exits": 0, "copies": 0, "switches": 0}
    for path in data()["paths"]:
        for hop in path["hops"]:
            assert hop["explain"]["ja"] and hop["explain"]["en"]


def test_japanese_texts_follow_the_style():
    """Half-width alphanumerics, no space between Japanese and alphanumerics, です・ます."""
    japanese = "[\u3040-\u30ff\u3400-\u9fff]"
    problems = []

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "ja" and isinstance(value, str):
                    if re.search("[Ａ-Ｚａ-ｚ０-９]", value):
                        problems.append(f"{path}: full-width alphanumerics")
                    if re.search(f"{japanese} [A-Za-z0-9]|[A-Za-z0-9] {japanese}", value):
                        problems.append(f"{path}: a space between Japanese and alphanumerics")
                    if path.endswith(("explain", "summary")) and not value.endswith(("です。", "ます。", "ません。")):
                        problems.append(f"{path}: not です・ます: {value[-12:]}")
                else:
                    walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, f"{path}.{index}")

    walk(data(), "io-path")
    assert problems == []


# --- the hook ------------------------------------------------------------------------------


@pytest.fixture
def hook(monkeypatch):
    """The hook module, loaded the way MkDocs loads it (its folder on sys.path)."""
    import importlib
    import sys

    monkeypatch.syspath_prepend(str(site.ROOT / "overrides" / "hooks"))
    module = importlib.import_module("io_path")
    yield module
    sys.modules.pop("io_path", None)


class FakeFile:
    def __init__(self, src_uri, locale):
        self.src_uri, self.locale = src_uri, locale


class FakePage:
    def __init__(self, locale, meta):
        self.file, self.meta = FakeFile("x.en.md", locale), meta


def test_hook_keeps_other_widgets_and_leaves_code_alone(hook):
    hook._data = hook.load(DATA.read_text(encoding="utf-8"), "io-path.yml")
    page = FakePage("en", {"widgets": ["other-widget"]})
    markdown = "# T\n\n```markdown\n<!-- io-path -->\n```\n\n<!-- io-path -->\n\nEnd.\n"
    out = hook.on_page_markdown(markdown, page)
    assert page.meta["widgets"] == ["other-widget", "io-path"]
    assert out.count('data-widget="io-path"') == 1
    assert "```markdown\n<!-- io-path -->\n```" in out
    assert 'lang="en"' in out and '"lang":"en"' in out
    block = out[out.index('<div class="io-path"'):out.index("\nEnd.")].strip()
    assert block.endswith("</script>\n</div>")
    assert "\n\n" not in block  # one raw HTML block: Markdown leaves it alone
    plain = FakePage("ja", {})
    assert hook.on_page_markdown("# T\n", plain) == "# T\n" and "widgets" not in plain.meta


def test_json_for_the_script_cannot_close_the_script_tag(hook):
    paths = hook.load(DATA.read_text(encoding="utf-8"), "io-path.yml")
    paths.paths[0].hops[0].explain.ja = "</script><b>&</b>"
    html = hook.render(paths, "ja", "t-1")
    script = html.split('<script type="application/json" data-io-path-data>', 1)[1].split("</script>", 1)[0]
    assert "<" not in script and "&" not in script
    assert "&lt;/script&gt;&lt;b&gt;&amp;&lt;/b&gt;" in html


def test_hook_totals_match_the_yaml(hook):
    paths = hook.load(DATA.read_text(encoding="utf-8"), "io-path.yml")
    assert {path.id: path.totals() for path in paths.paths} == totals_from_yaml()


# --- the build ---------------------------------------------------------------------------


def test_build_renders_the_static_table_and_the_data(widget_site):
    site_dir, _ = widget_site
    html = (site_dir / "io-path-widget" / "index.html").read_text(encoding="utf-8")
    assert html.count('data-widget="io-path"') == 1
    assert "assets/stylesheets/widgets/io-path.css" in html
    assert "assets/javascripts/widgets/io-path.js" in html
    assert '<script type="application/json" data-io-path-data>' in html
    assert "<p>後ろの段落。</p>" in html
    english = (site_dir / "en" / "io-path-widget" / "index.html").read_text(encoding="utf-8")
    assert '"lang":"en"' in english and "Full device emulation (e1000 in QEMU)" in english
    other = (site_dir / "index.html").read_text(encoding="utf-8")
    assert "io-path.js" not in other


def break_data(tmp_path: Path, old: str, new: str):
    """Build a copy of the site whose io-path.yml has ``old`` replaced; return (stderr, text, path)."""
    config = widget_project(tmp_path, {"io-path-widget.md": PAGE_JA})
    path = tmp_path / "docs" / "_data" / "io-path.yml"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"the fixture expects {old!r} once"
    text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    result = site.build(config, tmp_path / "site", check=False)
    assert result.returncode != 0, "the build should have failed"
    return result.stderr, text, path


def line_of(text: str, fragment: str) -> int:
    return text[: text.index(fragment)].count("\n") + 1


def test_unknown_path_id_fails_with_file_and_line(tmp_path):
    stderr, text, path = break_data(tmp_path, "  - id: vhost\n", "  - id: vhost-user\n")
    line = line_of(text, "  - id: vhost-user\n")
    assert (f"io path: {path}:{line}: paths.2.id: unknown path 'vhost-user' "
            "(paths: emulation, virtio, vhost, vfio, sriov)") in stderr
    assert "paths: missing path: vhost" in stderr


def test_hop_without_explanation_fails_with_file_and_line(tmp_path):
    old = ("      - where: {ja: QEMUのe1000のモデル, en: QEMU's e1000 model}\n"
           "        side: host-user\n        copy: true\n")
    text = DATA.read_text(encoding="utf-8")
    start = text.index(old)
    block = text[start:text.index("      - where:", start + len(old))]
    stderr, text, path = break_data(tmp_path, block, old)
    line = line_of(text, "      - where: {ja: QEMUのe1000のモデル")
    assert f"io path: {path}:{line}: paths.0.hops.4.explain: Field required" in stderr


def test_unknown_side_and_bad_flag_fail_with_file_and_line(tmp_path):
    old = "      - where: {ja: vhostのワーカー（ホストのカーネル）, en: vhost worker (host kernel)}\n        side: host-kernel\n        explain:\n          ja: ioeventfd"
    new = old.replace("side: host-kernel", "side: kernel\n        copy: maybe")
    stderr, text, path = break_data(tmp_path, old, new)
    assert f"{path}:{line_of(text, '        side: kernel')}: paths.2.hops.3.side:" in stderr
    assert f"{path}:{line_of(text, '        copy: maybe')}: paths.2.hops.3.copy:" in stderr


# --- in the browser ----------------------------------------------------------------------


def step_to_end(page, widget) -> int:
    steps = 0
    step = widget.locator('[data-action="step"]')
    while step.is_enabled():
        step.click()
        steps += 1
        assert current_hop(widget) == steps
        assert steps < 50
    return steps


def test_static_table_is_replaced_by_the_step_through(ja_page):
    widget = ja_page.locator(WIDGET)
    assert not widget.locator("[data-static]").is_visible()
    assert widget.locator("input[data-path]").count() == 5
    assert widget.locator('input[data-path="emulation"]').is_checked()
    assert current_hop(widget) == 0
    assert counters(widget) == {"exits": 0, "copies": 0, "switches": 0}
    assert widget.locator('[data-action="back"]').is_disabled()
    assert widget.locator("[data-explanation]").get_attribute("aria-live") == "polite"
    assert "9か所を通ります" in widget.locator("[data-explanation]").inner_text()


def test_stepping_each_path_gives_the_yaml_totals(ja_page):
    widget = ja_page.locator(WIDGET)
    expected = totals_from_yaml()
    lengths = {path["id"]: len(path["hops"]) for path in data()["paths"]}
    for path_id in PATH_IDS:
        widget.locator(f'input[data-path="{path_id}"]').check()
        assert current_hop(widget) == 0 and counters(widget) == {"exits": 0, "copies": 0, "switches": 0}
        assert widget.locator("[data-hop]").count() == lengths[path_id]
        assert step_to_end(ja_page, widget) == lengths[path_id]
        assert counters(widget) == expected[path_id], path_id
        assert "終点です。" in widget.locator("[data-explanation]").inner_text()
        # The comparison shows every path's total and marks the one shown.
        row = widget.locator(f'[data-compare] tr[data-compare-path="{path_id}"]')
        assert row.get_attribute("data-selected") is not None
        for counter, value in expected[path_id].items():
            assert row.locator(f'td[data-total="{counter}"]').inner_text().strip() == str(value)


@pytest.mark.parametrize("path_id", ["vfio", "sriov"])
def test_direct_assignment_has_no_exit_on_the_data_path(ja_page, path_id):
    widget = ja_page.locator(WIDGET)
    widget.locator(f'input[data-path="{path_id}"]').check()
    step = widget.locator('[data-action="step"]')
    while step.is_enabled():
        step.click()
        assert counters(widget)["exits"] == 0
    assert counters(widget) == {"exits": 0, "copies": 0, "switches": 0}
    assert "VM exitを起こさずに" in widget.locator('[data-hop="3"]').inner_text() or \
        "VM exitを起こさずに" in " ".join(h["explain"]["ja"] for h in next(
            p for p in data()["paths"] if p["id"] == path_id)["hops"])


def test_back_and_reset(ja_page):
    widget = ja_page.locator(WIDGET)
    step, back, reset = (widget.locator(f'[data-action="{a}"]') for a in ("step", "back", "reset"))
    for _ in range(4):
        step.click()
    assert current_hop(widget) == 4
    assert counters(widget) == {"exits": 1, "copies": 0, "switches": 1}  # e1000: the MMIO exit, then QEMU
    back.click()
    assert current_hop(widget) == 3
    assert counters(widget) == {"exits": 1, "copies": 0, "switches": 0}
    assert "TDT" in widget.locator("[data-explanation]").inner_text()
    back.click(); back.click(); back.click()
    assert current_hop(widget) == 0 and back.is_disabled()
    step_to_end(ja_page, widget)
    assert step.is_disabled()
    reset.click()
    assert current_hop(widget) == 0
    assert counters(widget) == {"exits": 0, "copies": 0, "switches": 0}
    # Changing the path starts it from the beginning.
    step.click(); step.click()
    widget.locator('input[data-path="vhost"]').check()
    assert current_hop(widget) == 0 and widget.locator("[data-hop]").count() == 7


def test_keyboard_only(ja_page):
    page = ja_page
    widget = page.locator(WIDGET)
    widget.locator('input[data-path="emulation"]').focus()
    page.keyboard.press("ArrowRight")  # the radio group: next path, selected
    page.keyboard.press("ArrowRight")
    assert widget.locator('input[data-path="vhost"]').is_checked()
    assert page.evaluate("document.activeElement.getAttribute('data-path')") == "vhost"
    outline = page.evaluate("getComputedStyle(document.activeElement.closest('label')).outlineStyle")
    assert outline != "none"
    for _ in range(6):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('data-action')") == "step":
            break
    assert page.evaluate("document.activeElement.getAttribute('data-action')") == "step"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    for _ in range(7):
        page.keyboard.press("Enter")
    assert current_hop(widget) == 7
    assert counters(widget) == totals_from_yaml()["vhost"]
    # The step button is disabled at the end; focus moved to a button that works.
    assert page.evaluate("document.activeElement.getAttribute('data-action')") == "back"
    page.keyboard.press("Enter")
    assert current_hop(widget) == 6
    widget.locator('[data-action="reset"]').focus()
    page.keyboard.press("Space")
    assert current_hop(widget) == 0


def test_english_page_uses_english_strings(en_page):
    widget = en_page.locator(WIDGET)
    text = widget.inner_text()
    assert "Pick a path and follow one network packet" in text
    assert "Full device emulation (e1000 in QEMU)" in text
    assert widget.get_by_role("button", name="Step").is_visible()
    assert widget.get_by_role("button", name="Back").is_visible()
    assert widget.get_by_role("button", name="Reset").is_visible()
    widget.locator('input[data-path="virtio"]').check()
    for _ in range(3):
        widget.locator('[data-action="step"]').click()
    explanation = widget.locator("[data-explanation]").inner_text()
    assert "Hop 3 of 7" in explanation and "the kick" in explanation and "VM exit +1" in explanation
    assert "The five paths' totals" in text
    assert not re.search("[\u3040-\u30ff\u3400-\u9fff]", widget.inner_text())


def test_without_javascript_the_table_is_readable(browser, widget_site):
    context, log, page = open_page(browser, widget_site[1], java_script_enabled=False)
    widget = page.locator(WIDGET)
    table = widget.locator("table.io-path__hops-table")
    assert table.is_visible()
    assert widget.locator("[data-action]").count() == 0
    assert table.locator("thead th").all_inner_texts() == ["順番", "場所", "説明", "VM exit", "コピー", "切り替え"]
    expected = totals_from_yaml()
    for path in data()["paths"]:
        body = table.locator(f'tbody[data-path-table="{path["id"]}"]')
        assert body.locator("tr[data-row]").count() == len(path["hops"])
        assert path["name"]["ja"] in body.locator("th[scope=rowgroup]").inner_text()
        total = body.locator("tr[data-total]")
        for counter, value in expected[path["id"]].items():
            assert total.locator(f'td[data-column="{counter}"]').inner_text() == str(value)
    hop = table.locator('tbody[data-path-table="emulation"] tr[data-row="3"]')
    assert "TDT" in hop.inner_text()
    assert hop.locator('td[data-column="exits"]').inner_text() == "あり"
    compare = widget.locator("table[data-compare-static]")
    assert compare.locator("tbody tr").count() == 5
    assert compare.locator('tr[data-row-path="vfio"] td[data-column="exits"]').inner_text() == "0"
    context.close()
    assert log.problems() == []


@pytest.mark.parametrize("javascript", [True, False])
def test_fits_a_phone(browser, widget_site, javascript):
    width = 390
    context, log, page = open_page(browser, widget_site[1], viewport={"width": width, "height": 844},
                                   java_script_enabled=javascript)
    if javascript:
        page.locator(WIDGET).locator('input[data-path="virtio"]').check()
        page.locator(WIDGET).locator('[data-action="step"]').click()
    overflow = page.evaluate(
        "(() => { const r = document.querySelector('[data-widget=\"io-path\"]');"
        " return r.scrollWidth - r.clientWidth; })()"
    )
    assert overflow <= 0
    right = page.evaluate("document.querySelector('[data-widget=\"io-path\"]').getBoundingClientRect().right")
    assert right <= width
    if javascript:  # without script, Material's own language menu overflows every page
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    context.close()
    assert log.problems() == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_stepped_widget_has_no_serious_accessibility_violation(browser, widget_site, scheme):
    context, log, page = open_page(browser, widget_site[1], color_scheme=scheme)
    widget = page.locator(WIDGET)
    widget.locator('input[data-path="emulation"]').check()
    for _ in range(4):
        widget.locator('[data-action="step"]').click()
    assert axe_violations(page) == []
    context.close()
    assert log.problems() == []


def test_without_javascript_has_no_serious_accessibility_violation(browser, widget_site):
    context, log, page = open_page(browser, widget_site[1], java_script_enabled=False)
    # axe needs script: run it in a page that has the static markup but no widget script.
    context.close()
    context, log, page = open_page(browser, widget_site[1])
    page.evaluate("""() => { const r = document.querySelector('[data-widget="io-path"]');
      r.querySelector('.io-path__app').remove(); r.querySelector('[data-static]').hidden = false; }""")
    assert axe_violations(page) == []
    context.close()
