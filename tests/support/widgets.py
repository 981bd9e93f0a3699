"""The widgets, listed once, and what their tests share (tests/test_widget_*.py).

``WIDGETS`` is the list the contract (tests/test_widget_contract.py) runs over: a widget
added here gets the contract. Each entry names the widget's hook, its data file, and a
``sample``: what a reader does first, so that the checks see the widget in use.

One build serves every widget test module: a copy of the site with one page (ja and en)
per widget, ``<name>-widget/``, holding only the widget's marker between two paragraphs.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from tests.conftest import open_context
from tests.support import site
from tests.test_build import make_project

HOOKS = site.ROOT / "overrides" / "hooks"


def press(widget, action: str, times: int = 1):
    """Click a [data-action] button ``times`` times (an aria-disabled one too: it does nothing)."""
    for _ in range(times):
        widget.locator(f'button[data-action="{action}"]').click()


def _place_esxi_with_a_wrong_type(widget):
    widget.locator('button[data-system="esxi"]').click()
    for axis, option in (("kind", "system"), ("isa", "same"), ("type", "type2"), ("technique", "hardware-assisted")):
        widget.locator(f'fieldset[data-axis="{axis}"] input[data-option="{option}"]').check()
    widget.locator('button[data-action="check"]').click()


@dataclass(frozen=True)
class Widget:
    name: str
    hook: str  # the module in overrides/hooks/
    data: str | None  # its file in docs/_data/, if it has one
    sample: Callable  # sample(widget locator): a reader's first moves
    stepper: bool = True  # has Step, Back and Reset

    @property
    def path(self) -> str:
        return f"{self.name}-widget/"

    @property
    def strings(self) -> Path:
        return site.ROOT / "docs" / "_data" / f"{self.name}.strings.yml"

    @property
    def script(self) -> Path:
        return site.ROOT / "docs" / "assets" / "javascripts" / "widgets" / f"{self.name}.js"


WIDGETS = {
    widget.name: widget
    for widget in (
        Widget("taxonomy-explorer", "taxonomy_explorer", "taxonomy.yml", _place_esxi_with_a_wrong_type, stepper=False),
        Widget("trap-and-emulate", "trap_and_emulate", "trap-and-emulate.yml", lambda w: press(w, "step", 7)),
        Widget("page-walk", "page_walk", "page-walk.yml", lambda w: press(w, "step", 7)),
        Widget("io-path", "io_path", "io-path.yml", lambda w: press(w, "step", 4)),
        Widget("bytecode-vm", "bytecode_vm", None, lambda w: press(w, "step", 16)),
    )
}

PAGES = {}
for _name in WIDGETS:
    PAGES[f"{_name}-widget.md"] = f"# ウィジェット\n\n前の段落。\n\n<!-- {_name} -->\n\n後ろの段落。\n"
    PAGES[f"{_name}-widget.en.md"] = f"# A widget\n\nA paragraph before it.\n\n<!-- {_name} -->\n\nA paragraph after it.\n"


def widget_project(root: Path, pages: dict[str, str] = PAGES) -> Path:
    """A copy of the site with the fixture pages in the nav.

    Pages in docs/ that are not in the nav (drafts someone is still writing) are left
    out of the copy: a strict build fails on them whatever the widget does.
    """
    config = make_project(root, pages)
    listed = set(re.findall(r"([\w./-]+\.md)\s*$", config.read_text(encoding="utf-8"), flags=re.M))
    for draft in (root / "docs").rglob("*.md"):
        name = draft.relative_to(root / "docs").as_posix()
        if name.removesuffix(".md").removesuffix(".en") + ".md" not in listed:
            draft.unlink()
    return config


_built: dict[str, tuple[Path, str]] = {}


@pytest.fixture(scope="session")
def widget_site(tmp_path_factory):
    """(site dir, base URL) of the one build every widget test module shares.

    A test module imports this fixture; pytest would run a session fixture once per
    module that imports it, so the build and the server are kept here, once.
    """
    if "site" not in _built:
        root = tmp_path_factory.mktemp("widgets-site")
        config = widget_project(root)
        stack = contextlib.ExitStack()
        base_url = stack.enter_context(site.serve(root / "site"))
        atexit.register(stack.close)
        site.build(config, root / "site", site_url=base_url)
        _built["site"] = (root / "site", base_url)
    return _built["site"]


def open_page(browser, base_url: str, path: str, **kwargs):
    """(context, log, page) with ``path`` loaded in a fresh, logged browser context."""
    context, log = open_context(browser, base_url, **kwargs)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(base_url + path)
    return context, log, page


@contextlib.contextmanager
def opened(browser, widget_site, name: str, language: str = "ja", **kwargs):
    """The widget's page (in ``language``), closed after; no console error, failed or outside request."""
    context, log, page = open_page(browser, widget_site[1], ("en/" if language == "en" else "") + WIDGETS[name].path,
                                   **kwargs)
    try:
        yield page
    finally:
        context.close()
    assert log.problems() == []


def page_fixtures(name: str):
    """``ja_page`` and ``en_page`` fixtures: the widget's page in each language, checked by ``opened``.

    Use as ``ja_page, en_page = widgets.page_fixtures("io-path")`` next to
    ``from tests.support.widgets import widget_site``.
    """

    @pytest.fixture
    def ja_page(browser, widget_site):
        with opened(browser, widget_site, name) as page:
            yield page

    @pytest.fixture
    def en_page(browser, widget_site):
        with opened(browser, widget_site, name, "en") as page:
            yield page

    return ja_page, en_page


# --- the hooks, without a build ------------------------------------------------------------


@pytest.fixture
def hooks(monkeypatch):
    """``hooks(name)``: the widget's hook module, loaded as MkDocs loads it and configured
    with the real docs/ (its data and strings read)."""
    monkeypatch.syspath_prepend(str(HOOKS))
    loaded = []

    def load(name: str, docs_dir: Path = site.ROOT / "docs"):
        module = importlib.import_module(WIDGETS[name].hook)
        loaded.append(module.__name__)
        module.on_config(FakeConfig(docs_dir))
        return module

    yield load
    for module in loaded:
        sys.modules.pop(module, None)


class FakeConfig:
    def __init__(self, docs_dir: Path):
        self.docs_dir = str(docs_dir)


class FakeFile:
    def __init__(self, locale):
        self.src_uri, self.locale = "x.md", locale


class FakePage:
    def __init__(self, locale, meta):
        self.file, self.meta = FakeFile(locale), meta


def broken_docs(tmp_path: Path, file: str, old: str, new: str) -> tuple[Path, str, Path]:
    """A copy of docs/_data and docs/labs under ``tmp_path`` with ``old`` replaced in ``file``
    (a path under docs/); returns (docs dir, the new text, the file's path)."""
    docs = tmp_path / "docs"
    for folder in ("_data", "labs"):
        shutil.copytree(site.ROOT / "docs" / folder, docs / folder)
    path = docs / file
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"the fixture expects {old!r} once in {file}"
    text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return docs, text, path


def config_error(hooks, name: str, tmp_path: Path, file: str, old: str, new: str) -> tuple[str, str, Path]:
    """Configure the widget's hook on a copy of docs/ whose ``file`` has ``old`` replaced; the build
    must stop. Returns (the error's message, the new text, the file's path)."""
    from mkdocs.exceptions import PluginError

    docs, text, path = broken_docs(tmp_path, file, old, new)
    with pytest.raises(PluginError) as error:
        hooks(name, docs)
    return str(error.value), text, path


def line_of(text: str, fragment: str) -> int:
    return text[: text.index(fragment)].count("\n") + 1


# --- texts ----------------------------------------------------------------------------------

JAPANESE = "[\u3040-\u30ff\u3400-\u9fff]"


def texts(node, language: str, path: str = ""):
    """Yield (path, text) for every ``language`` text in YAML data ({ja: …, en: …} anywhere)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == language and isinstance(value, str):
                yield path, value
            else:
                yield from texts(value, language, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from texts(item, language, f"{path}.{index}")


def style_problems(pairs) -> list[str]:
    """Japanese texts: half-width alphanumerics, no space between Japanese and alphanumerics."""
    problems = []
    for path, text in pairs:
        if re.search("[Ａ-Ｚａ-ｚ０-９]", text):
            problems.append(f"{path}: full-width alphanumerics")
        if re.search(f"{JAPANESE} [A-Za-z0-9]|[A-Za-z0-9] {JAPANESE}", text):
            problems.append(f"{path}: a space between Japanese and alphanumerics")
    return problems


def textlint(values: list[str], name: str) -> subprocess.CompletedProcess:
    """The project's textlint (make lint) on Japanese texts: sentences as paragraphs, labels
    (no 。) as list items, placeholders as X."""
    if shutil.which("npx") is None or not (site.ROOT / "node_modules" / ".bin" / "textlint").exists():
        pytest.fail("node tools are missing: run `npm ci` (make test does)")
    subprocess.run(["python3", "-m", "tests.tools.glossary_prh"], cwd=site.ROOT, check=True, capture_output=True)
    plain = [re.sub(r"\{(\w+)(?:\|[^}]*)?\}", "X", value) for value in values]
    body = "# 題\n\n" + "\n\n".join(v if v.endswith("。") else f"- {v}" for v in plain if v.strip()) + "\n"
    return subprocess.run(["npx", "--no-install", "textlint", "--stdin", "--stdin-filename", f"{name}.md"],
                          cwd=site.ROOT, input=body, capture_output=True, text=True)
