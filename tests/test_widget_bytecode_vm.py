"""The bytecode VM widget: the hook, the build, and the machine in Chromium against the lab.

The fixture builds a copy of the site with one page (and its English twin) that holds
the ``<!-- bytecode-vm -->`` marker. The hook is added to the copied mkdocs.yml if the
real one does not list it yet; draft pages not in the nav are left out.

The widget and the Python lab (docs/labs/bytecode_vm.py) must agree: for the sample,
for edited programs and for every kind of error, the test runs the lab as a reader
would (``python3 bytecode_vm.py --json FILE``) and compares the widget's final state
(output, stack, locals, pc, steps) and its error (kind, line, message) with it. Both show
addresses the same way (0x and four hex digits) and accept jump targets in hex or decimal.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import site, widgets
from tests.test_accessibility import axe_violations

pytestmark = pytest.mark.browser

LAB = site.ROOT / "docs" / "labs" / "bytecode_vm.py"
WIDGET = '[data-widget="bytecode-vm"]'

PAGE_JA = "# バイトコードVM\n\nスタックマシンを動かします。\n\n<!-- bytecode-vm -->\n\n後ろの段落。\n"
PAGE_EN = "# A bytecode VM\n\nRun a stack machine.\n\n<!-- bytecode-vm -->\n\nA paragraph after it.\n"
PAGES = {"bytecode-vm-widget.md": PAGE_JA, "bytecode-vm-widget.en.md": PAGE_EN}

# Bad programs, one or more per kind of error: (program, the line the error names, kind).
BAD_PROGRAMS = {
    "unknown-instruction": ("PUSH 1\nPUSHH 2\nHALT\n", 2, "unknown-instruction"),
    "missing-operand": ("PUSH 1\nPUSH\nHALT\n", 2, "missing-operand"),
    "bad-operand": ("PUSH 1\nSTORE 3x\nHALT\n", 2, "bad-operand"),
    "bad-operand-range": ("PUSH 99999999999\nHALT\n", 1, "bad-operand"),
    "bad-operand-extra": ("PUSH 1\nPRINT 1\nHALT\n", 2, "bad-operand"),
    "bad-operand-label": ("PUSH 1\nJMP -3\nHALT\n", 2, "bad-operand"),
    "unknown-label": ("PUSH 0\nJZ nowhere\nHALT\n", 2, "unknown-label"),
    "duplicate-label": ("a:\nPUSH 1\na:\nHALT\n", 3, "duplicate-label"),
    "jump-out-of-range": ("PUSH 1\nJMP 3\nHALT\n", 2, "jump-out-of-range"),
    "jump-out-of-range-hex": ("PUSH 1\nJMP 0x63\nHALT\n", 2, "jump-out-of-range"),
    "bad-operand-hex": ("PUSH 1\nJMP 0xg\nHALT\n", 2, "bad-operand"),
    "jump-out-of-range-end": ("JMP end\nHALT\nend:\n", 1, "jump-out-of-range"),
    "empty-program": ("; only a comment\n\n", 1, "empty-program"),
    "stack-underflow": ("PUSH 1\nADD\nHALT\n", 2, "stack-underflow"),
    "unset-local": ("PUSH 1\nSTORE a\nLOAD b\nHALT\n", 3, "unset-local"),
    "ran-off-end": ("PUSH 1\nPRINT\n", 2, "ran-off-end"),
    "step-limit": ("top:\n  JMP top\n", 2, "step-limit"),
}

# Edited programs that assemble and halt: their final state must match the lab's.
GOOD_PROGRAMS = {
    "sum": "; 1 + 2 + ... + 10\n  PUSH 0\n  STORE s\n  PUSH 1\n  STORE i\nloop: LOAD i\n  PUSH 11\n  LT\n"
           "  JZ end\n  LOAD s\n  LOAD i\n  ADD\n  STORE s\n  LOAD i\n  PUSH 1\n  ADD\n  STORE i\n  JMP loop\n"
           "end: LOAD s\n  PRINT\n  halt   ; lower case works too\n",
    "wrap": "PUSH 2147483647\nPUSH 1\nADD\nPRINT\nPUSH 65536\nPUSH 65536\nMUL\nPRINT\n"
            "PUSH -5\nPUSH 3\nSUB\nDUP_FREE: PUSH 7\nPUSH 7\nEQ\nPRINT\nPRINT\nPUSH 9\nHALT\n",
    "hex-jump": "PUSH 0\nJZ 0x0009\nHALT\nPUSH 7\nPRINT\nJMP 0X0008\n",  # 0x0009: PUSH 7
}
GOOD_OUTPUTS = {"sum": [55], "wrap": [-2147483648, 0, 1, -8], "hex-jump": [7]}  # wrap: like the JVM's int


def widget_project(root: Path, pages=PAGES) -> Path:
    return widgets.widget_project(root, pages)


def open_page(browser, base_url, path="bytecode-vm-widget/", **kwargs):
    return widgets.open_page(browser, base_url, path, **kwargs)


widget_site, ja_page, en_page = widgets.page_fixtures(PAGES, "bytecode-vm-widget/")


@pytest.fixture(scope="module")
def lab():
    """The lab as a module (for stepping it part of the way)."""
    spec = importlib.util.spec_from_file_location("bytecode_vm_lab_for_tests", LAB)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def lab_json(tmp_path: Path, program: str | None = None) -> dict:
    """Run the lab as a reader would, with --json; the sample when program is None."""
    args = [sys.executable, str(LAB), "--json"]
    if program is not None:
        path = tmp_path / "program.asm"
        path.write_text(program, encoding="utf-8")
        args.append(str(path))
    result = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert "Traceback" not in result.stderr
    state = json.loads(result.stdout)
    assert result.returncode == (1 if state["error"] else 0)
    return state


def widget_state(widget) -> dict:
    """The widget's state in the lab's JSON shape."""
    stack = [int(v) for v in widget.locator("[data-stack] li").evaluate_all(
        "items => items.map(i => i.getAttribute('data-value'))")]
    stack.reverse()  # the widget lists the top first; the lab lists the bottom first
    locals_ = {name: int(value) for name, value in widget.locator("[data-locals] tr[data-local][data-value]").evaluate_all(
        "rows => rows.map(r => [r.getAttribute('data-local'), r.getAttribute('data-value')])")}
    output = [int(t) for t in widget.locator("[data-output] li").all_inner_texts()]
    error = None
    kind = widget.get_attribute("data-error-kind")
    if kind:
        error = {"kind": kind, "line": int(widget.get_attribute("data-error-line"))}
    return {
        "halted": widget.get_attribute("data-state") == "halted",
        "pc": int(widget.get_attribute("data-pc")),
        "steps": int(widget.get_attribute("data-steps")),
        "stack": stack,
        "locals": locals_,
        "output": output,
        "error": error,
    }


def without_message(state: dict) -> dict:
    state = dict(state)
    if state["error"]:
        state["error"] = {k: v for k, v in state["error"].items() if k != "message"}
    return state


def current_offset(widget):
    current = widget.locator('[data-listing] tr[aria-current="step"]')
    assert current.count() <= 1
    return int(current.get_attribute("data-offset")) if current.count() else None


def load_program(widget, text: str):
    widget.locator("[data-source]").fill(text)
    widget.locator('[data-action="assemble"]').click()


def run(widget):
    run_button = widget.locator('[data-action="run"]')
    if run_button.is_enabled():
        run_button.click()


# --- the hook ------------------------------------------------------------------------------


@pytest.fixture
def hook(monkeypatch):
    """The hook module, loaded the way MkDocs loads it (its folder on sys.path)."""
    import importlib

    monkeypatch.syspath_prepend(str(site.ROOT / "overrides" / "hooks"))
    module = importlib.import_module("bytecode_vm")

    class Config:
        docs_dir = str(site.ROOT / "docs")

    module.on_config(Config())
    yield module
    sys.modules.pop("bytecode_vm", None)


class FakeFile:
    def __init__(self, src_uri, locale):
        self.src_uri, self.locale = src_uri, locale


class FakePage:
    def __init__(self, locale, meta):
        self.file, self.meta = FakeFile("x.en.md", locale), meta


def test_hook_keeps_other_widgets_and_leaves_code_alone(hook):
    page = FakePage("en", {"widgets": ["other-widget"]})
    markdown = "# T\n\n```markdown\n<!-- bytecode-vm -->\n```\n\n<!-- bytecode-vm -->\n\nEnd.\n"
    out = hook.on_page_markdown(markdown, page)
    assert page.meta["widgets"] == ["other-widget", "bytecode-vm"]
    assert out.count('data-widget="bytecode-vm"') == 1
    assert "```markdown\n<!-- bytecode-vm -->\n```" in out
    assert 'lang="en"' in out and '"lang":"en"' in out
    block = out[out.index('<div class="bytecode-vm"'):out.index("\nEnd.")].strip()
    assert block.endswith("</script>\n</div>")
    assert "\n\n" not in block  # one raw HTML block: Markdown leaves it alone
    plain = FakePage("ja", {})
    assert hook.on_page_markdown("# T\n", plain) == "# T\n" and "widgets" not in plain.meta


def test_script_data_comes_from_the_lab_and_cannot_close_the_script_tag(hook, lab):
    data = hook.script_data(lab, "ja")
    assert data["program"] == lab.SAMPLE_PROGRAM
    assert data["opcodes"] == {name: [code, kind] for name, (code, kind) in lab.OPCODES.items()}
    assert data["stepLimit"] == lab.STEP_LIMIT
    html = hook.render("ja", "t-1")
    script = html.split('<script type="application/json" data-bytecode-vm-data>', 1)[1].split("</script>", 1)[0]
    assert json.loads(script) == json.loads(hook._widget.script_json(data))
    assert "<" not in script and "&" not in script


def test_a_broken_sample_stops_the_build(tmp_path):
    config = widget_project(tmp_path, {"bytecode-vm-widget.md": PAGE_JA})
    path = tmp_path / "docs" / "labs" / "bytecode_vm.py"
    text = path.read_text(encoding="utf-8")
    old = "        JMP loop\n"
    assert text.count(old) == 1
    path.write_text(text.replace(old, "        JMP lop\n"), encoding="utf-8")
    result = site.build(config, tmp_path / "site", check=False)
    assert result.returncode != 0
    assert "bytecode vm:" in result.stderr and "unknown label 'lop'" in result.stderr


# --- the build ---------------------------------------------------------------------------


def test_build_renders_the_static_listing_and_the_data(widget_site, lab):
    site_dir, _ = widget_site
    html = (site_dir / "bytecode-vm-widget" / "index.html").read_text(encoding="utf-8")
    assert html.count('data-widget="bytecode-vm"') == 1
    assert "assets/stylesheets/widgets/bytecode-vm.css" in html
    assert "assets/javascripts/widgets/bytecode-vm.js" in html
    assert '<script type="application/json" data-bytecode-vm-data>' in html
    assert "<p>後ろの段落。</p>" in html
    english = (site_dir / "en" / "bytecode-vm-widget" / "index.html").read_text(encoding="utf-8")
    assert '"lang":"en"' in english and "The sample, assembled" in english
    other = (site_dir / "index.html").read_text(encoding="utf-8")
    assert "bytecode-vm.js" not in other


# --- in the browser: the widget and the lab agree ----------------------------------------------


def test_sample_runs_to_the_labs_final_state(ja_page, tmp_path, lab):
    widget = ja_page.locator(WIDGET)
    assert widget.locator("[data-source]").input_value() == lab.SAMPLE_PROGRAM
    assert not widget.locator("[data-static]").is_visible()
    assert widget.get_attribute("data-state") == "ready" and current_offset(widget) == 0
    widget.locator('[data-action="run"]').click()
    expected = lab_json(tmp_path)
    assert expected == {"halted": True, "pc": 48, "steps": 84, "stack": [],
                        "locals": {"n": 6, "fact": 120}, "output": [1, 2, 6, 24, 120], "error": None}
    assert widget_state(widget) == expected
    assert current_offset(widget) == expected["pc"]
    assert widget.locator('[data-action="step"]').is_disabled()
    assert "HALTで停止しました" in widget.locator("[data-status]").inner_text()


def test_listing_bytes_are_the_labs(ja_page, lab):
    widget = ja_page.locator(WIDGET)
    program = lab.assemble(lab.SAMPLE_PROGRAM)
    rows = widget.locator("[data-listing] tbody tr")
    expected = [line.split()[0:1] + [line[8:23].strip()] for line in lab.listing(program)[1:-1]]
    got = [[cells[1], cells[2]] for cells in (rows.nth(i).locator("td, th").all_inner_texts()
                                             for i in range(rows.count()))]
    assert got == expected
    assert rows.nth(1).locator("th").inner_text() == "STORE 0 (n)"
    assert rows.nth(7).locator("td").nth(1).inner_text() == "0x0016"  # the lab's base: 0x-hex
    assert rows.nth(7).locator("th").inner_text() == "JZ 0x0030"


@pytest.mark.parametrize("steps", [1, 4, 8, 19, 20])
def test_each_step_matches_the_lab(ja_page, lab, steps):
    widget = ja_page.locator(WIDGET)
    for _ in range(steps):
        widget.locator('[data-action="step"]').click()
    program = lab.assemble(lab.SAMPLE_PROGRAM)
    state = lab.new_state(program)
    for _ in range(steps):
        lab.step(program, state)
    assert widget_state(widget) == lab.state_json(program, state, None)
    assert current_offset(widget) == state.pc
    line = program.lines[state.pc]
    assert widget.locator('[data-listing] tr[aria-current="step"]').get_attribute("data-line") == str(line)
    assert f"次は{line}行目の {lab.show(program, state.pc)} です" in widget.locator("[data-status]").inner_text()


def test_back_and_reset(ja_page, lab):
    widget = ja_page.locator(WIDGET)
    step, back, reset = (widget.locator(f'[data-action="{a}"]') for a in ("step", "back", "reset"))
    assert back.is_disabled() and reset.is_disabled()
    for _ in range(14):
        step.click()
    assert widget_state(widget)["output"] == [1]
    before = widget_state(widget)
    step.click()
    back.click()
    assert widget_state(widget) == before
    back.click()  # undo the PRINT: the output goes too
    assert widget_state(widget)["output"] == [] and widget_state(widget)["stack"] == [1]
    widget.locator('[data-action="run"]').click()
    assert widget.get_attribute("data-state") == "halted"
    back.click()
    assert widget.get_attribute("data-state") == "ready" and widget_state(widget)["steps"] == 83
    reset.click()
    assert widget_state(widget) == {"halted": False, "pc": 0, "steps": 0, "stack": [],
                                    "locals": {}, "output": [], "error": None}
    assert widget.locator("[data-locals] tr[data-unset]").count() == 2
    assert back.is_disabled() and current_offset(widget) == 0


@pytest.mark.parametrize("name", list(GOOD_PROGRAMS))
def test_edited_program_runs_like_the_lab(ja_page, tmp_path, name):
    widget = ja_page.locator(WIDGET)
    widget.locator("[data-source]").fill(GOOD_PROGRAMS[name])
    assert "組み立てる" in widget.locator("[data-edited]").inner_text()
    widget.locator('[data-action="assemble"]').click()
    assert widget.locator("[data-edited]").inner_text() == ""
    run(widget)
    expected = lab_json(tmp_path, GOOD_PROGRAMS[name])
    assert expected["error"] is None
    assert widget_state(widget) == expected
    assert expected["output"] == GOOD_OUTPUTS[name]
    widget.locator('[data-action="sample"]').click()
    assert widget.locator("[data-source]").input_value().startswith("; factorials")
    assert widget_state(widget)["steps"] == 0 and widget.locator("[data-listing] tbody tr").count() == 20


@pytest.mark.parametrize("name", list(BAD_PROGRAMS))
def test_each_error_is_shown_with_the_labs_line(ja_page, tmp_path, name):
    program, line, kind = BAD_PROGRAMS[name]
    widget = ja_page.locator(WIDGET)
    load_program(widget, program)
    run(widget)
    expected = lab_json(tmp_path, program)
    assert expected["error"]["line"] == line
    assert expected["error"]["kind"] == kind
    assert without_message(widget_state(widget)) == without_message(expected)
    box = widget.locator("[data-error]")
    text = box.inner_text()
    assert f"エラー: {line}行目: " in text
    source_line = program.split("\n")[line - 1].rstrip()
    assert f"{line:>4} | {source_line}".rstrip() in text
    assert box.get_attribute("aria-live") == "assertive"
    if expected["steps"]:  # a run-time error: the failing instruction is marked
        failed = widget.locator("[data-listing] tr[data-failed]")
        assert failed.count() == 1 and failed.get_attribute("data-line") == str(line)
        widget.locator('[data-action="back"]').click()
        assert widget.get_attribute("data-error-kind") is None


def test_english_page_uses_english_strings_and_the_labs_messages(en_page, tmp_path):
    widget = en_page.locator(WIDGET)
    for label in ("Step", "Run", "Back", "Reset", "Assemble", "Load the sample"):
        assert widget.get_by_role("button", name=label, exact=True).is_visible()
    assert widget.get_by_label("Program (assembly; from ; to the end of the line is a comment)").is_visible()
    widget.locator('[data-action="step"]').click()
    assert "1 step done. pc 0x0005; next: line 3, STORE 0 (n)." in widget.locator("[data-status]").inner_text()
    widget.locator('[data-action="run"]').click()
    assert "Stopped at HALT (pc 0x0030, 84 steps)." in widget.locator("[data-status]").inner_text()
    assert not re.search("[\u3040-\u30ff\u3400-\u9fff]", widget.inner_text())
    for name, (program, line, _) in BAD_PROGRAMS.items():
        load_program(widget, program)
        run(widget)
        expected = lab_json(tmp_path, program)["error"]
        assert f"Error: line {line}: {expected['message']}" in widget.locator("[data-error]").inner_text(), name


def test_keyboard_only(ja_page):
    page = ja_page
    widget = page.locator(WIDGET)
    widget.locator("[data-source]").focus()
    for _ in range(8):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('data-action')") == "step":
            break
    assert page.evaluate("document.activeElement.getAttribute('data-action')") == "step"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    for _ in range(3):
        page.keyboard.press("Enter")
    assert widget.get_attribute("data-steps") == "3"
    page.keyboard.press("Space")
    assert widget.get_attribute("data-steps") == "4"
    page.keyboard.press("Tab")  # run
    assert page.evaluate("document.activeElement.getAttribute('data-action')") == "run"
    page.keyboard.press("Enter")
    assert widget.get_attribute("data-state") == "halted"
    # Run is disabled at the end; focus moved to a button that works.
    assert page.evaluate("document.activeElement.getAttribute('data-action')") == "back"
    page.keyboard.press("Enter")
    assert widget.get_attribute("data-steps") == "83"
    # Edit with the keyboard, then assemble: an error, shown with its line.
    widget.locator("[data-source]").focus()
    page.keyboard.press("Control+End")
    page.keyboard.type("\nBOGUS\n")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('data-action')") == "assemble"
    page.keyboard.press("Enter")
    assert widget.get_attribute("data-error-kind") == "unknown-instruction"
    assert widget.get_attribute("data-error-line") == "25"
    # The listing scrolls with the keyboard: it is a focusable region.
    assert widget.locator('[data-listing]').locator("xpath=..").get_attribute("tabindex") == "0"


def test_without_javascript_the_listing_and_output_are_readable(browser, widget_site, lab):
    context, log, page = open_page(browser, widget_site[1], java_script_enabled=False)
    widget = page.locator(WIDGET)
    table = widget.locator("table[data-static-listing]")
    assert table.is_visible()
    assert widget.locator("[data-action]").count() == 0
    program = lab.assemble(lab.SAMPLE_PROGRAM)
    assert table.locator("tbody tr").count() == len(program.lines)
    assert table.locator("thead th").all_inner_texts() == ["オフセット", "バイト列", "行", "命令"]
    assert table.locator('tr[data-offset="22"]').inner_text().split("\t") == ["0x0016", "21 30 00", "10", "JZ 0x0030"]
    assert widget.locator("[data-static-output]").inner_text() == "1\n2\n6\n24\n120"
    assert "84ステップでHALTに達します" in widget.locator("[data-static-summary]").inner_text()
    context.close()
    assert log.problems() == []


@pytest.mark.parametrize("javascript", [True, False])
def test_fits_a_phone(browser, widget_site, javascript):
    width = 390
    context, log, page = open_page(browser, widget_site[1], viewport={"width": width, "height": 844},
                                   java_script_enabled=javascript)
    if javascript:
        widget = page.locator(WIDGET)
        for _ in range(6):
            widget.locator('[data-action="step"]').click()
        load_program(widget, "PUSH 1\nPUSH 2147483647\nPUSH 2147483647\nMUL\nSTORE a_rather_long_variable_name\n"
                             "JMP 9999999999999999999999\n")
    overflow = page.evaluate(
        "(() => { const r = document.querySelector('[data-widget=\"bytecode-vm\"]');"
        " return r.scrollWidth - r.clientWidth; })()"
    )
    assert overflow <= 0
    right = page.evaluate("document.querySelector('[data-widget=\"bytecode-vm\"]').getBoundingClientRect().right")
    assert right <= width
    if javascript:  # without script, Material's own language menu overflows every page
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        # Right under the buttons come the stack, the locals and the output, then the listing:
        # a step's effect is in view without scrolling past the listing.
        widget = page.locator(WIDGET)
        tops = {part: widget.locator(f"[data-{part}]").bounding_box()["y"] for part in ("stack", "listing")}
        assert widget.locator('[data-action="step"]').bounding_box()["y"] < tops["stack"] < tops["listing"]
    context.close()
    assert log.problems() == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_stepped_widget_has_no_serious_accessibility_violation(browser, widget_site, scheme):
    context, log, page = open_page(browser, widget_site[1], color_scheme=scheme)
    widget = page.locator(WIDGET)
    for _ in range(16):
        widget.locator('[data-action="step"]').click()
    assert axe_violations(page) == []
    load_program(widget, "PUSH 1\nADD\nHALT\n")
    run(widget)
    assert widget.get_attribute("data-error-kind") == "stack-underflow"
    assert axe_violations(page) == []
    context.close()
    assert log.problems() == []


def test_without_javascript_has_no_serious_accessibility_violation(browser, widget_site):
    # axe needs script: run it in a page that has the static markup but no widget script.
    context, log, page = open_page(browser, widget_site[1])
    page.evaluate("""() => { const r = document.querySelector('[data-widget="bytecode-vm"]');
      r.querySelector('.bytecode-vm__app').remove(); r.querySelector('[data-static]').hidden = false; }""")
    assert axe_violations(page) == []
    context.close()
