"""Every lab program speaks the reader's language, the same way (CONTRIBUTING.md#snippets).

- Each lab file carries the same ``reader_language()`` (LC_ALL, then LC_MESSAGES, then
  LANG, the first that is set and not empty; Japanese for ``ja``, ``ja_JP.UTF-8`` …,
  English otherwise) and a ``say(key, **values)`` over its own ``MESSAGES`` table. The
  KVM labs share one ``say`` (``str.format``); bytecode_vm.py's uses the widget's
  placeholders, because the widget on its page shows the same error messages.
- Every message has Japanese and English with the same placeholders, and no Japanese in
  the English. Every ``say("key", …)`` names a message that exists and gives exactly its
  placeholders; every message is used.
- The code is written for both readers: comments and docstrings are English, and Japanese
  text appears only as the ``"ja"`` side of a message or of a bilingual table.

The behaviour of each program in both languages is in its own test module
(tests/test_labs_kvm.py, test_lab_kvm_paging.py, test_lab_inside_a_vm.py,
test_lab_bytecode_vm.py). A new lab joins by adding its file to LABS.
"""

from __future__ import annotations

import ast
import io
import re
import string
import tokenize
from pathlib import Path

import pytest

from tests.support.lab_language import JAPANESE, LOCALES, environment

ROOT = Path(__file__).resolve().parents[1]
LABS_DIR = ROOT / "docs" / "labs"
KVM_LABS = ["kvm_hello.py", "kvm_exits.py", "kvm_paging.py", "inside_a_vm.py", "qcow2_inspect.py"]  # str.format messages
WIDGET_LABS = ["bytecode_vm.py"]  # the widget's placeholders: {name}, {n|one|other}
LABS = KVM_LABS + WIDGET_LABS
WIDGET_PLACEHOLDER = re.compile(r"\{(\w+)(?:\|([^|{}]*)\|([^{}]*))?\}")


def tree(name: str) -> ast.Module:
    return ast.parse((LABS_DIR / name).read_text(encoding="utf-8"), filename=name)


def function_source(name: str, function: str) -> str:
    source = (LABS_DIR / name).read_text(encoding="utf-8")
    node = next(n for n in tree(name).body if isinstance(n, ast.FunctionDef) and n.name == function)
    return ast.get_source_segment(source, node)


def messages(name: str) -> dict[str, dict[str, str]]:
    """The lab's MESSAGES, read without importing it."""
    node = next(n for n in tree(name).body if isinstance(n, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "MESSAGES" for t in n.targets))
    return ast.literal_eval(node.value)


def fields(name: str, text: str) -> set[str]:
    if name in WIDGET_LABS:
        return {match[1] for match in WIDGET_PLACEHOLDER.finditer(text)}
    return {field.split(".")[0].split("[")[0] for _, field, _, _ in string.Formatter().parse(text) if field}


# ---- One mechanism, the same in every file ---------------------------------------------------


def test_every_lab_has_the_same_reader_language():
    sources = {name: function_source(name, "reader_language") for name in LABS}
    assert len(set(sources.values())) == 1, "reader_language() differs between the labs"


def test_the_kvm_labs_have_the_same_say():
    sources = {name: function_source(name, "say") for name in KVM_LABS}
    assert len(set(sources.values())) == 1, "say() differs between the KVM labs"


CASES = [  # (LC_ALL, LC_MESSAGES, LANG) → the language
    ((None, None, "ja_JP.UTF-8"), "ja"),
    ((None, None, "ja_JP.eucJP"), "ja"),
    ((None, None, "ja"), "ja"),
    ((None, None, "ja.UTF-8"), "ja"),
    ((None, None, "C.UTF-8"), "en"),
    ((None, None, "en_US.UTF-8"), "en"),
    ((None, None, "POSIX"), "en"),
    ((None, None, "jam"), "en"),
    ((None, None, None), "en"),
    (("C", None, "ja_JP.UTF-8"), "en"),  # LC_ALL wins
    (("ja_JP.UTF-8", "C", "C"), "ja"),
    ((None, "ja_JP.UTF-8", "C.UTF-8"), "ja"),  # LC_MESSAGES before LANG
    ((None, "en_US.UTF-8", "ja_JP.UTF-8"), "en"),
    (("", "", "ja_JP.UTF-8"), "ja"),  # an empty variable counts as unset
    (("", "C", "ja_JP.UTF-8"), "en"),
]


@pytest.mark.parametrize("variables, expected", CASES, ids=[f"{v}->{e}" for v, e in CASES])
def test_reader_language_follows_posix(monkeypatch, variables, expected):
    namespace = {"os": __import__("os")}
    exec(function_source("kvm_hello.py", "reader_language"), namespace)
    for name, value in zip(("LC_ALL", "LC_MESSAGES", "LANG"), variables):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert namespace["reader_language"]() == expected


def test_the_test_locales_select_the_languages():
    namespace = {"os": __import__("os")}
    exec(function_source("kvm_hello.py", "reader_language"), namespace)
    import os

    for language in LOCALES:
        saved = dict(os.environ)
        try:
            os.environ.clear()
            os.environ.update(environment(language, saved))
            assert namespace["reader_language"]() == language
        finally:
            os.environ.clear()
            os.environ.update(saved)


# ---- The tables -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", LABS)
def test_every_message_has_both_languages_and_the_same_placeholders(name):
    problems = []
    for key, texts in messages(name).items():
        if set(texts) != {"ja", "en"} or not all(isinstance(t, str) and t for t in texts.values()):
            problems.append(f"{key}: needs a non-empty 'ja' and 'en'")
            continue
        if fields(name, texts["ja"]) != fields(name, texts["en"]):
            problems.append(f"{key}: ja {sorted(fields(name, texts['ja']))} en {sorted(fields(name, texts['en']))}")
        if JAPANESE.search(texts["en"]):
            problems.append(f"{key}: Japanese in the English text")
    assert problems == []


def say_calls(name: str) -> list[ast.Call]:
    return [node for node in ast.walk(tree(name))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "say"]


@pytest.mark.parametrize("name", LABS)
def test_every_say_names_a_message_and_gives_its_placeholders(name):
    table = messages(name)
    problems = []
    for call in say_calls(name):
        if not call.args or not isinstance(call.args[0], ast.Constant):
            continue  # a key chosen at run time: the tests of the program's output cover it
        key = call.args[0].value
        if key not in table:
            problems.append(f"line {call.lineno}: no message {key!r}")
            continue
        if any(k.arg is None for k in call.keywords):
            continue  # say(key, **values)
        given = {k.arg for k in call.keywords}
        if given != fields(name, table[key]["en"]):
            problems.append(f"line {call.lineno}: {key!r} gets {sorted(given)}, needs {sorted(fields(name, table[key]['en']))}")
    assert problems == []


@pytest.mark.parametrize("name", LABS)
def test_every_message_is_used(name):
    """A key is used when the code names it outside the table (say("key"), or a table of keys)."""
    source = (LABS_DIR / name).read_text(encoding="utf-8")
    table_node = next(n for n in tree(name).body if isinstance(n, ast.Assign)
                      and any(isinstance(t, ast.Name) and t.id == "MESSAGES" for t in n.targets))
    outside = {node.value for node in ast.walk(tree(name))
               if isinstance(node, ast.Constant) and isinstance(node.value, str)
               and not (table_node.lineno <= node.lineno <= table_node.end_lineno)}
    unused = [key for key in messages(name) if key not in outside]
    if name in WIDGET_LABS:  # the widget builds "error." + key; the lab names each one in full
        assert all(not key.startswith("error.") or key in outside for key in messages(name))
    assert unused == [], f"{name}: messages no code uses"
    assert source.count("MESSAGES = {") == 1


# ---- Code for both readers ---------------------------------------------------------------------


@pytest.mark.parametrize("name", LABS)
def test_comments_and_docstrings_are_english(name):
    source = (LABS_DIR / name).read_text(encoding="utf-8")
    problems = [f"line {tok.start[0]}: {tok.string}" for tok in tokenize.generate_tokens(io.StringIO(source).readline)
                if tok.type == tokenize.COMMENT and JAPANESE.search(tok.string)]
    for node in ast.walk(tree(name)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)):
            doc = ast.get_docstring(node)
            if doc and JAPANESE.search(doc):
                problems.append(f"docstring of {getattr(node, 'name', 'the module')}")
    assert problems == []


@pytest.mark.parametrize("name", LABS)
def test_japanese_appears_only_on_the_ja_side_of_a_table(name):
    """Japanese text in code lives in {"ja": …, "en": …} entries, never in the code itself."""
    module = tree(name)
    allowed = set()
    for node in ast.walk(module):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if isinstance(key, ast.Constant) and key.value == "ja":
                    allowed.update(id(n) for n in ast.walk(value))
    problems = [f"line {node.lineno}: {node.value!r}" for node in ast.walk(module)
                if isinstance(node, ast.Constant) and isinstance(node.value, str)
                and JAPANESE.search(node.value) and id(node) not in allowed]
    assert problems == []


@pytest.mark.parametrize("name", LABS)
def test_snippet_sections_are_whole_and_in_order(name):
    """The pages include the programs section by section: every start has its end, none nests."""
    source = (LABS_DIR / name).read_text(encoding="utf-8")
    markers = re.findall(r"^\s*# --8<-- \[(start|end):([a-z-]+)\]$", source, flags=re.M)
    open_section = None
    for kind, section in markers:
        if kind == "start":
            assert open_section is None, f"{section} starts inside {open_section}"
            open_section = section
        else:
            assert open_section == section, f"end of {section} without its start"
            open_section = None
    assert markers and open_section is None


@pytest.mark.parametrize("name", LABS)
def test_output_piped_into_head_ends_without_a_traceback(name):
    """`python3 lab.py | head` is how readers skim output: a closed pipe is not an error to report."""
    import os
    import subprocess
    import sys

    if name != "bytecode_vm.py" and not os.path.exists("/dev/kvm"):
        pytest.skip("no /dev/kvm on this machine: the KVM labs stop before printing much")
    process = subprocess.Popen(
        [sys.executable, str(LABS_DIR / name)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        cwd=LABS_DIR, env=environment("ja"),
    )
    process.stdout.close()  # what head does once it has its lines (here: before any arrive)
    _, errors = process.communicate(timeout=120)
    assert b"Traceback" not in errors, errors.decode(errors="replace")[-400:]
