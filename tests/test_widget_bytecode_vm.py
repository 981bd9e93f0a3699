"""The bytecode VM widget's model: the lab's machine in the browser, against the lab.

What every widget must do (static part, keyboard, focus, phone, dark, axe, strings,
hook plumbing) is tests/test_widget_contract.py's; the page is tests/support/widgets.py's
shared build. This module checks what is the bytecode VM's own:

- The hook takes the sample, the opcode table, the limits and the error messages
  (MESSAGES["error.*"], Japanese and English) from the lab, docs/labs/bytecode_vm.py;
  a broken sample or a broken message stops the build.
- The widget and the Python lab agree: for the sample, for edited programs and for
  every kind of error, the test runs the lab as a reader would (``python3 bytecode_vm.py
  --json FILE``, in the page's language) and compares the widget's final state (output,
  stack, locals, pc, steps) and its error (kind, line, message) with it. Both show
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
from tests.support.lab_language import environment, speaking
from tests.support.widgets import hooks, widget_site  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

NAME = "bytecode-vm"
LAB = site.ROOT / "docs" / "labs" / "bytecode_vm.py"
WIDGET = f'[data-widget="{NAME}"]'
ERROR_LINE = {"ja": "エラー: {line}行目: {message}", "en": "Error: line {line}: {message}"}  # the widget's own wording

# Bad programs, one or more per kind of error: (program, the line the error names, kind).
BAD_PROGRAMS = {
    "unknown-instruction": ("PUSH 1\nPUSHH 2\nHALT\n", 2, "unknown-instruction"),
    "missing-operand": ("PUSH 1\nPUSH\nHALT\n", 2, "missing-operand"),
    "bad-operand": ("PUSH 1\nSTORE 3x\nHALT\n", 2, "bad-operand"),
    "bad-operand-range": ("PUSH 99999999999\nHALT\n", 1, "bad-operand"),
    "bad-operand-extra": ("PUSH 1\nPRINT 1\nHALT\n", 2, "bad-operand"),
    "bad-operand-label": ("PUSH 1\nJMP -3\nHALT\n", 2, "bad-operand"),
    "bad-operand-two": ("PUSH 1 2\nHALT\n", 1, "bad-operand"),
    "unknown-label": ("PUSH 0\nJZ nowhere\nHALT\n", 2, "unknown-label"),
    "duplicate-label": ("a:\nPUSH 1\na:\nHALT\n", 3, "duplicate-label"),
    "jump-out-of-range": ("PUSH 1\nJMP 3\nHALT\n", 2, "jump-out-of-range"),
    "jump-out-of-range-hex": ("PUSH 1\nJMP 0x63\nHALT\n", 2, "jump-out-of-range"),
    "bad-operand-hex": ("PUSH 1\nJMP 0xg\nHALT\n", 2, "bad-operand"),
    "jump-out-of-range-end": ("JMP end\nHALT\nend:\n", 1, "jump-out-of-range"),
    "empty-program": ("; only a comment\n\n", 1, "empty-program"),
    "stack-underflow": ("PUSH 1\nADD\nHALT\n", 2, "stack-underflow"),
    "stack-underflow-one": ("PRINT\nHALT\n", 1, "stack-underflow"),
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


ja_page, en_page = widgets.page_fixtures(NAME)


@pytest.fixture(scope="module")
def lab():
    """The lab as a module (for stepping it part of the way)."""
    spec = importlib.util.spec_from_file_location("bytecode_vm_lab_for_tests", LAB)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def lab_json(tmp_path: Path, program: str | None = None, language: str = "ja") -> dict:
    """Run the lab as a reader would, with --json, in ``language``; the sample when program is None."""
    args = [sys.executable, str(LAB), "--json"]
    if program is not None:
        path = tmp_path / "program.asm"
        path.write_text(program, encoding="utf-8")
        args.append(str(path))
    result = subprocess.run(args, capture_output=True, text=True, timeout=60, env=environment(language))
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


def disabled(button) -> bool:
    """The kit marks a button with nothing to do aria-disabled (it keeps the keyboard focus)."""
    return button.get_attribute("aria-disabled") == "true"


def run(widget):
    run_button = widget.locator('[data-action="run"]')
    if not disabled(run_button):
        run_button.click()


# --- the hook ------------------------------------------------------------------------------


def test_script_data_comes_from_the_lab(hooks, lab):
    hook = hooks(NAME)
    data = hook.script_data(lab)
    assert data["program"] == lab.SAMPLE_PROGRAM
    assert data["opcodes"] == {name: [code, kind] for name, (code, kind) in lab.OPCODES.items()}
    assert data["stepLimit"] == lab.STEP_LIMIT and data["maxLocals"] == lab.MAX_LOCALS
    assert data["maxCode"] == lab.MAX_CODE


def test_error_messages_are_the_labs_in_both_languages(hooks, lab):
    """One source of truth: the widget shows the lab's MESSAGES["error.*"], Japanese and English."""
    hook = hooks(NAME)
    errors = {key: texts for key, texts in lab.MESSAGES.items() if key.startswith("error.")}
    assert len(errors) == 20
    script = hook.WIDGET.strings.script.root
    for key, texts in errors.items():
        assert (script[key].ja, script[key].en) == (texts["ja"], texts["en"]), key
    for language in ("ja", "en"):
        html = hook.on_page_markdown(f"<!-- {NAME} -->\n", widgets.FakePage(language, {}))
        sent = json.loads(html.split("<script type=\"application/json\" data-widget-data>", 1)[1]
                          .split("</script>", 1)[0].replace("\\u003c", "<").replace("\\u003e", ">").replace("\\u0026", "&"))
        assert {key: sent["strings"][key] for key in errors} == {key: t[language] for key, t in errors.items()}
    # The widget builds each error's key from the lab's names: every one of them is there.
    script_source = widgets.WIDGETS[NAME].script.read_text(encoding="utf-8")
    keys = set(re.findall(r"new VMError\([^,]+,[^,]+,\s*\"(\w+)\"", script_source))
    assert keys and {f"error.{key}" for key in keys} <= set(errors)


def test_a_broken_sample_stops_the_build(hooks, tmp_path):
    with speaking("en"):
        message, _, _ = widgets.config_error(hooks, NAME, tmp_path, "labs/bytecode_vm.py",
                                             "        JMP loop\n", "        JMP lop\n")
    assert message.startswith("bytecode vm:") and "unknown label 'lop'" in message


def test_a_broken_message_stops_the_build(hooks, tmp_path):
    """A lab message whose languages disagree on the placeholders cannot reach the widget."""
    message, _, _ = widgets.config_error(hooks, NAME, tmp_path, "labs/bytecode_vm.py",
                                         '"en": "unknown label \'{label}\'"', '"en": "unknown label \'{name}\'"')
    assert message.startswith("bytecode vm:") and "MESSAGES['error.unknownLabel']" in message
    assert "placeholders" in message


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
    assert disabled(widget.locator('[data-action="step"]'))
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
    assert disabled(back) and disabled(reset)
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
    assert disabled(back) and current_offset(widget) == 0


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
def test_each_error_is_shown_with_the_labs_line_and_message(ja_page, tmp_path, name):
    program, line, kind = BAD_PROGRAMS[name]
    widget = ja_page.locator(WIDGET)
    load_program(widget, program)
    run(widget)
    expected = lab_json(tmp_path, program, "ja")
    assert expected["error"]["line"] == line
    assert expected["error"]["kind"] == kind
    assert without_message(widget_state(widget)) == without_message(expected)
    box = widget.locator("[data-error]")
    text = box.inner_text()
    assert ERROR_LINE["ja"].format(line=line, message=expected["error"]["message"]) in text  # the lab's Japanese
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
    for name, (program, line, _) in BAD_PROGRAMS.items():
        load_program(widget, program)
        run(widget)
        expected = lab_json(tmp_path, program, "en")["error"]
        assert ERROR_LINE["en"].format(line=line, message=expected["message"]) in \
            widget.locator("[data-error]").inner_text(), name


def test_keyboard_edit_and_assemble(ja_page):
    """Beyond the contract's keyboard walk: edit the program and assemble it with the keyboard only."""
    page = ja_page
    widget = page.locator(WIDGET)
    widget.locator("[data-source]").focus()
    page.keyboard.press("Control+End")
    page.keyboard.type("\nBOGUS\n")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('data-action')") == "assemble"
    page.keyboard.press("Enter")
    assert widget.get_attribute("data-error-kind") == "unknown-instruction"
    assert widget.get_attribute("data-error-line") == "25"
    # The listing scrolls with the keyboard: it is a focusable region.
    assert widget.locator("[data-listing]").locator("xpath=..").get_attribute("tabindex") == "0"


def test_without_javascript_the_listing_and_output_are_the_labs(browser, widget_site, lab):
    with widgets.opened(browser, widget_site, NAME, java_script_enabled=False) as page:
        widget = page.locator(WIDGET)
        table = widget.locator("table[data-static-listing]")
        assert table.is_visible()
        program = lab.assemble(lab.SAMPLE_PROGRAM)
        assert table.locator("tbody tr").count() == len(program.lines)
        assert table.locator("thead th").all_inner_texts() == ["オフセット", "バイト列", "行", "命令"]
        assert table.locator('tr[data-offset="22"]').inner_text().split("\t") == ["0x0016", "21 30 00", "10", "JZ 0x0030"]
        assert widget.locator("[data-static-output]").inner_text() == "1\n2\n6\n24\n120"
        assert "84ステップでHALTに達します" in widget.locator("[data-static-summary]").inner_text()
