"""The bytecode VM widget: the lab's stack machine (docs/labs/bytecode_vm.py) in the browser.

- ``<!-- bytecode-vm -->`` on a line of its own (not indented; one inside a code
  fence is left alone) becomes the widget: a static listing of the sample program,
  assembled by the lab itself, and what it prints, so that the page reads well
  without JavaScript. The data the script needs (the sample program, the opcode
  table, the step limit) is embedded as ``<script type="application/json"
  data-bytecode-vm-data>``; ``assets/javascripts/widgets/bytecode-vm.js`` turns the
  widget into the machine (edit, assemble, step, run, back, reset).
- The lab program is the single source of truth: this hook loads it from
  ``docs/labs/bytecode_vm.py`` (a module with no side effects on import) and takes
  ``SAMPLE_PROGRAM``, ``OPCODES``, ``OPERAND_SIZE``, ``STEP_LIMIT``, ``MAX_LOCALS`` and
  ``MAX_CODE`` from it. The JavaScript has no copy of them.
- The page gets ``"bytecode-vm"`` in ``page.meta["widgets"]``, which makes
  ``overrides/main.html`` load the widget's CSS and JS on that page only.
- If the lab cannot be loaded, or its sample does not assemble and halt, the build
  stops with ``bytecode vm: …``.
"""

from __future__ import annotations

import html
import importlib.util
import sys
from pathlib import Path

from mkdocs.exceptions import PluginError

import _widget  # beside this file: shared widget plumbing

NAME = "bytecode-vm"
LAB = Path("labs") / "bytecode_vm.py"

STRINGS = {
    "ja": {
        "intro": "実習のVMが、サンプルのプログラム（1!から5!までを表示する繰り返し）を組み立てた結果です。"
                 "左から、オフセット（0x付きの16進数）、命令のバイト列（16進数）、ソースの行番号、命令です。",
        "listing": "サンプルを組み立てた結果",
        "offset": "オフセット",
        "bytes": "バイト列",
        "line": "行",
        "instruction": "命令",
        "output": "実行すると表示されるもの",
        "final": "停止したときの状態",
        "summary": "{steps}ステップでHALTに達します（pc {pc}、スタックは空、ローカル変数 {locals}）。",
        "nojs": "JavaScriptが動くブラウザーでは、ここでプログラムを1命令ずつ実行し、書き換えられます。",
    },
    "en": {
        "intro": "The lab's VM assembled the sample program (a loop that prints 1! to 5!). "
                 "The columns are the offset (hexadecimal, with 0x), the instruction's bytes (hexadecimal), "
                 "the source line and the instruction.",
        "listing": "The sample, assembled",
        "offset": "Offset",
        "bytes": "Bytes",
        "line": "Line",
        "instruction": "Instruction",
        "output": "What it prints",
        "final": "The state when it stops",
        "summary": "It reaches HALT after {steps} steps (pc {pc}, an empty stack, locals {locals}).",
        "nojs": "In a browser that runs JavaScript, you can run the program here one instruction at a time, and edit it.",
    },
}

_lab = None  # the lab module
_sample = None  # (program, final state) of the sample


def load_lab(path: Path):
    """Import the lab from its file under a private name (it has no side effects)."""
    name = "_bytecode_vm_lab"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise PluginError(f"bytecode vm: cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is made
    try:
        spec.loader.exec_module(module)
    except Exception as error:  # the build must say what went wrong, whatever it was
        raise PluginError(f"bytecode vm: {path}: {type(error).__name__}: {error}") from None
    finally:
        sys.modules.pop(name, None)
    return module


def on_config(config):
    """Load the lab, assemble and run its sample (a broken sample stops the build)."""
    global _lab, _sample
    path = Path(config.docs_dir) / LAB
    if not path.is_file():
        raise PluginError(f"bytecode vm: {path}: no such file")
    _lab = load_lab(path)
    try:
        program = _lab.assemble(_lab.SAMPLE_PROGRAM)
        state = _lab.run(program)
    except _lab.VMError as error:
        raise PluginError(f"bytecode vm: {path}: SAMPLE_PROGRAM line {error.line}: {error.message}") from None
    _sample = (program, state)
    return config


def on_page_markdown(markdown, page, **kwargs):
    """Expand the marker into the widget; list the widget in the page's meta."""
    return _widget.expand_marker(markdown, page, NAME, lambda language, uid: render(language, uid))


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def script_data(lab, language: str) -> dict:
    """What the script needs, all taken from the lab."""
    return {
        "lang": language,
        "program": lab.SAMPLE_PROGRAM,
        "opcodes": {name: [code, kind] for name, (code, kind) in lab.OPCODES.items()},
        "operandSize": {str(kind): size for kind, size in lab.OPERAND_SIZE.items()},
        "stepLimit": lab.STEP_LIMIT,
        "maxLocals": lab.MAX_LOCALS,
        "maxCode": lab.MAX_CODE,
    }


def render(language: str, uid: str) -> str:
    """The widget's HTML: one raw block (no blank lines) that Markdown leaves alone."""
    strings = STRINGS.get(language, STRINGS["en"])
    program, state = _sample
    rows = []
    pc = 0
    while pc < len(program.code):
        _, _, next_pc = _lab.decode(program, pc)
        raw = " ".join(f"{b:02x}" for b in program.code[pc:next_pc])
        rows.append(
            f'<tr data-offset="{pc}"><td>{_lab.addr(pc)}</td><td>{raw}</td>'
            f"<td>{program.lines[pc]}</td><td>{_e(_lab.show(program, pc))}</td></tr>"
        )
        pc = next_pc
    local_text = " ".join(f"{name}={value}" for name, value in zip(program.names, state.locals))
    summary = strings["summary"].format(steps=state.steps, pc=_lab.addr(state.pc), locals=local_text)
    output = "\n".join(str(value) for value in state.output)
    script = _widget.script_json(script_data(_lab, language))
    return "\n".join([
        f'<div class="bytecode-vm" data-widget="{NAME}" id="{uid}" lang="{language}">',
        '<div class="bytecode-vm__static" data-static>',
        f'<p class="bytecode-vm__intro">{_e(strings["intro"])}</p>',
        f'<div class="bytecode-vm__table-wrap" role="region" tabindex="0" aria-labelledby="{uid}-listing">',
        f'<table class="bytecode-vm__table bytecode-vm__listing-table" data-static-listing>'
        f'<caption id="{uid}-listing">{_e(strings["listing"])}</caption>'
        f'<thead><tr><th scope="col">{_e(strings["offset"])}</th><th scope="col">{_e(strings["bytes"])}</th>'
        f'<th scope="col">{_e(strings["line"])}</th><th scope="col">{_e(strings["instruction"])}</th></tr></thead>'
        f'<tbody>{"".join(rows)}</tbody></table>',
        "</div>",
        f'<p class="bytecode-vm__label" id="{uid}-static-output">{_e(strings["output"])}</p>',
        f'<pre class="bytecode-vm__output" data-static-output>{_e(output)}</pre>',
        f'<p class="bytecode-vm__summary" data-static-summary><strong>{_e(strings["final"])}</strong>: {_e(summary)}</p>',
        f'<p class="bytecode-vm__note">{_e(strings["nojs"])}</p>',
        "</div>",
        f'<script type="application/json" data-bytecode-vm-data>{script}</script>',
        "</div>",
    ])
