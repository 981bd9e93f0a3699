"""The taxonomy explorer widget: its data, its build errors and the exercise in Chromium.

The fixture builds a copy of the site with one page (and its English twin) that
holds the ``<!-- taxonomy-explorer -->`` marker. The hook is added to the copied
mkdocs.yml if the real one does not list it yet.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.support import site, widgets
from tests.test_accessibility import axe_violations

pytestmark = pytest.mark.browser

DATA = site.ROOT / "docs" / "_data" / "taxonomy.yml"
WIDGET = '[data-widget="taxonomy-explorer"]'

PAGE_JA = "# 分類の練習\n\n実在のシステムを分類します。\n\n<!-- taxonomy-explorer -->\n\n後ろの段落。\n"
PAGE_EN = "# Placing systems\n\nPlace real systems in the taxonomy.\n\n<!-- taxonomy-explorer -->\n\nA paragraph after it.\n"
PAGES = {"taxonomy-widget.md": PAGE_JA, "taxonomy-widget.en.md": PAGE_EN}


def widget_project(root: Path, pages=PAGES) -> Path:
    return widgets.widget_project(root, pages)


def open_page(browser, base_url, path="taxonomy-widget/", **kwargs):
    return widgets.open_page(browser, base_url, path, **kwargs)


widget_site, ja_page, en_page = widgets.page_fixtures(PAGES, "taxonomy-widget/")


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
                    if path.endswith(("explain", "about")) or ".notes." in path:
                        if not value.endswith(("です。", "ます。", "ません。", "でした。")):
                            problems.append(f"{path}: not です・ます: {value[-12:]}")
                else:
                    walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, f"{path}.{index}")

    walk(data(), "taxonomy")
    assert problems == []


# --- the hook ------------------------------------------------------------------------------


@pytest.fixture
def hook(monkeypatch):
    """The hook module, loaded the way MkDocs loads it (its folder on sys.path)."""
    import importlib
    import sys

    monkeypatch.syspath_prepend(str(site.ROOT / "overrides" / "hooks"))
    module = importlib.import_module("taxonomy_explorer")
    yield module
    sys.modules.pop("taxonomy_explorer", None)


class FakeFile:
    def __init__(self, src_uri, locale):
        self.src_uri, self.locale = src_uri, locale


class FakePage:
    def __init__(self, locale, meta):
        self.file, self.meta = FakeFile("x.en.md", locale), meta


def test_hook_keeps_other_widgets_and_leaves_code_alone(hook):
    hook._taxonomy = hook.load(DATA.read_text(encoding="utf-8"), "taxonomy.yml")
    page = FakePage("en", {"widgets": ["other-widget"]})
    markdown = "# T\n\n```markdown\n<!-- taxonomy-explorer -->\n```\n\n<!-- taxonomy-explorer -->\n\nEnd.\n"
    out = hook.on_page_markdown(markdown, page)
    assert page.meta["widgets"] == ["other-widget", "taxonomy-explorer"]
    assert out.count('data-widget="taxonomy-explorer"') == 1
    assert "```markdown\n<!-- taxonomy-explorer -->\n```" in out  # the one in code stays
    assert 'lang="en"' in out and '"lang":"en"' in out
    block = out[out.index('<div class="taxonomy-explorer"'):out.index("\nEnd.")].strip()
    assert block.endswith("</script>\n</div>")
    assert "\n\n" not in block  # one raw HTML block: Markdown leaves it alone
    # A page without the marker is untouched and loads nothing.
    plain = FakePage("ja", {})
    assert hook.on_page_markdown("# T\n", plain) == "# T\n" and "widgets" not in plain.meta


def test_json_for_the_script_cannot_close_the_script_tag(hook):
    taxonomy = hook.load(DATA.read_text(encoding="utf-8"), "taxonomy.yml")
    taxonomy.systems[0].about.ja = "</script><b>&</b>"
    html = hook.render(taxonomy, "ja", "t-1")
    script = html.split("<script type=\"application/json\" data-taxonomy-data>", 1)[1].split("</script>", 1)[0]
    assert "<" not in script and "&" not in script
    assert "&lt;/script&gt;&lt;b&gt;&amp;&lt;/b&gt;" in html  # the static text is escaped too


# --- the build ---------------------------------------------------------------------------


def test_build_renders_the_static_table_and_the_data(widget_site):
    site_dir, _ = widget_site
    html = (site_dir / "taxonomy-widget" / "index.html").read_text(encoding="utf-8")
    assert html.count('data-widget="taxonomy-explorer"') == 1
    assert 'assets/stylesheets/widgets/taxonomy-explorer.css' in html
    assert 'assets/javascripts/widgets/taxonomy-explorer.js' in html
    assert '<script type="application/json" data-taxonomy-data>' in html
    assert '<tr data-system="kvm">' in html
    assert "<p>後ろの段落。</p>" in html  # the paragraph after the marker is still Markdown
    english = (site_dir / "en" / "taxonomy-widget" / "index.html").read_text(encoding="utf-8")
    assert '"lang":"en"' in english and "Hypervisor type" in english
    other = (site_dir / "index.html").read_text(encoding="utf-8")
    assert "taxonomy-explorer.js" not in other  # only pages with the widget load it


def break_data(tmp_path: Path, old: str, new: str):
    """Build a copy of the site whose taxonomy.yml has ``old`` replaced; return (stderr, line of new)."""
    config = widget_project(tmp_path, {"taxonomy-widget.md": PAGE_JA})
    path = tmp_path / "docs" / "_data" / "taxonomy.yml"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"the fixture expects {old!r} once"
    text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    result = site.build(config, tmp_path / "site", check=False)
    assert result.returncode != 0, "the build should have failed"
    return result.stderr, text, path


def line_of(text: str, fragment: str) -> int:
    return text[: text.index(fragment)].count("\n") + 1


def test_missing_explanation_fails_with_file_and_line(tmp_path):
    # VMware Workstation's answer on the "type" axis loses its explanation.
    old = ("        correct: [type2]\n        explain:\n"
           "          ja: WorkstationはWindowsやLinuxといったホストOSの上にインストールし、")
    start = DATA.read_text(encoding="utf-8").index(old)
    block = DATA.read_text(encoding="utf-8")[start:].split("        notes:\n", 1)[0]
    stderr, text, path = break_data(tmp_path, block, "        correct: [type2]\n")
    line = line_of(text, "        correct: [type2]\n        notes:\n          type1:")
    assert f"taxonomy explorer: {path}:{line}: systems.1.answers.type.explain: Field required" in stderr


def test_unknown_axis_value_fails_with_file_and_line(tmp_path):
    old = "        correct: [paravirtualization]\n"
    stderr, text, path = break_data(tmp_path, old, "        correct: [para-virtualization]\n")
    line = line_of(text, "        correct: [para-virtualization]")
    assert (
        f"{path}:{line}: systems.4.answers.technique.correct.0: unknown option 'para-virtualization' "
        "(axis 'technique' has binary-translation, paravirtualization, hardware-assisted, emulation, na)"
    ) in stderr


def test_missing_axis_and_unknown_axis_fail_with_file_and_line(tmp_path):
    old = "      isa:\n        correct: [cross]\n        explain:\n          ja: JVMが実行するのは"
    stderr, text, path = break_data(tmp_path, old, old.replace("      isa:", "      iza:"))
    line = line_of(text, "      iza:")
    assert f"{path}:{line}: systems.6.answers.iza: unknown axis 'iza' (axes: kind, isa, type, technique)" in stderr
    answers = text.index("    answers:\n", text.index("  - id: jvm\n"))
    assert f"{path}:{text[:answers].count(chr(10)) + 1}: systems.6.answers: no answer for axis 'isa'" in stderr


# --- in the browser ----------------------------------------------------------------------


def test_static_table_is_replaced_by_the_exercise(ja_page):
    widget = ja_page.locator(WIDGET)
    assert not widget.locator("[data-static]").is_visible()
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


def test_keyboard_only(ja_page):
    page = ja_page
    widget = page.locator(WIDGET)
    widget.locator('button[data-system="esxi"]').focus()
    page.keyboard.press("Tab")  # the second system: VMware Workstation
    assert page.evaluate("document.activeElement.getAttribute('data-system')") == "vmware-workstation"
    page.keyboard.press("Enter")
    assert widget.locator('button[data-system="vmware-workstation"]').get_attribute("aria-pressed") == "true"
    # Tab past the other systems into the first radio group.
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('data-option')"):
            break
    assert page.evaluate("document.activeElement.getAttribute('data-option')") == "system"
    # The focused option is visibly outlined.
    outline = page.evaluate(
        "getComputedStyle(document.activeElement.closest('label')).outlineStyle"
    )
    assert outline != "none"
    page.keyboard.press("Space")  # kind: system VM
    page.keyboard.press("Tab")
    page.keyboard.press("Space")  # isa: same
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowDown")  # type: moves to type 2 and selects it
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")  # technique: hardware-assisted
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "答え合わせ"
    page.keyboard.press("Enter")
    for axis in ("kind", "isa", "type", "technique"):
        assert state(widget, axis) == "correct"
    # Focus moves to the next step, and it is visible.
    assert page.evaluate("document.activeElement.textContent") == "次のシステムへ"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")
    assert widget.locator('button[data-system="virtualbox"]').get_attribute("aria-pressed") == "true"
    assert page.evaluate("document.activeElement.textContent") == "VirtualBox"
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
    context, log, page = open_page(browser, widget_site[1], java_script_enabled=False)
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
    context.close()
    assert log.problems() == []


def test_fits_a_phone(browser, widget_site):
    width = 390
    context, log, page = open_page(browser, widget_site[1], viewport={"width": width, "height": 844})
    overflow = page.evaluate(
        "(() => { const r = document.querySelector('[data-widget=\"taxonomy-explorer\"]');"
        " return r.scrollWidth - r.clientWidth; })()"
    )
    assert overflow <= 0
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    context.close()
    assert log.problems() == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_answered_widget_has_no_serious_accessibility_violation(browser, widget_site, scheme):
    context, log, page = open_page(browser, widget_site[1], color_scheme=scheme)
    place(page, "esxi", dict(ESXI_RIGHT, type="type2"))
    assert axe_violations(page) == []
    context.close()
