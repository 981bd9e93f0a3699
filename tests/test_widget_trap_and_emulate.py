"""The trap-and-emulate stepper's model: its data, its data errors, and the stepper in Chromium.

What every widget must do (static part, keyboard, focus, Back and Reset, phone, dark,
axe, strings, hook plumbing) is tests/test_widget_contract.py's; this module checks the
counts, the guest's state and the explanations. The page is tests/support/widgets.py's
shared build.
"""

from __future__ import annotations

import re

import pytest
import yaml

from tests.support import site, widgets
from tests.support.widgets import hooks, press, widget_site  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

NAME = "trap-and-emulate"
DATA = site.ROOT / "docs" / "_data" / "trap-and-emulate.yml"
WIDGET = f'[data-widget="{NAME}"]'
STRATEGIES = ["trap-and-emulate", "binary-translation", "vt-x"]
COUNTER_OF = {"trap": "traps", "vm-exit": "exits", "translated": "translations"}
COUNTERS = ["traps", "exits", "translations"]

ja_page, en_page = widgets.page_fixtures(NAME)


# --- expectations computed from the data -----------------------------------------------


def data() -> dict:
    return yaml.safe_load(DATA.read_text(encoding="utf-8"))


def instructions() -> list[dict]:
    return data()["instructions"]


def expected_counts(strategy: str, upto: int | None = None) -> dict[str, int]:
    """Traps, VM exits and replaced instructions the first ``upto`` instructions cause."""
    counts = dict.fromkeys(COUNTERS, 0)
    for instruction in instructions()[:upto]:
        control = instruction["cells"][strategy]["control"]
        if control in COUNTER_OF:
            counts[COUNTER_OF[control]] += 1
    return counts


def wrong_steps(strategy: str) -> list[int]:
    return [n for n, i in enumerate(instructions(), start=1) if i["cells"][strategy]["guest"] == "wrong"]


def step_of(instruction_id: str) -> int:
    return next(n for n, i in enumerate(instructions(), start=1) if i["id"] == instruction_id)


# --- helpers for the browser ------------------------------------------------------------


def choose(widget, strategy: str):
    widget.locator(f'input[data-strategy="{strategy}"]').check()


def run_to_end(widget):
    step = widget.locator('button[data-action="step"]')
    while step.get_attribute("aria-disabled") != "true":
        step.click()


def counters(widget) -> dict[str, int]:
    return {name: int(widget.locator(f'[data-counter="{name}"]').inner_text()) for name in COUNTERS}


def current_step(widget) -> list[str]:
    return [line.get_attribute("data-step") for line in widget.locator('[data-step][aria-current="step"]').all()]


def explanation(widget) -> str:
    return widget.locator("[data-explanation]").inner_text()


# --- the data ------------------------------------------------------------------------


def test_data_has_the_instruction_mix_and_one_cell_per_strategy():
    program = data()
    assert [s["id"] for s in program["strategies"]] == STRATEGIES
    listing = instructions()
    assert 8 <= len(listing) <= 10
    codes = [i["code"] for i in listing]
    for code in ("pushf", "cli", "popf", "sgdt [esi]", "mov cr3, ecx", "hlt"):
        assert code in codes
    kinds = {i["kind"] for i in listing}
    assert kinds == {"ordinary", "privileged", "iopl", "sensitive"}
    for instruction in listing:
        assert set(instruction["cells"]) == set(STRATEGIES), instruction["id"]
    # popf must come after cli (the guest restores IF=1 that cli cleared).
    assert step_of("cli") < step_of("popf") < step_of("hlt")


def test_hand_checked_totals():
    """Counted by hand from the table, so that a wrong edit of the data fails here."""
    assert expected_counts("trap-and-emulate") == {"traps": 4, "exits": 0, "translations": 0}  # cli, cr3, out, hlt
    assert expected_counts("binary-translation") == {"traps": 0, "exits": 0, "translations": 7}
    assert expected_counts("vt-x") == {"traps": 0, "exits": 2, "translations": 0}  # out, hlt (EPT on)
    assert wrong_steps("trap-and-emulate") == [step_of("popf"), step_of("sgdt")]
    assert wrong_steps("binary-translation") == [] and wrong_steps("vt-x") == []


def test_sensitive_instructions_never_enter_the_vmm_under_pure_trap_and_emulate():
    for instruction in instructions():
        cell = instruction["cells"]["trap-and-emulate"]
        if instruction["kind"] == "sensitive":
            assert cell["control"] == "none", instruction["id"]
        elif instruction["kind"] in ("privileged", "iopl"):
            assert cell["control"] == "trap", instruction["id"]
        vt = instruction["cells"]["vt-x"]
        if instruction["id"] in ("popf", "pushf", "cli", "sgdt"):
            assert vt["control"] == "none" and vt["guest"] == "correct", instruction["id"]


PROSE = (".cpu", ".vmm", ".view", ".depends", ".about", ".assumption", "note")


def test_english_texts_are_whole_sentences():
    """Prose ends with a full stop (an unquoted ' #' in YAML would cut a text short)."""
    problems = [f"{path}: {text[-20:]}" for path, text in widgets.texts(data(), "en")
                if path.endswith(PROSE) and not text.endswith((".", ".)"))]
    assert problems == []
    assert "raises #GP and traps." in DATA.read_text(encoding="utf-8")
    hlt = next(i for i in instructions() if i["id"] == "hlt")
    assert hlt["cells"]["trap-and-emulate"]["cpu"]["en"].endswith("raises #GP and traps.")


def test_japanese_prose_is_in_desu_masu_and_passes_the_lint():
    """です・ます, and the project's textlint on every Japanese text of the data (the style checks
    and the widget's strings are the contract's)."""
    pairs = list(widgets.texts(data(), "ja"))
    problems = [f"{path}: {text[-12:]}" for path, text in pairs
                if path.endswith(PROSE) and not re.search("(です|ます|ません|でした|ました)）?。$", text)]
    assert problems == []
    result = widgets.textlint([text for _, text in pairs], NAME)
    assert result.returncode == 0, result.stdout + result.stderr


# --- the hook and data errors ------------------------------------------------------------


def test_hook_totals_match_the_test_expectations(hooks):
    hook = hooks(NAME)
    assert hook.totals(hook.WIDGET.data) == {s: expected_counts(s) for s in STRATEGIES}


def config_error(hooks, tmp_path, old, new):
    return widgets.config_error(hooks, NAME, tmp_path, "_data/trap-and-emulate.yml", old, new)


line_of = widgets.line_of


def test_unknown_strategy_fails_with_file_and_line(hooks, tmp_path):
    # cli's VT-x cell is filed under a misspelt strategy.
    old = "      vt-x:\n        control: none\n        cpu:\n          ja: ゲストはリング0で動いているので"
    stderr, text, path = config_error(hooks, tmp_path, old, old.replace("      vt-x:", "      vtx:"))
    index = step_of("cli") - 1
    assert stderr.startswith("trap-and-emulate: ")
    assert (
        f"{path}:{line_of(text, '      vtx:')}: instructions.{index}.cells.vtx: "
        "unknown strategy 'vtx' (strategies: trap-and-emulate, binary-translation, vt-x)"
    ) in stderr
    cells = text.index("    cells:\n", text.index("  - id: cli\n"))
    assert f"{path}:{text[:cells].count(chr(10)) + 1}: instructions.{index}.cells: no cell for strategy 'vt-x'" in stderr


def test_missing_explanation_fails_with_file_and_line(hooks, tmp_path):
    # popf under pure trap-and-emulate loses the explanation of the guest's view.
    original = DATA.read_text(encoding="utf-8")
    start = original.index("        view:\n          ja: ゲストは割り込みを許可したつもりですが")
    end = original.index("      binary-translation:", start)
    stderr, text, path = config_error(hooks, tmp_path, original[start:end], "")
    cell = text.index("        control: none\n", text.index("  - id: popf\n"))
    line = text[:cell].count("\n") + 1
    index = step_of("popf") - 1
    assert f"trap-and-emulate: {path}:{line}: instructions.{index}.cells.trap-and-emulate.view: Field required" in stderr


def test_impossible_control_fails_with_file_and_line(hooks, tmp_path):
    # A VM exit cannot happen under pure trap-and-emulate on classic x86.
    old = "        control: trap\n        cpu:\n          ja: hltは特権命令なので"
    new = old.replace("control: trap", "control: vm-exit")
    stderr, text, path = config_error(hooks, tmp_path, old, new)
    index = step_of("hlt") - 1
    assert (
        f"{path}:{line_of(text, new)}: instructions.{index}.cells.trap-and-emulate.control: "
        "'vm-exit' cannot happen under 'trap-and-emulate' (its events: none, trap)"
    ) in stderr


def test_unknown_control_fails_with_file_and_line(hooks, tmp_path):
    old = "        control: trap\n        cpu:\n          ja: hltは特権命令なので"
    new = old.replace("control: trap", "control: trapped")
    stderr, text, path = config_error(hooks, tmp_path, old, new)
    index = step_of("hlt") - 1
    assert f"{path}:{line_of(text, new)}: instructions.{index}.cells.trap-and-emulate.control: Input should be" in stderr


# --- in the browser ----------------------------------------------------------------------


def test_static_table_is_replaced_by_the_stepper(ja_page):
    widget = ja_page.locator(WIDGET)
    assert widget.locator("input[data-strategy]").count() == 3
    assert widget.locator('input[data-strategy="trap-and-emulate"]').is_checked()
    assert widget.locator("[data-step]").count() == len(instructions())
    assert current_step(widget) == []
    assert counters(widget) == {"traps": 0, "exits": 0, "translations": 0}
    assert widget.get_attribute("data-guest-state") == "correct"
    assert widget.locator("[data-explanation]").get_attribute("aria-live") == "polite"
    assert "まだ何も実行していません" in explanation(widget)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_running_the_whole_program_gives_the_counts_of_the_data(ja_page, strategy):
    widget = ja_page.locator(WIDGET)
    choose(widget, strategy)
    total = len(instructions())
    for n in range(1, total + 1):
        press(widget, "step")
        assert current_step(widget) == [str(n)]
        assert counters(widget) == expected_counts(strategy, n), f"after step {n}"
    assert counters(widget) == expected_counts(strategy)
    assert widget.locator('[data-action="step"]').get_attribute("aria-disabled") == "true"
    widget.locator('button[data-action="step"]').click(force=True)  # at the end, Step does nothing
    assert current_step(widget) == [str(total)] and counters(widget) == expected_counts(strategy)
    state = "wrong" if wrong_steps(strategy) else "correct"
    assert widget.get_attribute("data-guest-state") == state
    summary = widget.locator("[data-summary]").inner_text()
    assert "プログラムの終わりです" in summary
    assert "トラップ4回" in summary and "置き換えた命令7回" in summary and "VM exit2回" in summary


def test_popf_and_sgdt_go_wrong_silently_under_pure_trap_and_emulate(ja_page):
    widget = ja_page.locator(WIDGET)
    press(widget, "step", step_of("popf") - 1)
    assert widget.get_attribute("data-guest-state") == "correct"
    press(widget, "step")  # popf
    assert current_step(widget) == [str(step_of("popf"))]
    assert widget.get_attribute("data-guest-state") == "wrong"
    text = explanation(widget)
    assert "popf" in text and "誤り（ゲストは気づきません）" in text
    assert "IFを変えないまま" in text  # what the CPU does
    assert "VMMはゲスト宛ての割り込みを保留し続けます" in text  # how the guest goes wrong
    assert widget.locator('[data-explanation] [data-field="control"]').inner_text() == "VMMへ移らない"
    assert widget.locator('[data-explanation] [data-field="view"]').get_attribute("data-guest") == "wrong"
    assert "ゲストの状態: 誤っています" in widget.locator("[data-guest-status]").inner_text()
    assert counters(widget)["traps"] == 1  # cli trapped; popf did not
    line = widget.locator(f'[data-step="{step_of("popf")}"]')
    assert line.get_attribute("data-guest") == "wrong" and "誤り" in line.inner_text()
    press(widget, "step")  # sgdt
    text = explanation(widget)
    assert "sgdt" in text and "VMMが実CPUに読み込ませたGDT" in text
    assert widget.get_attribute("data-guest-state") == "wrong"
    assert "6行目 popf、7行目 sgdt [esi]" in widget.locator("[data-guest-status]").inner_text()


def test_the_same_instructions_are_right_under_binary_translation_and_vt_x(ja_page):
    widget = ja_page.locator(WIDGET)
    press(widget, "step", step_of("sgdt"))
    assert widget.get_attribute("data-guest-state") == "wrong"
    choose(widget, "binary-translation")  # the position stays; the run is shown under BT
    assert current_step(widget) == [str(step_of("sgdt"))]
    assert widget.get_attribute("data-guest-state") == "correct"
    assert counters(widget) == expected_counts("binary-translation", step_of("sgdt"))
    assert "仮想のGDTRの値を書き込むコード" in explanation(widget)
    assert "バイナリトランスレーション" in explanation(widget)
    choose(widget, "vt-x")
    assert widget.get_attribute("data-guest-state") == "correct"
    text = explanation(widget)
    assert "descriptor-table exiting" in text and "設定による違い" in text
    assert counters(widget) == {"traps": 0, "exits": 0, "translations": 0}


def test_vt_x_exits_depend_on_the_vmcs_controls(ja_page):
    widget = ja_page.locator(WIDGET)
    choose(widget, "vt-x")
    assert "CR3-load exiting" in widget.inner_text()  # the assumed configuration is shown
    press(widget, "step", step_of("mov-cr3"))
    assert widget.locator('[data-explanation] [data-field="control"]').inner_text() == "VMMへ移らない"
    assert "VMCSの設定しだいです" in widget.locator('[data-explanation] [data-field="depends"]').inner_text()
    press(widget, "step", 2)  # out, hlt
    assert counters(widget)["exits"] == 2
    assert widget.locator('[data-explanation] [data-field="control"]').inner_text() == "VM exit"


def test_back_undoes_a_step_and_reset_starts_over(ja_page):
    widget = ja_page.locator(WIDGET)
    press(widget, "step", step_of("cli"))
    assert counters(widget)["traps"] == 1
    press(widget, "back")
    assert current_step(widget) == [str(step_of("cli") - 1)]
    assert counters(widget)["traps"] == 0
    press(widget, "step", step_of("popf") - step_of("cli") + 1)
    assert widget.get_attribute("data-guest-state") == "wrong"
    press(widget, "back")  # before popf again: the guest is right once more
    assert widget.get_attribute("data-guest-state") == "correct"
    run_to_end(widget)
    assert counters(widget) == expected_counts("trap-and-emulate")
    press(widget, "reset")
    assert current_step(widget) == []
    assert counters(widget) == {"traps": 0, "exits": 0, "translations": 0}
    assert widget.get_attribute("data-guest-state") == "correct"
    assert "まだ何も実行していません" in explanation(widget)
    assert widget.locator("[data-done]").count() == 0


def test_english_page_uses_english_strings(en_page):
    widget = en_page.locator(WIDGET)
    assert "Run guest OS kernel code one instruction at a time" in widget.inner_text()
    assert widget.get_by_role("button", name="Step").is_visible()
    assert widget.get_by_role("button", name="Back").is_visible()
    assert widget.get_by_role("button", name="Reset").is_visible()
    press(widget, "step", step_of("popf"))
    assert widget.get_attribute("data-guest-state") == "wrong"
    text = explanation(widget)
    assert f"Line {step_of('popf')} of {len(instructions())}" in text
    assert "Wrong (the guest does not notice)" in text
    assert "keeps holding back its interrupts" in text
    assert "What the CPU does" in text and "Entry into the VMM" in text
    assert "Guest state: wrong" in widget.locator("[data-guest-status]").inner_text()
    assert "Counts under Pure trap-and-emulate (classic x86)" in widget.inner_text()
    run_to_end(widget)
    assert "End of the program" in explanation(widget)
    assert "4 traps" in explanation(widget) and "7 replaced instructions" in explanation(widget)
    assert re.search("[\u3040-\u30ff\u3400-\u9fff]", widget.inner_text()) is None


def test_without_javascript_the_table_and_explanations_are_readable(browser, widget_site):
    with widgets.opened(browser, widget_site, NAME, java_script_enabled=False) as page:
        widget = page.locator(WIDGET)
        table = widget.locator("table")
        assert table.is_visible()
        assert widget.locator("[data-step]").count() == 0 and widget.locator("[data-action]").count() == 0
        headers = table.locator("thead th").all_inner_texts()
        assert headers == ["行", "命令", "純粋なトラップ・アンド・エミュレート（従来のx86）",
                           "バイナリトランスレーション（VMware方式）", "Intel VT-x"]
        assert table.locator("tbody tr").count() == len(instructions())
        popf = table.locator('tr[data-instruction="popf"]')
        assert popf.locator('td[data-cell="trap-and-emulate"]').get_attribute("data-guest") == "wrong"
        assert "ゲストから見て誤り（気づきません）" in popf.locator('td[data-cell="trap-and-emulate"]').inner_text()
        assert "VMMのコードに置き換え" in popf.locator('td[data-cell="binary-translation"]').inner_text()
        for strategy in STRATEGIES:
            for instruction in instructions():
                cell = table.locator(f'tr[data-instruction="{instruction["id"]}"] td[data-cell="{strategy}"]')
                assert cell.get_attribute("data-control") == instruction["cells"][strategy]["control"]
        assert table.locator('tfoot td[data-total="trap-and-emulate"]').inner_text().startswith("トラップ4回")
        assert "6行目、7行目" in table.locator('tfoot td[data-total="trap-and-emulate"]').inner_text()
        assert table.locator('tfoot td[data-total="binary-translation"]').inner_text() == "置き換えた命令7回"
        assert table.locator('tfoot td[data-total="vt-x"]').inner_text() == "VM exit2回"
        details = widget.locator('details[data-instruction="sgdt"]')
        assert not details.locator("dd").first.is_visible()
        details.locator("summary").click()
        assert "VMMが実CPUに読み込ませたGDT" in details.inner_text()
        assert "descriptor-table exiting" in details.inner_text()
