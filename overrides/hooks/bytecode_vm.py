"""The bytecode VM widget: the lab's stack machine (docs/labs/bytecode_vm.py) in the browser.

- ``<!-- bytecode-vm -->`` on a line of its own (not indented; one inside a code
  fence is left alone) becomes the widget: a static listing of the sample program,
  assembled by the lab itself, and what it prints, so that the page reads well
  without JavaScript. The data the script needs (the sample program, the opcode
  table, the step limit) is embedded with it; ``assets/javascripts/widgets/bytecode-vm.js``
  turns the widget into the machine (edit, assemble, step, run, back, reset).
- The lab program is the single source of truth: this hook loads it from
  ``docs/labs/bytecode_vm.py`` (a module with no side effects on import) and takes
  ``SAMPLE_PROGRAM``, ``OPCODES``, ``OPERAND_SIZE``, ``STEP_LIMIT``, ``MAX_LOCALS`` and
  ``MAX_CODE`` from it. The JavaScript has no copy of them.
- The error messages are the lab's too: every ``error.*`` entry of the lab's
  ``MESSAGES`` (Japanese and English, the widget's placeholders) goes to the script
  with the widget's other strings (``lab_messages``). A copy of one in
  ``docs/_data/bytecode-vm.strings.yml`` must say the same, or the build stops.
- The plumbing (marker, page meta, root element, strings in
  ``docs/_data/bytecode-vm.strings.yml``) is ``_widget.Widget``'s.
- If the lab cannot be loaded, or its sample does not assemble and halt, the build
  stops with ``bytecode vm: …``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from mkdocs.exceptions import PluginError

import _widget  # beside this file: shared widget plumbing
from _widget import escape as _e

WIDGET = _widget.Widget("bytecode-vm", "bytecode vm")
LAB = Path("labs") / "bytecode_vm.py"

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
    WIDGET.configure(config)
    path = Path(config.docs_dir) / LAB
    if not path.is_file():
        raise PluginError(f"bytecode vm: {path}: no such file")
    _lab = load_lab(path)
    lab_messages(_lab, path)
    try:
        program = _lab.assemble(_lab.SAMPLE_PROGRAM)
        state = _lab.run(program)
    except _lab.VMError as error:
        raise PluginError(f"bytecode vm: {path}: SAMPLE_PROGRAM line {error.line}: {error.message}") from None
    _sample = (program, state)
    return config


def lab_messages(lab, path: Path) -> None:
    """Send the lab's error messages (MESSAGES["error.*"]) to the script as its strings."""
    script = WIDGET.strings.script.root
    for key, texts in lab.MESSAGES.items():
        if not key.startswith("error."):
            continue
        try:
            words = _widget.Words(**texts)
        except ValueError as error:
            raise PluginError(f"bytecode vm: {path}: MESSAGES[{key!r}]: {error}") from None
        copy = script.get(key)
        if copy is not None and (copy.ja, copy.en) != (words.ja, words.en):
            raise PluginError(f"bytecode vm: docs/_data/bytecode-vm.strings.yml: {key} differs from "
                              f"MESSAGES[{key!r}] in {path}, which the widget uses: remove the copy")
        script[key] = words


def script_data(lab) -> dict:
    """What the script needs, all taken from the lab."""
    return {
        "program": lab.SAMPLE_PROGRAM,
        "opcodes": {name: [code, kind] for name, (code, kind) in lab.OPCODES.items()},
        "operandSize": {str(kind): size for kind, size in lab.OPERAND_SIZE.items()},
        "stepLimit": lab.STEP_LIMIT,
        "maxLocals": lab.MAX_LOCALS,
        "maxCode": lab.MAX_CODE,
    }


def render(language: str, uid: str) -> str:
    """The widget's HTML: one raw block (no blank lines) that Markdown leaves alone."""
    strings = WIDGET.words(language)
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
    summary = _widget.fmt(strings["summary"], steps=state.steps, pc=_lab.addr(state.pc), locals=local_text)
    output = "\n".join(str(value) for value in state.output)
    static = "\n".join([
        f'<p class="bytecode-vm__intro">{_e(strings["tableIntro"])}</p>',
        f'<div class="bytecode-vm__table-wrap" role="region" tabindex="0" aria-labelledby="{uid}-listing">',
        f'<table class="bytecode-vm__table bytecode-vm__listing-table" data-static-listing>'
        f'<caption id="{uid}-listing">{_e(strings["listingCaption"])}</caption>'
        f'<thead><tr><th scope="col">{_e(strings["offset"])}</th><th scope="col">{_e(strings["bytes"])}</th>'
        f'<th scope="col">{_e(strings["line"])}</th><th scope="col">{_e(strings["instruction"])}</th></tr></thead>'
        f'<tbody>{"".join(rows)}</tbody></table>',
        "</div>",
        f'<p class="bytecode-vm__label" id="{uid}-static-output">{_e(strings["printed"])}</p>',
        f'<pre class="bytecode-vm__output" data-static-output>{_e(output)}</pre>',
        f'<p class="bytecode-vm__summary" data-static-summary><strong>{_e(strings["final"])}</strong>: {_e(summary)}</p>',
        f'<p class="bytecode-vm__note">{_e(strings["nojs"])}</p>',
    ])
    return WIDGET.html(uid, language, static, script_data(_lab))


# on_config is the lab's (above); the widget's strings are loaded there too.
_, on_page_markdown, on_post_build = WIDGET.hooks(lambda data, language, uid: render(language, uid))
