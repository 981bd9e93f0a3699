#!/usr/bin/env python3
"""A small process VM: a stack-based bytecode machine and its assembler.

    python3 bytecode_vm.py            run the sample program (it prints 1! .. 5!):
                                      the listing, the first steps of the trace, the
                                      output, and CPython's own bytecode for the same loop
    python3 bytecode_vm.py FILE       assemble and run your own program
    --trace                           show every step of the trace
    --json                            print only the final state, as JSON

Standard library only, Python 3.11 or later. The course page is /labs/bytecode-vm/
(ハンズオン3: 小さなプロセスVMを作る). The widget on that page runs the same machine in
the browser: it reads SAMPLE_PROGRAM, OPCODES and STEP_LIMIT from this file, so change
them here.

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
import re
import sys
from dataclasses import dataclass, field

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
                raise VMError("duplicate-label", number, f"label '{label[1]}' is defined twice")
            labels[label[1]] = len(code)
            body = label[2].strip()
        if not body:
            continue
        words = body.split()
        name = words[0].upper()
        if name not in OPCODES:
            raise VMError("unknown-instruction", number, f"unknown instruction '{words[0]}'")
        opcode, kind = OPCODES[name]
        if kind is None and len(words) > 1:
            raise VMError("bad-operand", number, f"{name} takes no operand")
        if kind is not None and len(words) == 1:
            raise VMError("missing-operand", number, f"{name} needs an operand")
        if len(words) > 2:
            raise VMError("bad-operand", number, f"{name} takes one operand")
        if len(code) + 1 + OPERAND_SIZE[kind] > MAX_CODE:
            raise VMError("program-too-large", number, f"the code is longer than {MAX_CODE} bytes")
        lines[len(code)] = number
        code.append(opcode)
        if kind == "int":
            operand = words[1]
            if not INTEGER.match(operand):
                raise VMError("bad-operand", number, f"{name} needs an integer, not '{operand}'")
            value = int(operand)
            if not INT_MIN <= value <= INT_MAX:
                raise VMError("bad-operand", number, f"{value} does not fit in 32 bits")
            code += value.to_bytes(4, "little", signed=True)
        elif kind == "local":
            operand = words[1]
            if not NAME.match(operand):
                raise VMError("bad-operand", number, f"{name} needs a variable name, not '{operand}'")
            if operand not in names:
                if len(names) == MAX_LOCALS:
                    raise VMError("bad-operand", number, f"more than {MAX_LOCALS} local variables")
                names.append(operand)
            code.append(names.index(operand))
        elif kind == "label":
            operand = words[1]
            if not (NAME.match(operand) or OFFSET.match(operand)):
                raise VMError("bad-operand", number, f"{name} needs a label or an offset, not '{operand}'")
            jumps.append((len(code), operand, number))
            code += b"\0\0"
    if not code:
        raise VMError("empty-program", 1, "the program has no instructions")
    for position, operand, number in jumps:   # pass 2: the labels are known now
        if NAME.match(operand):
            if operand not in labels:
                raise VMError("unknown-label", number, f"unknown label '{operand}'")
            target = labels[operand]
        else:                                     # 15 or 0x0f
            target = int(operand, 16) if operand[:2].lower() == "0x" else int(operand)
        if target >= len(code):
            raise VMError("jump-out-of-range", number,
                          f"jump target {addr(target)} is outside the code ({addr(0)}..{addr(len(code) - 1)})")
        if target not in lines:
            raise VMError("jump-out-of-range", number,
                          f"jump target {addr(target)} is not the start of an instruction")
        code[position:position + 2] = target.to_bytes(2, "little")
    return Program(bytes(code), lines, names, source)
# --8<-- [end:assemble]


# --8<-- [start:decode]
def decode(program: Program, pc: int) -> tuple[str, int | None, int]:
    """The instruction at pc: (name, operand or None, offset of the next instruction)."""
    code = program.code
    if code[pc] not in NAMES:
        raise VMError("bad-opcode", program.lines.get(pc, 0), f"unknown opcode 0x{code[pc]:02x} at {addr(pc)}")
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
        raise VMError("step-limit", line, f"stopped after {STEP_LIMIT} steps (an infinite loop?)")
    name, operand, next_pc = decode(program, state.pc)
    stack = state.stack
    needs = {"STORE": 1, "JZ": 1, "PRINT": 1, "ADD": 2, "SUB": 2, "MUL": 2, "LT": 2, "EQ": 2}
    if len(stack) < needs.get(name, 0):
        count = f"{needs[name]} value{'s' if needs[name] > 1 else ''}"
        raise VMError("stack-underflow", line, f"{name} needs {count} on the stack, but it has {len(stack)}")
    if name == "PUSH":
        stack.append(operand)
    elif name == "LOAD":
        if state.locals[operand] is None:
            raise VMError("unset-local", line, f"local '{program.names[operand]}' is read before it is set")
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
        raise VMError("ran-off-end", line, "ran off the end of the program (no HALT)")
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
    out = ["offset  bytes           line  instruction"]
    pc = 0
    while pc < len(program.code):
        _, _, next_pc = decode(program, pc)
        raw = " ".join(f"{b:02x}" for b in program.code[pc:next_pc])
        out.append(f"{addr(pc)}  {raw:<15} {program.lines[pc]:>4}  {show(program, pc)}")
        pc = next_pc
    slots = " ".join(f"{slot}={name}" for slot, name in enumerate(program.names))
    out.append(f"locals: {slots or '(none)'}")
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
    out = [f"{'this VM (line offset instruction)':<{width}}  CPython {version} dis (line offset instruction)"]
    for index in range(max(len(ours), len(theirs))):
        left = ours[index] if index < len(ours) else ""
        right = theirs[index] if index < len(theirs) else ""
        out.append(f"{left:<{width}}  {right}".rstrip())
    out.append(f"this VM: {len(ours)} instructions, {len(program.code)} bytes.")
    out.append(f"CPython: {len(theirs)} instructions; dis hides the inline CACHE entries.")
    out.append("Offsets are hexadecimal in both columns; dis itself prints them in decimal.")
    out.append("")
    out.append(f"After 20 calls, dis(factorials, adaptive=True) shows {len(changed)} "
               "instructions replaced at run time:")
    out += [f"  {line}" for line in changed]
    return out


TRACE_SHOWN = 20   # trace steps shown without --trace


def report(program: Program, path: str, full_trace: bool, compare: bool) -> int:
    print(f"== Assembled: {len(program.lines)} instructions, {len(program.code)} bytes "
          "(offsets and bytes in hex) ==")
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
    shown = "all" if full_trace or state.steps <= len(rows) else f"first {len(rows)} of"
    print(f"== Trace: {shown} {state.steps} steps (stack and locals after each step) ==")
    print("step  pc      instruction       stack         locals")
    print("\n".join(rows))
    if len(rows) < state.steps:
        print(f"... ({state.steps - len(rows)} more; --trace shows every step)")
    print()
    print("== Output ==")
    print("\n".join(map(str, state.output)) or "(nothing)")
    print()
    if error:
        fail(error, program.source, path)
        return 1
    stack = "[" + " ".join(map(str, state.stack)) + "]"
    print("== Final state ==")
    print(f"HALT at pc {addr(state.pc)} (line {program.lines[state.pc]}) after {state.steps} steps; "
          f"stack {stack}; locals {locals_text(program, state)}")
    if compare:
        print()
        print("== Side by side: this VM and CPython's bytecode for the same loop ==")
        print("\n".join(side_by_side(program)))
    return 0


def fail(error: VMError, source: list[str], path: str) -> None:
    """The error, its line and that line's text, on stderr."""
    print(f"error: {path}:{error.line}: {error.message}", file=sys.stderr)
    if 1 <= error.line <= len(source):
        print(f"  {error.line:>4} | {source[error.line - 1].rstrip()}", file=sys.stderr)


# --8<-- [start:main]
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A small stack-based bytecode VM.")
    parser.add_argument("file", nargs="?", help="a program to run (default: the sample)")
    parser.add_argument("--trace", action="store_true", help="show every step")
    parser.add_argument("--json", action="store_true", help="print only the final state as JSON")
    args = parser.parse_args(argv)
    path, text = "<sample>", SAMPLE_PROGRAM
    if args.file:
        path = args.file
        try:
            with open(path, encoding="utf-8-sig") as file:   # -sig: a BOM is not part of line 1
                text = file.read()
        except (OSError, UnicodeDecodeError) as error:
            print(f"error: cannot read {path}: {getattr(error, 'strerror', None) or error}", file=sys.stderr)
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
    sys.exit(main())
# --8<-- [end:main]
