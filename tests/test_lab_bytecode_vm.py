"""The bytecode VM lab (docs/labs/bytecode_vm.py), run as a reader runs it: python3, no arguments.

The program speaks the reader's language. The expected output lives in one file per
language, docs/labs/bytecode_vm_output.txt (LANG=ja_JP.UTF-8) and bytecode_vm_output.en.txt
(LANG=C.UTF-8), which the lab pages include. The part after "== Side by side" (Japanese
"== 並べて比べる") is CPython's own bytecode, which changes between Python versions: it is
compared only on the version the files were made with (3.11); the rest is compared
everywhere. Every error is checked in both languages.

Addresses are hexadecimal everywhere the lab shows one (offsets, the pc, jump targets,
CPython's offsets in the comparison), with 0x and four digits; the widget shows the same.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import site
from tests.support.lab_language import LANGUAGES, assert_english, environment, language  # noqa: F401

LABS = site.ROOT / "docs" / "labs"
LAB = LABS / "bytecode_vm.py"
EXPECTED = {"ja": LABS / "bytecode_vm_output.txt", "en": LABS / "bytecode_vm_output.en.txt"}
PAGES = {"ja": LABS / "bytecode-vm.md", "en": LABS / "bytecode-vm.en.md"}  # English once it is written
SIDE_BY_SIDE = {"ja": "== 並べて比べる", "en": "== Side by side"}


def run(*args: str, cwd: Path | None = None, language: str = "en") -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, str(LAB), *args], capture_output=True, text=True,
                            timeout=60, cwd=cwd, env=environment(language))
    if language == "en":
        assert_english(result.stdout + result.stderr)
    return result


@pytest.fixture(scope="module")
def lab():
    """The lab as a module, for the errors a short program cannot reach."""
    spec = importlib.util.spec_from_file_location("bytecode_vm_lab_for_lab_tests", LAB)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


@pytest.fixture(scope="module", params=LANGUAGES)
def default_run(request):
    """``python3 bytecode_vm.py`` once per language: (language, stdout)."""
    result = run(language=request.param)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return request.param, result.stdout


def test_default_run_prints_the_expected_output(default_run):
    lang, out = default_run
    expected = EXPECTED[lang].read_text(encoding="utf-8")
    ours, _, theirs = out.partition(SIDE_BY_SIDE[lang])
    expected_ours, _, expected_theirs = expected.partition(SIDE_BY_SIDE[lang])
    assert ours == expected_ours
    if sys.version_info[:2] == (3, 11):
        assert theirs == expected_theirs
    assert "CPython" in theirs and "LOAD_FAST" in theirs


def test_both_expected_outputs_show_the_same_run():
    """Line for line the same listing, trace, output and comparison: only the words differ."""
    ja, en = (EXPECTED[lang].read_text(encoding="utf-8").splitlines() for lang in LANGUAGES)
    assert len(ja) == len(en)
    numbers = re.compile(r"0x[0-9a-f]+|\d+|[A-Z_]{2,}")  # numbers, addresses and opcode names
    for ja_line, en_line in zip(ja, en):
        if ja_line[:1] in tuple(" 0123456789"):  # the rows of the tables and the output, not the sentences
            assert sorted(numbers.findall(ja_line)) == sorted(numbers.findall(en_line)), (ja_line, en_line)
        else:
            assert sorted(re.findall(r"0x[0-9a-f]{4}", ja_line)) == sorted(re.findall(r"0x[0-9a-f]{4}", en_line))


OUTPUT_LINES = {  # what the default run prints, beyond the language-neutral listing
    "ja": ["== 組み立てた結果: 20命令、49バイト（番地とバイト列は16進数） ==",
           "== トレース: 84ステップのうち最初の20ステップ（各ステップの後のスタックとローカル変数） ==",
           "== 出力 ==\n1\n2\n6\n24\n120\n",
           "84ステップでHALTに達しました: pc 0x0030（23行目）、スタック []、ローカル変数 n=6 fact=120"],
    "en": ["== Assembled: 20 instructions, 49 bytes (offsets and bytes in hex) ==",
           "== Trace: first 20 of 84 steps (stack and locals after each step) ==",
           "== Output ==\n1\n2\n6\n24\n120\n",
           "HALT at pc 0x0030 (line 23) after 84 steps; stack []; locals n=6 fact=120"],
}


def test_output_shows_the_encoding_the_trace_and_what_the_program_prints(default_run):
    lang, out = default_run
    assert "0x0016  21 30 00          10  JZ 0x0030" in out  # opcode 0x21, target 0x0030 little-endian
    assert "0x002d  20 0e 00          21  JMP 0x000e" in out  # the bytes read as the target
    assert "0x0000  01 01 00 00 00     2  PUSH 1" in out     # a 4-byte signed operand (a value: decimal)
    assert "   8  0x0016  JZ 0x0030 " in out
    for line in OUTPUT_LINES[lang]:
        assert line in out


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
    trace = re.findall(r"^\s+\d+  (\S+)  ", out.partition(SIDE_BY_SIDE["en"])[0], re.M)
    assert trace and all(re.fullmatch(r"0x[0-9a-f]{4}", pc) for pc in trace)
    side = out.partition(SIDE_BY_SIDE["en"])[2]
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


def test_trace_flag_shows_every_step(language):
    out = run("--trace", language=language).stdout
    assert {"ja": "== トレース: 全84ステップ", "en": "== Trace: all 84 steps"}[language] in out
    trace = out.partition(SIDE_BY_SIDE[language])[0]
    steps = [line for line in trace.splitlines() if re.match(r"^\s+\d+  0x[0-9a-f]{4}  ", line)]
    assert [int(line.split()[0]) for line in steps] == list(range(1, 85))
    assert "--trace" not in out


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
    assert SIDE_BY_SIDE["en"] not in result.stdout  # the comparison is for the sample only


ERRORS = [
    # (program, line, the message in English, in Japanese)
    ("PUSH 1\nPUSHH 2\nHALT\n", 2, "unknown instruction 'PUSHH'", "不明な命令「PUSHH」です"),
    ("PUSH 1\nPUSH\nHALT\n", 2, "PUSH needs an operand", "PUSHには被演算子（オペランド）が必要です"),
    ("PUSH one\nHALT\n", 1, "PUSH needs an integer, not 'one'", "PUSHには整数が必要です（「one」は整数ではありません）"),
    ("PUSH 4294967296\nHALT\n", 1, "4294967296 does not fit in 32 bits", "4294967296は32ビットに収まりません"),
    ("HALT now\n", 1, "HALT takes no operand", "HALTは被演算子（オペランド）を取りません"),
    ("LOAD 1x\nHALT\n", 1, "LOAD needs a variable name, not '1x'", "LOADには変数名が必要です（「1x」は名前ではありません）"),
    ("JMP 1 2\nHALT\n", 1, "JMP takes one operand", "JMPの被演算子は1つです"),
    ("JMP -3\nHALT\n", 1, "JMP needs a label or an offset, not '-3'",
     "JMPにはラベルか番地が必要です（「-3」はどちらでもありません）"),
    ("PUSH 0\nJZ nowhere\nHALT\n", 2, "unknown label 'nowhere'", "ラベル「nowhere」は定義されていません"),
    ("a:\nPUSH 1\na:\nHALT\n", 3, "label 'a' is defined twice", "ラベル「a」が2回定義されています"),
    ("PUSH 1\nJMP 3\nHALT\n", 2, "jump target 0x0003 is not the start of an instruction", "飛び先0x0003は命令の先頭ではありません"),
    ("PUSH 1\nJMP 0x3\nHALT\n", 2, "jump target 0x0003 is not the start of an instruction", "飛び先0x0003は命令の先頭ではありません"),
    ("PUSH 1\nJMP 99\nHALT\n", 2, "jump target 0x0063 is outside the code (0x0000..0x0008)",
     "飛び先0x0063がコードの外です（0x0000..0x0008）"),
    ("JMP end\nHALT\nend:\n", 1, "jump target 0x0004 is outside the code (0x0000..0x0003)",
     "飛び先0x0004がコードの外です（0x0000..0x0003）"),
    ("JMP 0xg\nHALT\n", 1, "JMP needs a label or an offset, not '0xg'",
     "JMPにはラベルか番地が必要です（「0xg」はどちらでもありません）"),
    ("; nothing here\n", 1, "the program has no instructions", "プログラムに命令がありません"),
    ("PUSH 1\nMUL\nHALT\n", 2, "MUL needs 2 values on the stack, but it has 1",
     "MULにはスタックに2個の値が必要ですが、1個しかありません"),
    ("PRINT\nHALT\n", 1, "PRINT needs 1 value on the stack, but it has 0",
     "PRINTにはスタックに1個の値が必要ですが、0個しかありません"),
    ("PUSH 1\nSTORE a\nLOAD b\nHALT\n", 3, "local 'b' is read before it is set",
     "ローカル変数「b」を、値を入れる前に読もうとしました"),
    ("PUSH 1\nPRINT\n", 2, "ran off the end of the program (no HALT)", "プログラムの終わりを越えました（HALTがありません）"),
    ("top:\n  JMP top\n", 2, "stopped after 10000 steps (an infinite loop?)", "10000ステップで止めました（無限ループかもしれません）"),
]
ERROR_PREFIX = {"ja": "エラー: ", "en": "error: "}


@pytest.mark.parametrize("program, line, english, japanese", ERRORS,
                         ids=[m.split(" ")[0] + str(i) for i, (_, _, m, _) in enumerate(ERRORS)])
def test_bad_programs_fail_with_the_line_and_no_traceback(tmp_path, capsys, lab, language, program, line,
                                                          english, japanese):
    message = {"ja": japanese, "en": english}[language]
    path = tmp_path / "bad.asm"
    path.write_text(program, encoding="utf-8")
    result = run(str(path), language=language)  # as a reader runs it
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"{ERROR_PREFIX[language]}{path}:{line}: {message}\n" in result.stderr
    text = program.split("\n")[line - 1]
    assert f"  {line:>4} | {text}" in result.stderr
    assert lab.main(["--json", str(path)]) == 1  # the same through --json, in this process
    state = json.loads(capsys.readouterr().out)
    assert state["error"]["line"] == line and state["error"]["message"] == message


def test_errors_a_short_program_cannot_reach(lab, language):
    """The code limit, the local-variable limit and an opcode the assembler never writes."""
    ja = language == "ja"
    with pytest.raises(lab.VMError) as caught:
        lab.assemble("PUSH 1\n" * (lab.MAX_CODE // 5 + 1))
    assert (caught.value.kind, caught.value.message) == (
        "program-too-large", "コードが65536バイトを超えています" if ja else "the code is longer than 65536 bytes")
    with pytest.raises(lab.VMError) as caught:
        lab.assemble("".join(f"PUSH 0\nSTORE v{i}\n" for i in range(lab.MAX_LOCALS + 1)))
    assert caught.value.message == ("ローカル変数が256個を超えています" if ja else "more than 256 local variables")
    program = lab.assemble("PUSH 1\nHALT\n")
    program.code = program.code[:5] + bytes([0xFF])
    with pytest.raises(lab.VMError) as caught:
        lab.decode(program, 5)
    assert caught.value.message == ("0x0005に不明なオペコード0xffがあります" if ja else "unknown opcode 0xff at 0x0005")


def test_a_file_saved_with_a_byte_order_mark_runs(tmp_path):
    program = tmp_path / "bom.asm"
    program.write_bytes(b"\xef\xbb\xbfPUSH 7\nPRINT\nHALT\n")  # as some Windows editors save UTF-8
    result = run(str(program))
    assert result.returncode == 0, result.stderr
    assert "== Output ==\n7\n" in result.stdout


def test_a_missing_file_is_a_clear_error(tmp_path, language):
    missing = tmp_path / "missing.asm"
    result = run(str(missing), language=language)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr == {"ja": f"エラー: {missing}を読めません: No such file or directory\n",
                             "en": f"error: cannot read {missing}: No such file or directory\n"}[language]


def test_the_module_has_no_side_effects_on_import():
    code = f"import importlib.util as u; s = u.spec_from_file_location('m', {str(LAB)!r}); " \
           "m = u.module_from_spec(s); import sys; sys.modules['m'] = m; s.loader.exec_module(m)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout == "" and result.stderr == ""


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if PAGES[lang].exists()])
def test_the_page_includes_the_code_and_the_expected_output_from_the_files(lang):
    page = PAGES[lang].read_text(encoding="utf-8")
    code = LAB.read_text(encoding="utf-8")
    sections = re.findall(r'--8<-- "bytecode_vm\.py:([a-z-]+)"', page)
    assert sections, "the page includes parts of the program"
    for section in sections:
        assert f"# --8<-- [start:{section}]" in code and f"# --8<-- [end:{section}]" in code
    assert f'--8<-- "{EXPECTED[lang].name}"' in page, "the expected output in the page's language"
    assert re.search(r"\]\([^)\s]*\bbytecode_vm\.py\)", page), "the page offers the file for download"
    assert "\n<!-- bytecode-vm -->\n" in page
