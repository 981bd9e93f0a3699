"""The bytecode VM lab (docs/labs/bytecode_vm.py), run as a reader runs it: python3, no arguments.

The expected output lives in one file, docs/labs/bytecode_vm_output.txt, which the lab
page includes. The part after "== Side by side" is CPython's own bytecode, which
changes between Python versions: it is compared only on the version the file was made
with (3.11); the rest is compared everywhere.

Addresses are hexadecimal everywhere the lab shows one (offsets, the pc, jump targets,
CPython's offsets in the comparison), with 0x and four digits; the widget shows the same.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import site

LABS = site.ROOT / "docs" / "labs"
LAB = LABS / "bytecode_vm.py"
EXPECTED = LABS / "bytecode_vm_output.txt"
PAGE = LABS / "bytecode-vm.md"
SIDE_BY_SIDE = "== Side by side"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(LAB), *args], capture_output=True, text=True,
                          timeout=60, cwd=cwd)


def test_default_run_prints_the_expected_output():
    result = run()
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    expected = EXPECTED.read_text(encoding="utf-8")
    ours, _, theirs = result.stdout.partition(SIDE_BY_SIDE)
    expected_ours, _, expected_theirs = expected.partition(SIDE_BY_SIDE)
    assert ours == expected_ours
    if sys.version_info[:2] == (3, 11):
        assert theirs == expected_theirs
    assert "CPython" in theirs and "LOAD_FAST" in theirs


def test_output_shows_the_encoding_the_trace_and_what_the_program_prints():
    out = run().stdout
    assert "== Assembled: 20 instructions, 49 bytes (offsets and bytes in hex) ==" in out
    assert "0x0016  21 30 00          10  JZ 0x0030" in out  # opcode 0x21, target 0x0030 little-endian
    assert "0x002d  20 0e 00          21  JMP 0x000e" in out  # the bytes read as the target
    assert "0x0000  01 01 00 00 00     2  PUSH 1" in out     # a 4-byte signed operand (a value: decimal)
    assert "== Trace: first 20 of 84 steps" in out
    assert "   8  0x0016  JZ 0x0030 " in out
    assert "== Output ==\n1\n2\n6\n24\n120\n" in out
    assert "HALT at pc 0x0030 (line 23) after 84 steps; stack []; locals n=6 fact=120" in out


def test_one_base_for_addresses():
    """No address is shown in decimal: every offset and jump target in the listing, the trace
    and the comparison is 0x-hex, and a jump's operand bytes are its target, little-endian."""
    out = run("--trace").stdout
    listing = re.findall(r"^(0x[0-9a-f]{4})  ((?:[0-9a-f]{2} )*[0-9a-f]{2}) +\d+  (\w+)(?: (\S+))?", out, re.M)
    assert len(listing) == 20
    for offset, raw, name, operand in listing:
        if name in ("JMP", "JZ"):
            target = bytes.fromhex(raw)[1:]
            assert operand == f"0x{int.from_bytes(target, 'little'):04x}"
    trace = re.findall(r"^\s+\d+  (\S+)  ", out.partition(SIDE_BY_SIDE)[0], re.M)
    assert trace and all(re.fullmatch(r"0x[0-9a-f]{4}", pc) for pc in trace)
    side = out.partition(SIDE_BY_SIDE)[2]
    assert re.search(r"^\s+4  0x[0-9a-f]{4}  POP_JUMP_\w+ \d+ \(to 0x[0-9a-f]{4}\)$", side, re.M) or \
        sys.version_info[:2] != (3, 11)
    assert not re.search(r"\b0\d{3}\b", out), "no zero-padded decimal offset is left"


def test_jump_targets_may_be_written_in_hex_or_decimal(tmp_path):
    for target in ("0x0009", "0X9", "9"):
        path = tmp_path / "jump.asm"
        # PUSH 0 at 0x0000 (5 bytes), JZ at 0x0005 (3), HALT at 0x0008, PUSH 7 at 0x0009
        path.write_text(f"PUSH 0\nJZ {target}\nHALT\nPUSH 7\nPRINT\nHALT\n", encoding="utf-8")
        state = json.loads(run("--json", str(path)).stdout)
        assert state["error"] is None and state["output"] == [7] and state["pc"] == 0x000F, target


def test_trace_flag_shows_every_step():
    out = run("--trace").stdout
    assert "== Trace: all 84 steps" in out
    trace = out.partition(SIDE_BY_SIDE)[0]
    steps = [line for line in trace.splitlines() if re.match(r"^\s+\d+  0x[0-9a-f]{4}  ", line)]
    assert [int(line.split()[0]) for line in steps] == list(range(1, 85))
    assert "more; --trace" not in out


def test_json_dump_is_the_final_state():
    result = run("--json")
    assert result.returncode == 0
    assert json.loads(result.stdout) == {"halted": True, "pc": 48, "steps": 84, "stack": [],
                                         "locals": {"n": 6, "fact": 120}, "output": [1, 2, 6, 24, 120],
                                         "error": None}


def test_a_file_argument_runs_that_program(tmp_path):
    program = tmp_path / "countdown.asm"
    program.write_text("  PUSH 3\n  STORE i\nloop: LOAD i\n  JZ end\n  LOAD i\n  PRINT\n"
                       "  LOAD i\n  PUSH 1\n  SUB\n  STORE i\n  JMP loop\nend: HALT\n", encoding="utf-8")
    result = run(str(program))
    assert result.returncode == 0, result.stderr
    assert "== Output ==\n3\n2\n1\n" in result.stdout
    assert SIDE_BY_SIDE not in result.stdout  # the comparison is for the sample only


ERRORS = [
    # (program, line, the message)
    ("PUSH 1\nPUSHH 2\nHALT\n", 2, "unknown instruction 'PUSHH'"),
    ("PUSH 1\nPUSH\nHALT\n", 2, "PUSH needs an operand"),
    ("PUSH one\nHALT\n", 1, "PUSH needs an integer, not 'one'"),
    ("PUSH 4294967296\nHALT\n", 1, "4294967296 does not fit in 32 bits"),
    ("HALT now\n", 1, "HALT takes no operand"),
    ("LOAD 1x\nHALT\n", 1, "LOAD needs a variable name, not '1x'"),
    ("JMP 1 2\nHALT\n", 1, "JMP takes one operand"),
    ("JMP -3\nHALT\n", 1, "JMP needs a label or an offset, not '-3'"),
    ("PUSH 0\nJZ nowhere\nHALT\n", 2, "unknown label 'nowhere'"),
    ("a:\nPUSH 1\na:\nHALT\n", 3, "label 'a' is defined twice"),
    ("PUSH 1\nJMP 3\nHALT\n", 2, "jump target 0x0003 is not the start of an instruction"),
    ("PUSH 1\nJMP 0x3\nHALT\n", 2, "jump target 0x0003 is not the start of an instruction"),
    ("PUSH 1\nJMP 99\nHALT\n", 2, "jump target 0x0063 is outside the code (0x0000..0x0008)"),
    ("JMP end\nHALT\nend:\n", 1, "jump target 0x0004 is outside the code (0x0000..0x0003)"),
    ("JMP 0xg\nHALT\n", 1, "JMP needs a label or an offset, not '0xg'"),
    ("; nothing here\n", 1, "the program has no instructions"),
    ("PUSH 1\nMUL\nHALT\n", 2, "MUL needs 2 values on the stack, but it has 1"),
    ("PRINT\nHALT\n", 1, "PRINT needs 1 value on the stack, but it has 0"),
    ("PUSH 1\nSTORE a\nLOAD b\nHALT\n", 3, "local 'b' is read before it is set"),
    ("PUSH 1\nPRINT\n", 2, "ran off the end of the program (no HALT)"),
    ("top:\n  JMP top\n", 2, "stopped after 10000 steps (an infinite loop?)"),
]


@pytest.mark.parametrize("program, line, message", ERRORS, ids=[m.split(" ")[0] + str(i) for i, (_, _, m) in enumerate(ERRORS)])
def test_bad_programs_fail_with_the_line_and_no_traceback(tmp_path, program, line, message):
    path = tmp_path / "bad.asm"
    path.write_text(program, encoding="utf-8")
    result = run(str(path))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"error: {path}:{line}: {message}\n" in result.stderr
    text = program.split("\n")[line - 1]
    assert f"  {line:>4} | {text}" in result.stderr
    state = json.loads(run("--json", str(path)).stdout)
    assert state["error"]["line"] == line and state["error"]["message"] == message


def test_a_file_saved_with_a_byte_order_mark_runs(tmp_path):
    program = tmp_path / "bom.asm"
    program.write_bytes(b"\xef\xbb\xbfPUSH 7\nPRINT\nHALT\n")  # as some Windows editors save UTF-8
    result = run(str(program))
    assert result.returncode == 0, result.stderr
    assert "== Output ==\n7\n" in result.stdout


def test_a_missing_file_is_a_clear_error(tmp_path):
    result = run(str(tmp_path / "missing.asm"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "cannot read" in result.stderr and "missing.asm" in result.stderr


def test_the_module_has_no_side_effects_on_import():
    code = f"import importlib.util as u; s = u.spec_from_file_location('m', {str(LAB)!r}); " \
           "m = u.module_from_spec(s); import sys; sys.modules['m'] = m; s.loader.exec_module(m)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout == "" and result.stderr == ""


def test_the_page_includes_the_code_and_the_expected_output_from_the_files():
    if not PAGE.exists():
        pytest.skip("the lab page is not written yet")
    page = PAGE.read_text(encoding="utf-8")
    code = LAB.read_text(encoding="utf-8")
    sections = re.findall(r'--8<-- "bytecode_vm\.py:([a-z-]+)"', page)
    assert sections, "the page includes parts of the program"
    for section in sections:
        assert f"# --8<-- [start:{section}]" in code and f"# --8<-- [end:{section}]" in code
    assert '--8<-- "bytecode_vm_output.txt"' in page
    assert "[bytecode_vm.py](bytecode_vm.py)" in page
    assert "\n<!-- bytecode-vm -->\n" in page
