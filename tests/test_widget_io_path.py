"""The I/O path widget's model: its data, its data errors, and the step-through in Chromium.

What every widget must do (static part, keyboard, focus, Back and Reset, phone, dark,
axe, strings, hook plumbing) is tests/test_widget_contract.py's; this module checks the
paths, the counts and the comparison. The page is tests/support/widgets.py's shared build.
"""

from __future__ import annotations

import re

import pytest
import yaml

from tests.support import site, widgets
from tests.support.widgets import hooks, widget_site  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

NAME = "io-path"
DATA = site.ROOT / "docs" / "_data" / "io-path.yml"
WIDGET = f'[data-widget="{NAME}"]'
PATH_IDS = ["emulation", "virtio", "vhost", "vfio", "sriov"]
COUNTERS = {"exits": "exit", "copies": "copy", "switches": "switch"}

ja_page, en_page = widgets.page_fixtures(NAME)


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


def test_explanations_are_in_desu_masu():
    """Each hop's explanation and each summary is a sentence in です・ます (the style checks are the contract's)."""
    problems = [f"{path}: {text[-12:]}" for path, text in widgets.texts(data(), "ja")
                if path.endswith(("explain", "summary")) and not text.endswith(("です。", "ます。", "ません。"))]
    assert problems == []


# --- the hook and data errors ------------------------------------------------------------


def test_hook_totals_match_the_yaml(hooks):
    paths = hooks(NAME).WIDGET.data
    assert {path.id: path.totals() for path in paths.paths} == totals_from_yaml()


def config_error(hooks, tmp_path, old, new):
    return widgets.config_error(hooks, NAME, tmp_path, "_data/io-path.yml", old, new)


line_of = widgets.line_of


def test_unknown_path_id_fails_with_file_and_line(hooks, tmp_path):
    stderr, text, path = config_error(hooks, tmp_path, "  - id: vhost\n", "  - id: vhost-user\n")
    line = line_of(text, "  - id: vhost-user\n")
    assert (f"io path: {path}:{line}: paths.2.id: unknown path 'vhost-user' "
            "(paths: emulation, virtio, vhost, vfio, sriov)") in stderr
    assert "paths: missing path: vhost" in stderr


def test_hop_without_explanation_fails_with_file_and_line(hooks, tmp_path):
    old = ("      - where: {ja: QEMUのe1000のモデル, en: QEMU's e1000 model}\n"
           "        side: host-user\n        copy: true\n")
    text = DATA.read_text(encoding="utf-8")
    start = text.index(old)
    block = text[start:text.index("      - where:", start + len(old))]
    stderr, text, path = config_error(hooks, tmp_path, block, old)
    line = line_of(text, "      - where: {ja: QEMUのe1000のモデル")
    assert f"io path: {path}:{line}: paths.0.hops.4.explain: Field required" in stderr


def test_unknown_side_and_bad_flag_fail_with_file_and_line(hooks, tmp_path):
    old = "      - where: {ja: vhostのワーカー（ホストのカーネル）, en: vhost worker (host kernel)}\n        side: host-kernel\n        explain:\n          ja: ioeventfd"
    new = old.replace("side: host-kernel", "side: kernel\n        copy: maybe")
    stderr, text, path = config_error(hooks, tmp_path, old, new)
    assert f"{path}:{line_of(text, '        side: kernel')}: paths.2.hops.3.side:" in stderr
    assert f"{path}:{line_of(text, '        copy: maybe')}: paths.2.hops.3.copy:" in stderr


# --- in the browser ----------------------------------------------------------------------


def enabled(button) -> bool:
    """The kit marks a button with nothing to do aria-disabled (it keeps the focus)."""
    return button.get_attribute("aria-disabled") != "true"


def step_to_end(page, widget) -> int:
    steps = 0
    step = widget.locator('[data-action="step"]')
    while enabled(step):
        step.click()
        steps += 1
        assert current_hop(widget) == steps
        assert steps < 50
    return steps


def test_static_table_is_replaced_by_the_step_through(ja_page):
    widget = ja_page.locator(WIDGET)
    assert widget.locator("input[data-path]").count() == 5
    assert widget.locator('input[data-path="emulation"]').is_checked()
    assert current_hop(widget) == 0
    assert counters(widget) == {"exits": 0, "copies": 0, "switches": 0}
    assert widget.locator("[data-explanation]").get_attribute("aria-live") == "polite"
    assert "9箇所を通ります" in widget.locator("[data-explanation]").inner_text()


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
    while enabled(step):
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
    assert current_hop(widget) == 0 and not enabled(back)
    step_to_end(ja_page, widget)
    assert not enabled(step)
    reset.click()
    assert current_hop(widget) == 0
    assert counters(widget) == {"exits": 0, "copies": 0, "switches": 0}
    # Changing the path starts it from the beginning.
    step.click(); step.click()
    widget.locator('input[data-path="vhost"]').check()
    assert current_hop(widget) == 0 and widget.locator("[data-hop]").count() == 7


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
    with widgets.opened(browser, widget_site, NAME, java_script_enabled=False) as page:
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
