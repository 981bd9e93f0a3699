"""The taxonomy explorer's model: its data, its data errors, and the exercise in Chromium.

What every widget must do (static part, keyboard, focus, phone, dark, axe, strings,
hook plumbing) is tests/test_widget_contract.py's; this module checks the answers and
the feedback. The page is tests/support/widgets.py's shared build.
"""

from __future__ import annotations

import pytest
import yaml

from tests.support import site, widgets
from tests.support.widgets import hooks, widget_site  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

NAME = "taxonomy-explorer"
DATA = site.ROOT / "docs" / "_data" / "taxonomy.yml"
WIDGET = f'[data-widget="{NAME}"]'

ja_page, en_page = widgets.page_fixtures(NAME)


def data() -> dict:
    return yaml.safe_load(DATA.read_text(encoding="utf-8"))


def place(page, system: str, answers: dict[str, str], button="答え合わせ"):
    """Pick ``system``, choose one option per axis and check; return the widget."""
    widget = page.locator(WIDGET)
    widget.locator(f'button[data-system="{system}"]').click()
    for axis, option in answers.items():
        widget.locator(f'fieldset[data-axis="{axis}"] input[data-option="{option}"]').check()
    widget.get_by_role("button", name=button, exact=True).click()
    return widget


def state(widget, axis: str):
    return widget.locator(f'fieldset[data-axis="{axis}"]').get_attribute("data-state")


def feedback_for(widget, axis: str) -> str:
    return widget.locator(f'[data-feedback] [data-feedback-axis="{axis}"]').inner_text()


ESXI_RIGHT = {"kind": "system", "isa": "same", "type": "type1", "technique": "hardware-assisted"}


# --- the data ------------------------------------------------------------------------


def test_data_covers_the_required_systems_and_every_axis():
    taxonomy = data()
    axes = {axis["id"]: [o["id"] for o in axis["options"]] for axis in taxonomy["axes"]}
    assert axes == {
        "kind": ["system", "process", "neither"],
        "isa": ["same", "cross", "na"],
        "type": ["type1", "type2", "na"],
        "technique": ["binary-translation", "paravirtualization", "hardware-assisted", "emulation", "na"],
    }
    ids = [system["id"] for system in taxonomy["systems"]]
    assert len(ids) >= 12
    for required in ("esxi", "vmware-workstation", "virtualbox", "kvm", "xen-pv", "hyper-v", "jvm",
                     "cpython", "qemu-tcg", "qemu-user", "wasm", "docker"):
        assert required in ids
    for system in taxonomy["systems"]:
        assert set(system["answers"]) == set(axes), system["id"]
    by_id = {system["id"]: system["answers"] for system in taxonomy["systems"]}
    assert sorted(by_id["kvm"]["type"]["correct"]) == ["type1", "type2"]
    assert by_id["docker"]["kind"]["correct"] == ["neither"]
    assert by_id["jvm"]["type"]["correct"] == ["na"]


def test_explanations_are_in_desu_masu():
    """The explanations and notes are sentences in です・ます (the style checks are the contract's)."""
    problems = [f"{path}: {text[-12:]}" for path, text in widgets.texts(data(), "ja")
                if (path.endswith(("explain", "about")) or ".notes." in path)
                and not text.endswith(("です。", "ます。", "ません。", "でした。"))]
    assert problems == []


# --- data errors stop the build ----------------------------------------------------------


def config_error(hooks, tmp_path, old, new):
    return widgets.config_error(hooks, NAME, tmp_path, "_data/taxonomy.yml", old, new)


line_of = widgets.line_of


def test_missing_explanation_fails_with_file_and_line(hooks, tmp_path):
    # VMware Workstation's answer on the "type" axis loses its explanation.
    old = ("        correct: [type2]\n        explain:\n"
           "          ja: WorkstationはWindowsやLinuxといったホストOSの上にインストールし、")
    start = DATA.read_text(encoding="utf-8").index(old)
    block = DATA.read_text(encoding="utf-8")[start:].split("        notes:\n", 1)[0]
    stderr, text, path = config_error(hooks, tmp_path, block, "        correct: [type2]\n")
    line = line_of(text, "        correct: [type2]\n        notes:\n          type1:")
    assert f"taxonomy explorer: {path}:{line}: systems.1.answers.type.explain: Field required" in stderr


def test_unknown_axis_value_fails_with_file_and_line(hooks, tmp_path):
    old = "        correct: [paravirtualization]\n"
    stderr, text, path = config_error(hooks, tmp_path, old, "        correct: [para-virtualization]\n")
    line = line_of(text, "        correct: [para-virtualization]")
    assert (
        f"{path}:{line}: systems.4.answers.technique.correct.0: unknown option 'para-virtualization' "
        "(axis 'technique' has binary-translation, paravirtualization, hardware-assisted, emulation, na)"
    ) in stderr


def test_missing_axis_and_unknown_axis_fail_with_file_and_line(hooks, tmp_path):
    old = "      isa:\n        correct: [cross]\n        explain:\n          ja: JVMが実行するのは"
    stderr, text, path = config_error(hooks, tmp_path, old, old.replace("      isa:", "      iza:"))
    line = line_of(text, "      iza:")
    assert f"{path}:{line}: systems.6.answers.iza: unknown axis 'iza' (axes: kind, isa, type, technique)" in stderr
    answers = text.index("    answers:\n", text.index("  - id: jvm\n"))
    assert f"{path}:{text[:answers].count(chr(10)) + 1}: systems.6.answers: no answer for axis 'isa'" in stderr


# --- in the browser ----------------------------------------------------------------------


def test_static_table_is_replaced_by_the_exercise(ja_page):
    widget = ja_page.locator(WIDGET)
    assert widget.locator("button[data-system]").count() == len(data()["systems"])
    assert widget.locator('button[data-system="esxi"]').get_attribute("aria-pressed") == "true"
    assert widget.locator("fieldset[data-axis]").count() == 4
    legends = widget.locator("fieldset[data-axis] legend").all_inner_texts()
    assert "仮想マシンの種類" in legends[0] and "ハイパーバイザーのタイプ" in legends[2]
    assert "12個中0個" in widget.locator("[data-score]").inner_text()


def test_placing_a_system_right(ja_page):
    widget = place(ja_page, "esxi", ESXI_RIGHT)
    for axis in ESXI_RIGHT:
        assert state(widget, axis) == "correct"
    feedback = widget.locator("[data-feedback]")
    assert feedback.get_attribute("aria-live") == "polite"
    text = feedback.inner_text()
    assert "VMware ESXi: 4つの観点すべてが正解です。" in text
    assert "VMkernelと呼ぶ専用のカーネル" in feedback_for(widget, "type")  # the explanation, right or wrong
    assert "すべての観点で正解したシステム: 12個中1個（正解した観点: 48個中4個）" in widget.locator("[data-score]").inner_text()
    button = widget.locator('button[data-system="esxi"]')
    assert button.get_attribute("data-result") == "correct"
    assert "分類済み、すべて正解" in button.inner_text()
    assert widget.locator("input[data-option]:enabled").count() == 0
    assert widget.get_by_role("button", name="もう一度").is_visible()


def test_placing_a_system_wrong_explains_why(ja_page):
    widget = place(ja_page, "esxi", dict(ESXI_RIGHT, type="type2", technique="binary-translation"))
    assert state(widget, "kind") == "correct" and state(widget, "isa") == "correct"
    assert state(widget, "type") == "incorrect" and state(widget, "technique") == "incorrect"
    assert "4つの観点のうち2つが正解です。" in widget.locator("[data-feedback]").inner_text()
    type_text = feedback_for(widget, "type")
    assert "不正解" in type_text
    assert "あなたの答え: タイプ2（ホスト型）" in type_text
    assert "正解: タイプ1（ベアメタル型）" in type_text
    assert "ESXiの下にホストOSはありません。" in type_text  # the note on this wrong choice
    assert "サーバーのハードウェアの上で直接起動します" in type_text  # and why the right one is right
    technique = feedback_for(widget, "technique")
    assert "VMwareの初期の製品はバイナリトランスレーションで知られています" in technique
    # The right option is marked, the wrong pick too; colour is not the only signal.
    fieldset = widget.locator('fieldset[data-axis="type"]')
    assert "不正解" in fieldset.locator("legend").inner_text()
    assert "option--correct" in fieldset.locator("label", has=ja_page.locator('[data-option="type1"]')).get_attribute("class")
    assert widget.locator('button[data-system="esxi"]').get_attribute("data-result") == "incorrect"
    assert "12個中0個（正解した観点: 48個中2個）" in widget.locator("[data-score]").inner_text()
    # Try again: the answers are cleared and the system can be placed anew.
    widget.get_by_role("button", name="もう一度").click()
    assert state(widget, "type") is None
    assert widget.locator("input[data-option]:checked").count() == 0
    assert widget.locator("[data-feedback]").inner_text() == ""


def test_checking_with_an_axis_unanswered_asks_for_it(ja_page):
    widget = ja_page.locator(WIDGET)
    widget.locator('fieldset[data-axis="kind"] input[data-option="system"]').check()
    widget.get_by_role("button", name="答え合わせ").click()
    assert state(widget, "kind") is None
    text = widget.locator("[data-feedback]").inner_text()
    assert "まだ答えていない観点があります" in text and "ハイパーバイザーのタイプ" in text
    assert ja_page.evaluate("document.activeElement.getAttribute('data-option')") == "same"


@pytest.mark.parametrize("answer", ["type1", "type2"])
def test_kvm_accepts_both_types_and_explains_both_views(ja_page, answer):
    widget = place(ja_page, "kvm", {"kind": "system", "isa": "same", "type": answer, "technique": "hardware-assisted"})
    assert state(widget, "type") == "correct"
    text = feedback_for(widget, "type")
    assert "正解（どちらも可）: タイプ1（ベアメタル型）、タイプ2（ホスト型）" in text
    assert "タイプ1とみる立場" in text and "タイプ2とみる立場" in text
    view = "タイプ1の見方です。" if answer == "type1" else "タイプ2の見方です。"
    assert view in text
    assert "4つの観点すべてが正解です。" in widget.locator("[data-feedback]").inner_text()


def test_kvm_not_applicable_is_wrong(ja_page):
    widget = place(ja_page, "kvm", {"kind": "system", "isa": "same", "type": "na", "technique": "hardware-assisted"})
    assert state(widget, "type") == "incorrect"
    assert "KVMはハイパーバイザーなので、型の問いは当てはまります。" in feedback_for(widget, "type")


def test_process_vm_has_no_hypervisor_type(ja_page):
    widget = place(ja_page, "jvm", {"kind": "process", "isa": "cross", "type": "na", "technique": "na"})
    for axis in ("kind", "isa", "type", "technique"):
        assert state(widget, axis) == "correct"
    assert "ゲストOSやハイパーバイザーはないので、当てはまりません" in feedback_for(widget, "type")
    widget.get_by_role("button", name="もう一度").click()
    place(ja_page, "jvm", {"kind": "process", "isa": "cross", "type": "type2", "technique": "emulation"})
    assert state(widget, "type") == "incorrect" and state(widget, "technique") == "incorrect"
    text = feedback_for(widget, "type")
    assert "あなたの答え: タイプ2（ホスト型）" in text and "正解: 当てはまらない" in text
    assert "JVMはハイパーバイザーではありません" in text


def test_container_is_not_a_vm(ja_page):
    widget = place(ja_page, "docker", {"kind": "system", "isa": "same", "type": "na", "technique": "na"})
    assert state(widget, "kind") == "incorrect" and state(widget, "isa") == "incorrect"
    assert state(widget, "type") == "correct" and state(widget, "technique") == "correct"
    kind = feedback_for(widget, "kind")
    assert "正解: どちらでもない（OSレベルの仮想化）" in kind
    assert "Docker Desktop" in kind  # the note on the tempting wrong answer


def test_switching_systems_keeps_each_result(ja_page):
    widget = place(ja_page, "esxi", ESXI_RIGHT)
    widget.locator('button[data-system="virtualbox"]').click()
    assert state(widget, "kind") is None
    assert widget.locator("input[data-option]:enabled").count() > 0
    widget.locator('button[data-system="esxi"]').click()
    assert state(widget, "kind") == "correct"
    widget.get_by_role("button", name="すべてやり直す").click()
    assert widget.locator('button[data-system="esxi"]').get_attribute("data-result") is None
    assert "12個中0個" in widget.locator("[data-score]").inner_text()
    assert ja_page.evaluate("document.activeElement.getAttribute('data-system')") == "esxi"


def test_checking_moves_the_focus_on(ja_page):
    """After a check the focus is on Next; Next focuses the next system's name, then its first option."""
    page = ja_page
    widget = place(page, "esxi", ESXI_RIGHT)
    assert page.evaluate("document.activeElement.textContent") == "次のシステムへ"
    page.keyboard.press("Enter")
    assert widget.locator('button[data-system="vmware-workstation"]').get_attribute("aria-pressed") == "true"
    assert page.evaluate("document.activeElement.textContent") == "VMware Workstation"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('data-option')") == "system"


def test_english_page_uses_english_strings(en_page):
    widget = en_page.locator(WIDGET)
    assert "Place real systems in the taxonomy" in widget.inner_text()
    widget = place(en_page, "xen-pv", {"kind": "system", "isa": "same", "type": "type2",
                                       "technique": "paravirtualization"}, button="Check")
    assert state(widget, "type") == "incorrect"
    text = widget.locator("[data-feedback]").inner_text()
    assert "Xen PV guest: 3 of 4 axes right." in text
    type_text = feedback_for(widget, "type")
    assert "Incorrect" in type_text
    assert "Your answer: Type 2 (hosted)" in type_text and "Correct answer: Type 1 (bare metal)" in type_text
    assert "Dom0 is itself a virtual machine on Xen" in type_text
    assert "Systems placed right on every axis: 0 of 12 (axes right: 3 of 48)" in widget.locator("[data-score]").inner_text()
    assert widget.get_by_role("button", name="Try again").is_visible()
    assert widget.get_by_role("button", name="Next system").is_visible()
    assert widget.get_by_role("button", name="Start over").is_visible()
    assert "答え" not in widget.inner_text()


def test_without_javascript_the_table_and_explanations_are_readable(browser, widget_site):
    with widgets.opened(browser, widget_site, NAME, java_script_enabled=False) as page:
        widget = page.locator(WIDGET)
        table = widget.locator("table")
        assert table.is_visible()
        assert widget.locator("button[data-system]").count() == 0
        headers = table.locator("thead th").all_inner_texts()
        assert headers == ["システム", "仮想マシンの種類", "ゲストとホストのISA", "ハイパーバイザーのタイプ", "CPUの仮想化の方式"]
        assert table.locator("tbody tr").count() == len(data()["systems"])
        kvm = table.locator('tr[data-system="kvm"]')
        assert kvm.locator('td[data-axis="type"]').inner_text() == "タイプ1（ベアメタル型）／タイプ2（ホスト型）（見方が分かれます）"
        jvm = table.locator('tr[data-system="jvm"]')
        assert jvm.locator('td[data-axis="type"]').inner_text() == "当てはまらない"
        assert table.locator('tr[data-system="docker"] td[data-axis="kind"]').inner_text() == "どちらでもない（OSレベルの仮想化）"
        details = widget.locator('details[data-system="docker"]')
        assert not details.locator("dd").first.is_visible()
        details.locator("summary").click()
        assert "名前空間で見える範囲を分け" in details.inner_text()
        assert "「システム仮想マシン」と答えた場合" in details.inner_text()
