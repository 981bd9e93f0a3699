#!/usr/bin/env python3
"""A small process VM: a stack-based bytecode machine and its assembler.

    python3 bytecode_vm.py            run the sample program (it prints 1! .. 5!):
                                      the listing, the first steps of the trace, the
                                      output, and CPython's own bytecode for the same loop
    python3 bytecode_vm.py FILE       assemble and run your own program
    --trace                           show every step of the trace
    --json                            print only the final state, as JSON

Standard library only, Python 3.11 or later. The course page is /labs/bytecode-vm/
(Lab 3: build a small process VM). The widget on that page runs the same machine in
the browser: it reads SAMPLE_PROGRAM, OPCODES, STEP_LIMIT and the error messages
(MESSAGES["error.*"]) from this file, so change them here.

The program prints in the reader's language: Japanese when the locale (LC_ALL,
LC_MESSAGES or LANG) selects Japanese, English otherwise (MESSAGES, after the imports).

Addresses (offsets in the code, the pc, jump targets) are shown in hexadecimal with a
0x prefix, like the bytes of the code. A jump target may be written as a label, a
decimal number (15) or a hexadecimal one (0x0f).
"""

from __future__ import annotations

import argparse
import contextlib
import dis
import io
import json
import os
import re
import signal
import sys
from dataclasses import dataclass, field


# ---- Messages in the reader's language --------------------------------------------
def reader_language() -> str:
    """Return "ja" when the locale selects Japanese, else "en".

    As in POSIX, the first non-empty one of LC_ALL, LC_MESSAGES and LANG decides:
    LANG=ja_JP.UTF-8 gives Japanese, LANG=C.UTF-8 or en_US.UTF-8 gives English.
    """
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value:
            return "ja" if value == "ja" or value.startswith(("ja_", "ja.", "ja@")) else "en"
    return "en"


PLACEHOLDER = re.compile(r"\{(\w+)(?:\|([^|{}]*)\|([^{}]*))?\}")


def say(key: str, **values) -> str:
    """MESSAGES[key] in the reader's language, with the values filled in.

    The placeholders are the widget's (the page's widget shows the error.* messages too):
    {name} is a value; {n|one|other} is "one" when n is 1, else "other" ("1 step", "2 steps").
    """

    def fill(match: re.Match) -> str:
        value = values[match[1]]
        if match[2] is None:
            return str(value)
        return match[2] if value == 1 else match[3]

    return PLACEHOLDER.sub(fill, MESSAGES[key][reader_language()])


MESSAGES = {
    # VMError messages: the widget on the lab page shows these same texts
    "error.duplicateLabel": {"ja": "ラベル「{label}」が2回定義されています",
                             "en": "label '{label}' is defined twice"},
    "error.unknownInstruction": {"ja": "不明な命令「{word}」です",
                                 "en": "unknown instruction '{word}'"},
    "error.takesNoOperand": {"ja": "{name}は被演算子（オペランド）を取りません",
                             "en": "{name} takes no operand"},
    "error.needsOperand": {"ja": "{name}には被演算子（オペランド）が必要です",
                           "en": "{name} needs an operand"},
    "error.takesOneOperand": {"ja": "{name}の被演算子は1つです",
                              "en": "{name} takes one operand"},
    "error.tooLarge": {"ja": "コードが{max}バイトを超えています",
                       "en": "the code is longer than {max} bytes"},
    "error.needsInteger": {"ja": "{name}には整数が必要です（「{operand}」は整数ではありません）",
                           "en": "{name} needs an integer, not '{operand}'"},
    "error.doesNotFit": {"ja": "{value}は32ビットに収まりません",
                         "en": "{value} does not fit in 32 bits"},
    "error.needsName": {"ja": "{name}には変数名が必要です（「{operand}」は名前ではありません）",
                        "en": "{name} needs a variable name, not '{operand}'"},
    "error.tooManyLocals": {"ja": "ローカル変数が{max}個を超えています",
                            "en": "more than {max} local variables"},
    "error.needsLabel": {"ja": "{name}にはラベルか番地が必要です（「{operand}」はどちらでもありません）",
                         "en": "{name} needs a label or an offset, not '{operand}'"},
    "error.empty": {"ja": "プログラムに命令がありません",
                    "en": "the program has no instructions"},
    "error.unknownLabel": {"ja": "ラベル「{label}」は定義されていません",
                           "en": "unknown label '{label}'"},
    "error.outside": {"ja": "飛び先{target}がコードの外です（{first}..{last}）",
                      "en": "jump target {target} is outside the code ({first}..{last})"},
    "error.notStart": {"ja": "飛び先{target}は命令の先頭ではありません",
                       "en": "jump target {target} is not the start of an instruction"},
    "error.badOpcode": {"ja": "{pc}に不明なオペコード0x{hex}があります",
                        "en": "unknown opcode 0x{hex} at {pc}"},
    "error.stepLimit": {"ja": "{limit}ステップで止めました（無限ループかもしれません）",
                        "en": "stopped after {limit} steps (an infinite loop?)"},
    "error.underflow": {"ja": "{name}にはスタックに{needs}個の値が必要ですが、{has}個しかありません",
                        "en": "{name} needs {needs} {needs|value|values} on the stack, but it has {has}"},
    "error.unsetLocal": {"ja": "ローカル変数「{local}」を、値を入れる前に読もうとしました",
                         "en": "local '{local}' is read before it is set"},
    "error.ranOffEnd": {"ja": "プログラムの終わりを越えました（HALTがありません）",
                        "en": "ran off the end of the program (no HALT)"},
    # report(), listing(), side_by_side(): what the program prints
    "assembled": {"ja": "== 組み立てた結果: {n}命令、{bytes}バイト（番地とバイト列は16進数） ==",
                  "en": "== Assembled: {n} {n|instruction|instructions}, {bytes} {bytes|byte|bytes} "
                        "(offsets and bytes in hex) =="},
    "listing-header": {"ja": "番地    バイト列          行  命令",
                       "en": "offset  bytes           line  instruction"},
    "locals": {"ja": "ローカル変数: {slots}", "en": "locals: {slots}"},
    "none": {"ja": "（なし）", "en": "(none)"},
    "trace-all": {"ja": "== トレース: 全{steps}ステップ（各ステップの後のスタックとローカル変数） ==",
                  "en": "== Trace: all {steps} {steps|step|steps} (stack and locals after each step) =="},
    "trace-first": {"ja": "== トレース: {steps}ステップのうち最初の{shown}ステップ（各ステップの後のスタックとローカル変数） ==",
                    "en": "== Trace: first {shown} of {steps} steps (stack and locals after each step) =="},
    "trace-header": {"ja": "番号  pc      命令              スタック      ローカル変数",
                     "en": "step  pc      instruction       stack         locals"},
    "trace-more": {"ja": "…（ほかに{more}ステップ。--traceですべてのステップを表示します）",
                   "en": "... ({more} more; --trace shows every step)"},
    "output": {"ja": "== 出力 ==", "en": "== Output =="},
    "nothing": {"ja": "（なし）", "en": "(nothing)"},
    "final-state": {"ja": "== 最後の状態 ==", "en": "== Final state =="},
    "halted": {"ja": "{steps}ステップでHALTに達しました: pc {pc}（{line}行目）、スタック {stack}、ローカル変数 {locals}",
               "en": "HALT at pc {pc} (line {line}) after {steps} {steps|step|steps}; stack {stack}; locals {locals}"},
    "side-by-side": {"ja": "== 並べて比べる: このVMと、同じループのCPythonのバイトコード ==",
                     "en": "== Side by side: this VM and CPython's bytecode for the same loop =="},
    "side-header": {"ja": "このVM（行 番地 命令）            CPython {version}のdis（行 番地 命令）",
                    "en": "this VM (line offset instruction)  CPython {version} dis (line offset instruction)"},
    "side-ours": {"ja": "このVM: {n}命令、{bytes}バイト。",
                  "en": "this VM: {n} instructions, {bytes} bytes."},
    "side-theirs": {"ja": "CPython: {n}命令。disはインラインのCACHEの領域を表示しません。",
                    "en": "CPython: {n} instructions; dis hides the inline CACHE entries."},
    "side-hex": {"ja": "番地はどちらの列も16進数です。dis自身は10進数で表示します。",
                 "en": "Offsets are hexadecimal in both columns; dis itself prints them in decimal."},
    "side-adaptive": {"ja": "20回呼んだ後のdis(factorials, adaptive=True)では、{n}個の命令が実行中に置き換わっています:",
                      "en": "After 20 calls, dis(factorials, adaptive=True) shows {n} instructions replaced at run time:"},
    # fail(), main()
    "error": {"ja": "エラー: {path}:{line}: {message}", "en": "error: {path}:{line}: {message}"},
    "cannot-read": {"ja": "エラー: {path}を読めません: {reason}", "en": "error: cannot read {path}: {reason}"},
    "description": {"ja": "小さなスタックマシン型のバイトコードVM。", "en": "A small stack-based bytecode VM."},
    "help-file": {"ja": "実行するプログラム（既定: サンプル）", "en": "a program to run (default: the sample)"},
    "help-trace": {"ja": "すべてのステップを表示する", "en": "show every step"},
    "help-json": {"ja": "最後の状態だけをJSONで表示する", "en": "print only the final state as JSON"},
}


# --8<-- [start:sample]
SAMPLE_PROGRAM = """\
; factorials: print n! for n = 1 .. 5
        PUSH 1
        STORE n         ; n = 1
        PUSH 1
        STORE fact      ; fact = 1
loop:
        LOAD n
        PUSH 6
        LT              ; n < 6 ?  (1 or 0)
        JZ done         ; 0: leave the loop
        LOAD fact
        LOAD n
        MUL
        STORE fact      ; fact = fact * n
        LOAD fact
        PRINT           ; print(fact)
        LOAD n
        PUSH 1
        ADD
        STORE n         ; n = n + 1
        JMP loop
done:
        HALT
"""
# --8<-- [end:sample]

# --8<-- [start:opcodes]
# name: (opcode byte, operand kind). The operand follows the opcode byte:
#   "int"   a signed 32-bit integer, 4 bytes, little-endian       (PUSH)
#   "local" the slot number of a local variable, 1 byte           (LOAD, STORE)
#   "label" an absolute byte offset in the code, 2 bytes, l.-e.   (JMP, JZ)
#           (written as a label, 15 or 0x0f; shown as 0x000f)
OPCODES = {
    "HALT": (0x00, None),
    "PUSH": (0x01, "int"),
    "LOAD": (0x02, "local"),
    "STORE": (0x03, "local"),
    "ADD": (0x10, None),
    "SUB": (0x11, None),
    "MUL": (0x12, None),
    "LT": (0x13, None),
    "EQ": (0x14, None),
    "JMP": (0x20, "label"),
    "JZ": (0x21, "label"),
    "PRINT": (0x30, None),
}
OPERAND_SIZE = {None: 0, "int": 4, "local": 1, "label": 2}
STEP_LIMIT = 10_000      # more steps than this: an infinite loop, most likely
MAX_LOCALS = 256         # a slot number is 1 byte
MAX_CODE = 0x10000       # a jump target is 2 bytes
# --8<-- [end:opcodes]

NAMES = {code: name for name, (code, _) in OPCODES.items()}
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
LABEL = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*:(.*)$")
INTEGER = re.compile(r"^[+-]?[0-9]+$")
OFFSET = re.compile(r"^(0[xX][0-9a-fA-F]+|[0-9]+)$")  # a jump target written as a number
INT_MIN, INT_MAX = -(2**31), 2**31 - 1


def addr(offset: int) -> str:
    """An address as the lab shows it everywhere: hexadecimal, 0x and at least 4 digits."""
    return f"0x{offset:04x}"


def wrap32(value: int) -> int:
    """Wrap to a signed 32-bit integer, like the JVM's int (and the widget's |0)."""
    return (value + 2**31) % 2**32 - 2**31


# --8<-- [start:error]
class VMError(Exception):
    """A bad program: what kind of error, on which source line, and what is wrong."""

    def __init__(self, kind: str, line: int, message: str):
        super().__init__(message)
        self.kind, self.line, self.message = kind, line, message
        self.state = None   # run() fills it in: the machine's state when it stopped
# --8<-- [end:error]


@dataclass
class Program:
    code: bytes                 # the bytecode
    lines: dict[int, int]       # offset of each instruction -> source line (a line table)
    names: list[str]            # slot -> name of each local
    source: list[str]           # the source text, line by line


# --8<-- [start:assemble]
def assemble(text: str) -> Program:
    """Two passes: parse and lay out the instructions, then fill in the jump targets."""
    source = text.split("\n")
    code = bytearray()
    lines: dict[int, int] = {}
    labels: dict[str, int] = {}
    names: list[str] = []
    jumps = []  # (position of the operand, label or number, line) to fill in pass 2
    for number, raw in enumerate(source, start=1):
        body = raw.split(";", 1)[0].strip()      # drop the comment
        label = LABEL.match(body)
        if label:                                # "loop:" names the next offset
            if label[1] in labels:
                raise VMError("duplicate-label", number, say("error.duplicateLabel", label=label[1]))
            labels[label[1]] = len(code)
            body = label[2].strip()
        if not body:
            continue
        words = body.split()
        name = words[0].upper()
        if name not in OPCODES:
            raise VMError("unknown-instruction", number, say("error.unknownInstruction", word=words[0]))
        opcode, kind = OPCODES[name]
        if kind is None and len(words) > 1:
            raise VMError("bad-operand", number, say("error.takesNoOperand", name=name))
        if kind is not None and len(words) == 1:
            raise VMError("missing-operand", number, say("error.needsOperand", name=name))
        if len(words) > 2:
            raise VMError("bad-operand", number, say("error.takesOneOperand", name=name))
        if len(code) + 1 + OPERAND_SIZE[kind] > MAX_CODE:
            raise VMError("program-too-large", number, say("error.tooLarge", max=MAX_CODE))
        lines[len(code)] = number
        code.append(opcode)
        if kind == "int":
            operand = words[1]
            if not INTEGER.match(operand):
                raise VMError("bad-operand", number, say("error.needsInteger", name=name, operand=operand))
            value = int(operand)
            if not INT_MIN <= value <= INT_MAX:
                raise VMError("bad-operand", number, say("error.doesNotFit", value=value))
            code += value.to_bytes(4, "little", signed=True)
        elif kind == "local":
            operand = words[1]
            if not NAME.match(operand):
                raise VMError("bad-operand", number, say("error.needsName", name=name, operand=operand))
            if operand not in names:
                if len(names) == MAX_LOCALS:
                    raise VMError("bad-operand", number, say("error.tooManyLocals", max=MAX_LOCALS))
                names.append(operand)
            code.append(names.index(operand))
        elif kind == "label":
            operand = words[1]
            if not (NAME.match(operand) or OFFSET.match(operand)):
                raise VMError("bad-operand", number, say("error.needsLabel", name=name, operand=operand))
            jumps.append((len(code), operand, number))
            code += b"\0\0"
    if not code:
        raise VMError("empty-program", 1, say("error.empty"))
    for position, operand, number in jumps:   # pass 2: the labels are known now
        if NAME.match(operand):
            if operand not in labels:
                raise VMError("unknown-label", number, say("error.unknownLabel", label=operand))
            target = labels[operand]
        else:                                     # 15 or 0x0f
            target = int(operand, 16) if operand[:2].lower() == "0x" else int(operand)
        if target >= len(code):
            raise VMError("jump-out-of-range", number,
                          say("error.outside", target=addr(target), first=addr(0), last=addr(len(code) - 1)))
        if target not in lines:
            raise VMError("jump-out-of-range", number, say("error.notStart", target=addr(target)))
        code[position:position + 2] = target.to_bytes(2, "little")
    return Program(bytes(code), lines, names, source)
# --8<-- [end:assemble]


# --8<-- [start:decode]
def decode(program: Program, pc: int) -> tuple[str, int | None, int]:
    """The instruction at pc: (name, operand or None, offset of the next instruction)."""
    code = program.code
    if code[pc] not in NAMES:
        raise VMError("bad-opcode", program.lines.get(pc, 0),
                      say("error.badOpcode", hex=f"{code[pc]:02x}", pc=addr(pc)))
    name = NAMES[code[pc]]
    kind = OPCODES[name][1]
    size = OPERAND_SIZE[kind]
    raw = code[pc + 1:pc + 1 + size]
    operand = None
    if kind == "int":
        operand = int.from_bytes(raw, "little", signed=True)
    elif kind is not None:
        operand = int.from_bytes(raw, "little")
    return name, operand, pc + 1 + size


def show(program: Program, pc: int) -> str:
    """The instruction at pc as text, e.g. 'LOAD 0 (n)' or 'JZ 0x0030'."""
    name, operand, _ = decode(program, pc)
    if operand is None:
        return name
    if OPCODES[name][1] == "local":
        return f"{name} {operand} ({program.names[operand]})"
    if OPCODES[name][1] == "label":
        return f"{name} {addr(operand)}"
    return f"{name} {operand}"
# --8<-- [end:decode]


@dataclass
class State:
    pc: int = 0
    stack: list[int] = field(default_factory=list)
    locals: list[int | None] = field(default_factory=list)   # None: not set yet
    output: list[int] = field(default_factory=list)
    steps: int = 0
    halted: bool = False


# --8<-- [start:step]
def step(program: Program, state: State) -> None:
    """Run one instruction. On an error the state is left as it was before it."""
    line = program.lines[state.pc]
    if state.steps >= STEP_LIMIT:
        raise VMError("step-limit", line, say("error.stepLimit", limit=STEP_LIMIT))
    name, operand, next_pc = decode(program, state.pc)
    stack = state.stack
    needs = {"STORE": 1, "JZ": 1, "PRINT": 1, "ADD": 2, "SUB": 2, "MUL": 2, "LT": 2, "EQ": 2}
    if len(stack) < needs.get(name, 0):
        raise VMError("stack-underflow", line,
                      say("error.underflow", name=name, needs=needs[name], has=len(stack)))
    if name == "PUSH":
        stack.append(operand)
    elif name == "LOAD":
        if state.locals[operand] is None:
            raise VMError("unset-local", line, say("error.unsetLocal", local=program.names[operand]))
        stack.append(state.locals[operand])
    elif name == "STORE":
        state.locals[operand] = stack.pop()
    elif name in ("ADD", "SUB", "MUL", "LT", "EQ"):
        b, a = stack.pop(), stack.pop()         # the top of the stack is the right operand
        stack.append({"ADD": lambda: wrap32(a + b), "SUB": lambda: wrap32(a - b),
                      "MUL": lambda: wrap32(a * b), "LT": lambda: int(a < b),
                      "EQ": lambda: int(a == b)}[name]())
    elif name == "JMP":
        next_pc = operand
    elif name == "JZ":
        if stack.pop() == 0:
            next_pc = operand
    elif name == "PRINT":
        state.output.append(stack.pop())
    elif name == "HALT":
        state.halted = True
        next_pc = state.pc                      # stay on HALT
    state.pc = next_pc
    state.steps += 1
    if not state.halted and state.pc >= len(program.code):
        raise VMError("ran-off-end", line, say("error.ranOffEnd"))
# --8<-- [end:step]


def new_state(program: Program) -> State:
    return State(locals=[None] * len(program.names))


# --8<-- [start:run]
def run(program: Program, trace=None) -> State:
    """Run to HALT; call trace(state, pc) after each step. Raises VMError."""
    state = new_state(program)
    try:
        while not state.halted:
            pc = state.pc
            step(program, state)
            if trace:
                trace(state, pc)
    except VMError as error:
        error.state = state
        raise
    return state
# --8<-- [end:run]


# --- what the reader sees ---------------------------------------------------------------


def listing(program: Program) -> list[str]:
    """The disassembly, decoded from the bytes (not from the source)."""
    out = [say("listing-header")]
    pc = 0
    while pc < len(program.code):
        _, _, next_pc = decode(program, pc)
        raw = " ".join(f"{b:02x}" for b in program.code[pc:next_pc])
        out.append(f"{addr(pc)}  {raw:<15} {program.lines[pc]:>4}  {show(program, pc)}")
        pc = next_pc
    slots = " ".join(f"{slot}={name}" for slot, name in enumerate(program.names))
    out.append(say("locals", slots=slots or say("none")))
    return out


def locals_text(program: Program, state: State) -> str:
    return " ".join(f"{name}={'?' if value is None else value}"
                    for name, value in zip(program.names, state.locals)) or "-"


def state_json(program: Program | None, state: State | None, error: VMError | None) -> dict:
    """The final state, the shape the widget's test compares with."""
    state = state or State()
    names = program.names if program else []
    return {
        "halted": state.halted,
        "pc": state.pc,
        "steps": state.steps,
        "stack": list(state.stack),
        "locals": {n: v for n, v in zip(names, state.locals) if v is not None},
        "output": list(state.output),
        "error": error and {"kind": error.kind, "line": error.line, "message": error.message},
    }


# --8<-- [start:python]
# The same loop in Python, for dis. Its first line is line 1 of this text.
FACTORIALS_SOURCE = """\
def factorials():
    n = 1
    fact = 1
    while n < 6:
        fact = fact * n
        print(fact)
        n = n + 1
"""


def python_side() -> tuple[list[str], list[str]]:
    """CPython's instructions for factorials(), and those that 20 calls have quickened."""
    namespace: dict = {}
    exec(compile(FACTORIALS_SOURCE, "<factorials>", "exec"), namespace)
    function = namespace["factorials"]
    plain = [f"{i.positions.lineno or '':>4}  {addr(i.offset)}  {i.opname}" + ("" if i.arg is None else f" {i.arg}")
             + (f" ({argrepr(i)})" if i.argrepr else "") for i in dis.get_instructions(function)]
    with contextlib.redirect_stdout(io.StringIO()):
        for _ in range(20):                     # warm it up: 3.11 specializes hot code
            function()
    changed = [f"{addr(i.offset)}  {i.opname}"
               for i, j in zip(dis.get_instructions(function, adaptive=True), dis.get_instructions(function))
               if i.opname != j.opname]
    return plain, changed


def argrepr(instruction: dis.Instruction) -> str:
    """dis's note on the operand, with a jump's target in hex like this VM's ('to 0x0058')."""
    if instruction.argrepr.startswith("to ") and isinstance(instruction.argval, int):
        return f"to {addr(instruction.argval)}"
    return instruction.argrepr
# --8<-- [end:python]


def side_by_side(program: Program) -> list[str]:
    ours = []
    pc = 0
    while pc < len(program.code):
        ours.append(f"{program.lines[pc]:>4}  {addr(pc)}  {show(program, pc)}")
        pc = decode(program, pc)[2]
    theirs, changed = python_side()
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    width = 32
    out = [say("side-header", version=version)]
    for index in range(max(len(ours), len(theirs))):
        left = ours[index] if index < len(ours) else ""
        right = theirs[index] if index < len(theirs) else ""
        out.append(f"{left:<{width}}  {right}".rstrip())
    out.append(say("side-ours", n=len(ours), bytes=len(program.code)))
    out.append(say("side-theirs", n=len(theirs)))
    out.append(say("side-hex"))
    out.append("")
    out.append(say("side-adaptive", n=len(changed)))
    out += [f"  {line}" for line in changed]
    return out


TRACE_SHOWN = 20   # trace steps shown without --trace


def report(program: Program, path: str, full_trace: bool, compare: bool) -> int:
    print(say("assembled", n=len(program.lines), bytes=len(program.code)))
    print("\n".join(listing(program)))
    print()
    rows = []

    def trace(state: State, pc: int):
        if full_trace or len(rows) < TRACE_SHOWN:
            stack = "[" + " ".join(map(str, state.stack)) + "]"
            rows.append(f"{state.steps:>4}  {addr(pc)}  {show(program, pc):<16}  {stack:<12}  "
                        f"{locals_text(program, state)}")

    error = None
    try:
        state = run(program, trace)
    except VMError as caught:
        error, state = caught, caught.state
    if full_trace or state.steps <= len(rows):
        print(say("trace-all", steps=state.steps))
    else:
        print(say("trace-first", shown=len(rows), steps=state.steps))
    print(say("trace-header"))
    print("\n".join(rows))
    if len(rows) < state.steps:
        print(say("trace-more", more=state.steps - len(rows)))
    print()
    print(say("output"))
    print("\n".join(map(str, state.output)) or say("nothing"))
    print()
    if error:
        fail(error, program.source, path)
        return 1
    stack = "[" + " ".join(map(str, state.stack)) + "]"
    print(say("final-state"))
    print(say("halted", pc=addr(state.pc), line=program.lines[state.pc], steps=state.steps, stack=stack,
              locals=locals_text(program, state)))
    if compare:
        print()
        print(say("side-by-side"))
        print("\n".join(side_by_side(program)))
    return 0


def fail(error: VMError, source: list[str], path: str) -> None:
    """The error, its line and that line's text, on stderr."""
    print(say("error", path=path, line=error.line, message=error.message), file=sys.stderr)
    if 1 <= error.line <= len(source):
        print(f"  {error.line:>4} | {source[error.line - 1].rstrip()}", file=sys.stderr)


# --8<-- [start:main]
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=say("description"))
    parser.add_argument("file", nargs="?", help=say("help-file"))
    parser.add_argument("--trace", action="store_true", help=say("help-trace"))
    parser.add_argument("--json", action="store_true", help=say("help-json"))
    args = parser.parse_args(argv)
    path, text = "<sample>", SAMPLE_PROGRAM
    if args.file:
        path = args.file
        try:
            with open(path, encoding="utf-8-sig") as file:   # -sig: a BOM is not part of line 1
                text = file.read()
        except (OSError, UnicodeDecodeError) as error:
            print(say("cannot-read", path=path, reason=getattr(error, "strerror", None) or error), file=sys.stderr)
            return 2
    try:
        program = assemble(text)
    except VMError as error:
        if args.json:
            print(json.dumps(state_json(None, None, error), ensure_ascii=False))
        else:
            fail(error, text.split("\n"), path)
        return 1
    if args.json:
        try:
            state, error = run(program), None
        except VMError as caught:
            state, error = caught.state, caught
        print(json.dumps(state_json(program, state, error), ensure_ascii=False))
        return 1 if error else 0
    return report(program, path, args.trace, compare=not args.file)


if __name__ == "__main__":
    # Piped into head or less: end quietly, as other command-line tools do.
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
# --8<-- [end:main]
