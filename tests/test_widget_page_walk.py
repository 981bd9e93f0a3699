"""The page-walk widget's model: its counts, its data errors, and the stepper in Chromium.

What every widget must do (static part, keyboard, focus, Back and Reset, phone, dark,
axe, strings, hook plumbing) is tests/test_widget_contract.py's; this module checks the
counts, the grid and the lab presets. The page is tests/support/widgets.py's shared build.

The expected counts are computed here, independently of the script: with n guest
and m nested levels left after large pages, nested paging costs (n+1)(m+1)−1
references, native and shadow paging n, a TLB hit 0; the final data access is
never counted.

The lab presets (``lab_walks`` in the data) replay walks that the kvm-paging lab
recorded; tests/test_lab_kvm_paging.py checks those records against the lab's output
and the lab's counting rule against ``references`` here.
"""

from __future__ import annotations

import itertools
import re

import pytest

from tests.support import site, widgets
from tests.support.widgets import hooks, widget_site  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

NAME = "page-walk"
DATA = site.ROOT / "docs" / "_data" / "page-walk.yml"
WIDGET = f'[data-widget="{NAME}"]'

LEVELS = (4, 5)
PAGE_SIZES = {"4k": 0, "2m": 1, "1g": 2}  # levels removed from each walk
MODES = ("native", "shadow", "nested")
TLB = ("miss", "hit")


def expected(mode: str, guest: int, nested: int, page: str, tlb: str) -> int:
    if tlb == "hit":
        return 0
    n, m = guest - PAGE_SIZES[page], nested - PAGE_SIZES[page]
    return (n + 1) * (m + 1) - 1 if mode == "nested" else n


def test_expected_counts_match_the_course():
    assert expected("nested", 4, 4, "4k", "miss") == 24  # 「最大24回（最終的なデータアクセスを除く）」
    assert expected("nested", 5, 5, "4k", "miss") == 35
    assert expected("nested", 4, 5, "4k", "miss") == expected("nested", 5, 4, "4k", "miss") == 29
    assert expected("nested", 4, 4, "2m", "miss") == 15
    assert expected("nested", 4, 4, "1g", "miss") == 8
    assert expected("native", 4, 4, "4k", "miss") == expected("shadow", 4, 5, "4k", "miss") == 4
    assert expected("nested", 5, 5, "4k", "hit") == 0


ja_page, en_page = widgets.page_fixtures(NAME)


def choose(widget, **settings):
    """Set each setting through its control: guest_levels=5, page_size="2m", mode=..."""
    for name, value in settings.items():
        widget.locator(f'select[data-setting="{name.replace("_", "-")}"]').select_option(str(value))


def action(widget, name: str):
    """Press a button; one marked aria-disabled (nothing to do) is pressed anyway."""
    widget.locator(f'button[data-action="{name}"]').click(force=True)


def count(widget) -> int:
    return int(widget.locator("[data-count]").inner_text())


def refs(widget) -> list[int]:
    return sorted(int(v) for v in widget.locator("[data-ref]").evaluate_all(
        "cells => cells.map(c => c.getAttribute('data-ref'))"))


# --- the hook ------------------------------------------------------------------------------


def test_hook_counts_agree_with_the_formula(hooks):
    hook = hooks(NAME)
    for guest, nested, page, mode, tlb in itertools.product(LEVELS, LEVELS, PAGE_SIZES, MODES, TLB):
        assert hook.references(mode, guest, nested, page, tlb == "hit") == expected(mode, guest, nested, page, tlb)


def test_japanese_texts_have_no_stray_spaces(hooks):
    """Folded YAML would put spaces between Japanese sentences."""
    data = hooks(NAME).WIDGET.data
    japanese = "[\u3040-\u30ff\u3400-\u9fff。、）]"
    texts = [data.intro.ja, data.formula.ja, data.large_pages.ja, data.tlb.ja, data.final_access.ja]
    texts += [mode.explain.ja for _, mode in data.modes]
    texts += [data.lab_walks.intro.ja]
    for text in texts:
        assert not re.search(f"{japanese} [A-Za-z0-9\u3040-\u30ff\u3400-\u9fff]", text), text
        assert not re.search("[Ａ-Ｚａ-ｚ０-９]", text), text
    assert "最大24回（最終的なデータアクセスを除く）" in data.formula.ja


# --- data errors stop the build ----------------------------------------------------------


def config_error(hooks, tmp_path, old, new):
    return widgets.config_error(hooks, NAME, tmp_path, "_data/page-walk.yml", old, new)


line_of = widgets.line_of


def test_missing_translation_fails_with_file_and_line(hooks, tmp_path):
    old = "    label: {ja: シャドウページング, en: Shadow paging}\n"
    stderr, text, path = config_error(hooks, tmp_path, old, "    label: {ja: シャドウページング}\n")
    line = line_of(text, "    label: {ja: シャドウページング}")
    assert f"page walk: {path}:{line}: modes.shadow.label.en: Field required" in stderr


def test_unknown_mode_fails_with_file_and_line(hooks, tmp_path):
    stderr, text, path = config_error(hooks, tmp_path, "  shadow:\n", "  shadows:\n")
    # _yaml_data names the first line of a mapping's value: the line below ``shadows:`` and ``modes:``.
    line = line_of(text, "  shadows:\n")
    assert f"{path}:{line + 1}: modes.shadows: Extra inputs are not permitted" in stderr
    modes = line_of(text, "\nmodes:") + 2
    assert f"{path}:{modes}: modes.shadow: Field required" in stderr


def test_lab_walk_whose_index_does_not_match_its_gva_fails(hooks, tmp_path):
    old = "        - {table: PT, index: 4, entry_gpa: \"0x6020\""
    stderr, text, path = config_error(hooks, tmp_path, old, old.replace("index: 4", "index: 5"))
    line = line_of(text, '    - gva: "0x8080604010"')
    assert f"{path}:{line}: lab_walks.walks.0: PT index 5 is not the one in GVA 0x8080604010" in stderr


def test_lab_walk_with_too_many_levels_for_its_page_fails(hooks):
    hook = hooks(NAME)
    text = DATA.read_text(encoding="utf-8").replace("      page: 2m\n", "      page: 1g\n")
    with pytest.raises(ValueError, match=r"lab_walks\.walks\.1: a 1g page is reached through PML4, PDPT"):
        hook.WIDGET.load(text, "page-walk.yml")


def test_malformed_yaml_fails_with_file_and_line(hooks, tmp_path):
    stderr, text, path = config_error(hooks, tmp_path, "    label: {ja: ネイティブ, en: Native}\n",
                                    "    label: {ja: ネイティブ, en: Native\n")
    assert f"page walk: {path}:" in stderr and "invalid YAML" in stderr


# --- in the browser ----------------------------------------------------------------------


def test_every_combination_counts_as_the_formula(ja_page):
    """All 72 settings, chosen through the controls, run to the end."""
    widget = ja_page.locator(WIDGET)
    seen = []
    for guest, nested, page, mode, tlb in itertools.product(LEVELS, LEVELS, PAGE_SIZES, MODES, TLB):
        choose(widget, guest_levels=guest, nested_levels=nested, page_size=page, mode=mode, tlb=tlb)
        want = expected(mode, guest, nested, page, tlb)
        assert count(widget) == 0
        action(widget, "run")
        state = widget.evaluate(
            """root => ({count: Number(root.querySelector('[data-count]').textContent),
                        refs: Array.from(root.querySelectorAll('[data-ref]'), c => Number(c.dataset.ref)),
                        finals: root.querySelectorAll('[data-final]').length,
                        total: root.querySelector('[data-total]').textContent})"""
        )
        label = (guest, nested, page, mode, tlb)
        assert state["count"] == want, label
        assert sorted(state["refs"]) == list(range(1, want + 1)), label
        assert state["finals"] == 1, label  # the data access is shown, not numbered
        assert f"= {want}回" in state["total"] and "最終的なデータアクセスを除く" in state["total"], label
        seen.append(want)
    assert len(seen) == 72
    assert {24, 35, 29, 15, 8, 4, 5, 0} <= set(seen)


def test_the_nested_grid_has_a_row_per_gpa_and_a_column_per_nested_level(ja_page):
    widget = ja_page.locator(WIDGET)
    grid = widget.locator("table[data-grid]")
    assert grid.get_attribute("data-grid") == "nested"
    assert grid.locator("tbody tr").count() == 5  # gCR3, then gL4..gL1 entries (the last gives the data GPA)
    assert grid.locator("thead th").all_inner_texts() == ["nL4", "nL3", "nL2", "nL1", "読む"]
    rows = [text.replace("\n", "") for text in grid.locator("tbody th").all_inner_texts()]
    assert rows[0] == "gCR3 → gL4" and rows[-1] == "gL1 → データ"
    action(widget, "run")
    # Row by row: four nested references, then the guest entry (5, 10, 15, 20); 21-24 translate the data's GPA.
    cell = lambda r, c: grid.locator(f"tbody tr:nth-child({r + 1}) td:nth-child({c + 2})")
    assert cell(0, 0).get_attribute("data-ref") == "1" and cell(0, 4).get_attribute("data-ref") == "5"
    assert cell(3, 4).get_attribute("data-ref") == "20" and cell(4, 3).get_attribute("data-ref") == "24"
    assert cell(4, 4).get_attribute("data-final") == "" and cell(4, 4).get_attribute("data-ref") is None
    choose(widget, page_size="2m")
    assert grid.locator("tbody tr").count() == 4
    assert grid.locator("thead th").all_inner_texts() == ["nL4", "nL3", "nL2", "読む"]
    choose(widget, mode="native")
    assert widget.locator("table[data-grid]").get_attribute("data-grid") == "native"


def test_stepping_numbers_the_references_one_by_one(ja_page):
    widget = ja_page.locator(WIDGET)
    explain = widget.locator("[data-explain]")
    assert explain.get_attribute("aria-live") == "polite"
    assert "1歩進む" in explain.inner_text()
    for k in range(1, 25):
        action(widget, "step")
        assert count(widget) == k
        assert refs(widget) == list(range(1, k + 1))
        assert explain.inner_text().startswith(f"参照{k}: ")
    assert widget.locator("[data-final]").count() == 0
    action(widget, "step")  # the data access: shown, not counted
    assert count(widget) == 24 and widget.locator("[data-final]").count() == 1
    assert "数えません" in explain.inner_text()
    action(widget, "step")  # nothing more
    assert count(widget) == 24 and "最後まで" in explain.inner_text()
    assert "最終的なデータアクセスを除く" in widget.inner_text()


def test_back_and_reset(ja_page):
    widget = ja_page.locator(WIDGET)
    for _ in range(6):
        action(widget, "step")
    action(widget, "back")
    assert count(widget) == 5 and refs(widget) == [1, 2, 3, 4, 5]
    assert widget.locator('[data-ref="5"]').inner_text() == "5"
    action(widget, "run")
    assert count(widget) == 24
    action(widget, "back")  # back from the data access
    assert count(widget) == 24 and widget.locator("[data-final]").count() == 0
    action(widget, "back")
    assert count(widget) == 23
    action(widget, "reset")
    assert count(widget) == 0 and refs(widget) == []
    action(widget, "back")
    assert count(widget) == 0
    # Changing a setting starts the walk over.
    action(widget, "run")
    choose(widget, guest_levels=5)
    assert count(widget) == 0
    action(widget, "run")
    assert count(widget) == 29


def test_shadow_paging_says_where_the_cost_goes(ja_page):
    widget = ja_page.locator(WIDGET)
    choose(widget, mode="shadow")
    action(widget, "run")
    assert count(widget) == 4
    text = widget.locator("[data-mode-explain]").inner_text()
    assert "VM exit" in text and "GVAをホスト物理アドレス（HPA）へ直接変換" in text
    assert "シャドウページング 4回" in widget.locator("[data-compare]").inner_text()
    choose(widget, page_size="1g")
    assert "両方に当てはめます" in widget.locator("[data-mode-explain]").inner_text()
    choose(widget, tlb="hit")
    action(widget, "step")
    assert count(widget) == 0 and "TLBに当たりました" in widget.locator("[data-explain]").inner_text()


def explain_after(widget, steps: int) -> str:
    action(widget, "reset")
    for _ in range(steps):
        action(widget, "step")
    return widget.locator("[data-explain]").inner_text()


def test_lab_preset_replays_the_recorded_walk(ja_page):
    widget = ja_page.locator(WIDGET)
    choose(widget, guest_levels=5, page_size="1g", tlb="hit")
    choose(widget, preset="0")  # GVA 0x8080604010, a 4 KiB page
    values = {name: widget.locator(f'select[data-setting="{name}"]').input_value()
              for name in ("guest-levels", "nested-levels", "page-size", "tlb", "mode")}
    assert values == {"guest-levels": "4", "nested-levels": "4", "page-size": "4k", "tlb": "miss", "mode": "nested"}
    assert "= 24回" in widget.locator("[data-total]").inner_text()
    # Nested: reference 1 reads KVM's table (not recorded); 5, 10, 15, 20 read the guest's entries.
    assert "読めない" in explain_after(widget, 1)
    assert "ハンズオンの記録: PML4[1]（GPA 0x1008）= 0x0000000000004023" in explain_after(widget, 5)
    assert "PT[4]（GPA 0x6020）= 0x8000000000153063" in explain_after(widget, 20)
    assert "GVA 0x8080604010 → GPA 0x153010" in explain_after(widget, 25)  # the data access
    # Natively the CPU reads the same guest entries one after the other.
    choose(widget, mode="native")
    assert "PDPT[2]（GPA 0x4010）= 0x0000000000005023" in explain_after(widget, 2)
    # With shadow paging the CPU walks KVM's shadow table, which the lab could not read.
    choose(widget, mode="shadow")
    text = explain_after(widget, 1)
    assert "読めない" in text and "PML4[1]" not in text
    # The 2 MiB walk: three guest levels.
    choose(widget, mode="nested", preset="1")
    assert widget.locator('select[data-setting="page-size"]').input_value() == "2m"
    assert "= 15回" in widget.locator("[data-total]").inner_text()
    assert "PD[4]（GPA 0x5020）= 0x80000000002000a3" in explain_after(widget, 12)
    # Another page size is no longer the lab's walk.
    choose(widget, page_size="4k")
    assert widget.locator('select[data-setting="preset"]').input_value() == ""
    assert "ハンズオンの記録" not in explain_after(widget, 5)


def test_english_page_uses_english_strings(en_page):
    widget = en_page.locator(WIDGET)
    assert widget.locator('button[data-action="step"]').inner_text() == "Step"
    assert widget.locator('button[data-action="run"]').inner_text() == "Run to end"
    assert widget.locator('label[for$="-guest-levels"]').inner_text() == "Guest levels n"
    action(widget, "run")
    assert count(widget) == 24
    assert "References for these settings: (4+1)(4+1)−1 = 24 (final data access not counted)" in \
        widget.locator("[data-total]").inner_text()
    assert "Nested paging (EPT/NPT) 24" in widget.locator("[data-compare]").inner_text()
    assert "data" in widget.locator("[data-final]").inner_text()
    choose(widget, preset="0")
    assert "Lab record: PML4[1] (GPA 0x1008) = 0x0000000000004023." in explain_after(widget, 5)
    assert re.search("[\u3040-\u30ff\u3400-\u9fff]", widget.inner_text()) is None


def test_without_javascript_the_formula_and_counts_are_readable(browser, widget_site):
    with widgets.opened(browser, widget_site, NAME, java_script_enabled=False) as page:
        static = page.locator(WIDGET).locator("[data-static]")
        assert "(n+1)(m+1)−1" in static.inner_text()
        assert "最大24回（最終的なデータアクセスを除く）" in static.inner_text()
        table = static.locator("table")
        for guest, nested in itertools.product(LEVELS, LEVELS):
            row = table.locator(f'tr[data-guest="{guest}"][data-nested="{nested}"]')
            for size in PAGE_SIZES:
                want = expected("nested", guest, nested, size, "miss")
                assert row.locator(f'td[data-page-size="{size}"]').inner_text() == f"{want}回"
        assert "VM exit" in static.inner_text()
        lab = static.locator('table[data-lab-walk="0x8080604010"]')
        assert lab.locator("tbody tr").count() == 4
        assert "0x8000000000153063" in lab.inner_text() and "GPA 0x153010" in static.inner_text()
        assert static.locator('table[data-lab-walk="0x8080812340"] tbody tr').count() == 3


def test_the_largest_grid_fits_a_phone_without_scrolling(browser, widget_site):
    with widgets.opened(browser, widget_site, NAME, viewport={"width": 390, "height": 844}) as page:
        widget = page.locator(WIDGET)
        choose(widget, guest_levels=5, nested_levels=5)
        action(widget, "run")
        overflow = widget.evaluate("r => r.querySelector('table[data-grid]').getBoundingClientRect().right"
                                   " - r.getBoundingClientRect().right")
        assert overflow <= 0  # the 6×6 grid fits without scrolling
