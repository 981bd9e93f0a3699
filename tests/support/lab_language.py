"""The lab programs speak the reader's language: helpers for running them in both.

Every lab in docs/labs prints Japanese when the locale selects Japanese and English
otherwise (CONTRIBUTING.md#snippets). Its ``reader_language()`` reads LC_ALL,
LC_MESSAGES and LANG on every call, so a test picks the language through the
environment: ``environment(language)`` for a child process, the ``language`` fixture
(or ``speaking(language)``) for code run in the test's own process.

    from tests.support.lab_language import LANGUAGES, environment, language  # noqa: F401

A test that takes ``language`` runs once per language; a module-scoped fixture that
runs a slow program takes ``params=LANGUAGES`` and runs it once per language.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager

import pytest

LANGUAGES = ("ja", "en")
# The locales a reader would have. ja_JP.UTF-8 need not be installed: the labs read the
# variable, not the C library's locale, and Python prints UTF-8 either way.
LOCALES = {"ja": "ja_JP.UTF-8", "en": "C.UTF-8"}
VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")
# Hiragana, katakana, CJK ideographs, full-width forms and Japanese punctuation.
JAPANESE = re.compile(r"[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")


def environment(language: str, base: dict | None = None) -> dict:
    """A child's environment that selects ``language`` through LANG alone."""
    env = {k: v for k, v in (os.environ if base is None else base).items() if k not in VARIABLES}
    env["LANG"] = LOCALES[language]
    return env


@contextmanager
def speaking(language: str):
    """Within the block, this process's environment selects ``language``."""
    saved = {name: os.environ.get(name) for name in VARIABLES}
    for name in VARIABLES:
        os.environ.pop(name, None)
    os.environ["LANG"] = LOCALES[language]
    try:
        yield language
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def text(module, language: str, key: str, **values) -> str:
    """What ``module.say(key, **values)`` prints for a reader of ``language``."""
    with speaking(language):
        return module.say(key, **values)


@pytest.fixture(params=LANGUAGES)
def language(request, monkeypatch) -> str:
    """Run the test once per language, with this process's locale set to it."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", LOCALES[request.param])
    return request.param


def assert_english(output: str) -> None:
    """Nothing Japanese in what an English reader sees."""
    found = JAPANESE.search(output)
    assert found is None, f"Japanese in English output: {output[max(0, found.start() - 40):found.end() + 40]!r}"
