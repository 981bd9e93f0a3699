"""The contract every widget keeps (CONTRIBUTING.md#widgets), for each widget in
tests/support/widgets.py's WIDGETS: a widget added there is held to all of it.

- The hook: the marker becomes one raw block outside code fences; the page lists the
  widget; the data in the page cannot close its <script>; the strings are complete in
  ja and en (same placeholders, every key the script and hook use, none unused), and
  bad strings stop the build with file and line.
- The page: it loads the kit, then the widget (a page without widgets loads neither);
  the built assets come without comments.
- In Chromium, with no console error, failed or outside request: without JavaScript the
  static part carries the content; with it, the app replaces it; Tab reaches every
  control, each with a visible focus, and each works from the keyboard; Back after Step
  restores the previous state and Reset the first; the widget fits 390 px without
  sideways scrolling; light and dark are axe-clean (the static part too); the English
  page speaks English only; an error shows in the widget, not the console.

Each widget's own module (tests/test_widget_<name>.py) checks only its model.
"""

from __future__ import annotations

import re

import pytest
import yaml

from tests.support import site, widgets
from tests.support.widgets import WIDGETS, FakePage, hooks, opened, widget_site  # noqa: F401 (fixtures)
from tests.test_accessibility import axe_violations

NAMES = list(WIDGETS)
JAPANESE = re.compile("[\u3040-\u30ff\u3400-\u9fff]")
KIT_JS = site.ROOT / "docs" / "assets" / "javascripts" / "widgets" / "_kit.js"
KIT_STRINGS = site.ROOT / "docs" / "_data" / "widget-kit.strings.yml"

# A snapshot of the widget's DOM: tags, attributes (sorted), classes (sorted), text, and
# what attributes do not show (a radio's checked, a field's value). Where the focus is
# (Material's focus-visible marks) is not the widget's state.
SNAPSHOT = """root => {
  const walk = node => {
    if (node.nodeType === 3) return node.textContent.trim();
    if (node.nodeType !== 1) return '';
    const attrs = Array.from(node.attributes).filter(a => !['class', 'data-focus-visible-added'].includes(a.name))
      .map(a => a.name + '=' + a.value).sort().join(' ');
    const classes = Array.from(node.classList).filter(c => c !== 'focus-visible').sort().join('.');
    const live = 'value' in node && node.tagName !== 'BUTTON' && node.tagName !== 'LI'
      ? ` value=${node.value} checked=${node.checked} disabled=${node.disabled}` : '';
    return `<${node.tagName} ${attrs} .${classes}${live}>` + Array.from(node.childNodes).map(walk).join('');
  };
  return walk(root);
}"""

FOCUS_VISIBLE = """el => {
  const shows = s => (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none';
  if (shows(getComputedStyle(el))) return true;
  const label = el.closest('label');
  return Boolean(label) && shows(getComputedStyle(label));
}"""

CONTROLS = "button, input, select, textarea, [tabindex]:not([tabindex='-1'])"


def root(page, name):
    return page.locator(f'[data-widget="{name}"]')


def snapshot(widget) -> str:
    return widget.evaluate(SNAPSHOT)


# --- the hook ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_hook_turns_the_marker_into_one_block_and_lists_the_widget(hooks, name):
    hook = hooks(name)
    page = FakePage("en", {"widgets": ["other-widget"]})
    marker = f"<!-- {name} -->"
    markdown = f"# T\n\n```markdown\n{marker}\n```\n\n{marker}\n\nEnd.\n"
    out = hook.on_page_markdown(markdown, page)
    assert page.meta["widgets"] == ["other-widget", name]
    assert out.count(f'data-widget="{name}"') == 1
    assert f"```markdown\n{marker}\n```" in out  # the one in code stays
    block = out[out.index(f'<div class="widget {name}"'):out.index("\nEnd.")].strip()
    assert f'id="{name}-1" lang="en"' in block and "data-static" in block
    assert block.endswith("</script>\n</div>") and '<script type="application/json" data-widget-data>' in block
    assert "\n\n" not in block  # one raw HTML block: Markdown leaves it alone
    assert '"lang":"en"' in block and '"kit.failed":' in block
    plain = FakePage("ja", {})
    assert hook.on_page_markdown("# T\n", plain) == "# T\n" and "widgets" not in plain.meta


@pytest.mark.parametrize("name", NAMES)
def test_data_in_the_page_cannot_close_the_script_tag(hooks, name):
    hook = hooks(name)
    payload = "</script><b>&</b>"
    for section in (hook.WIDGET.strings.page, hook.WIDGET.strings.script):
        for words in section.root.values():
            if not re.search(r"\{", words.ja):
                words.ja = payload + words.ja
    html = hook.on_page_markdown(f"<!-- {name} -->\n", FakePage("ja", {}))
    script = html.split("<script type=\"application/json\" data-widget-data>", 1)[1].split("</script>", 1)[0]
    assert "<" not in script and "&" not in script and "\\u003c/script\\u003e" in script
    static = html.split("data-static>", 1)[1].split("<script", 1)[0]
    assert "&lt;/script&gt;&lt;b&gt;&amp;&lt;/b&gt;" in static  # the static text is escaped too


def _keys_used(source: str, quote: str = '"') -> tuple[set[str], set[str]]:
    """Keys a script or hook names: string literals, and prefixes of keys it builds ("kind." + …)."""
    literals = set(re.findall(rf'{quote}([A-Za-z][\w.-]*){quote}', source))
    prefixes = set(re.findall(r'"([A-Za-z][\w-]*\.)"\s*\+', source)) | set(re.findall(r'f"([A-Za-z][\w-]*\.)\{', source))
    return literals, prefixes


@pytest.mark.parametrize("name", NAMES)
def test_strings_are_complete_in_ja_and_en(hooks, name):
    """Both languages with the same placeholders (the schema), every key that is used, none that is not.

    The strings are those the hook sends once configured (a hook may add some, as the
    bytecode VM's adds the lab's messages)."""
    widget = WIDGETS[name]
    strings = hooks(name).WIDGET.strings
    page, script = strings.page.root, strings.script.root
    for key, words in {**page, **script}.items():
        assert {m[1] for m in re.finditer(r"\{(\w+)", words.ja)} == {m[1] for m in re.finditer(r"\{(\w+)", words.en)}, key
    js = widget.script.read_text(encoding="utf-8")
    hook = (widgets.HOOKS / f"{widget.hook}.py").read_text(encoding="utf-8")
    js_literals, js_prefixes = _keys_used(js + KIT_JS.read_text(encoding="utf-8"))  # the kit uses "intro"
    py_literals, py_prefixes = _keys_used(hook)
    used = lambda key, literals, prefixes: key in literals or any(key.startswith(p) for p in prefixes)  # noqa: E731
    unused = [key for key in script if not used(key, js_literals, js_prefixes) and not used(key, py_literals, py_prefixes)]
    unused += [key for key in page if not used(key, py_literals, py_prefixes)]
    assert unused == [], f"strings no code uses: {unused}"
    asked = set(re.findall(r'\bt\(\s*"([\w.-]+)"\s*[,)]', js))  # every t("…") the script asks for exists
    assert asked - set(script) == set()
    asked = set(re.findall(r'strings\["([\w.-]+)"\]', hook))
    assert asked - set(page) - set(script) == set()
    for prefix in js_prefixes | py_prefixes:  # a key built from a prefix: some key has it
        assert any(key.startswith(prefix) for key in {**page, **script}), prefix


def test_japanese_strings_follow_the_style():
    """Every widget's Japanese strings (and the kit's): the course's style and its textlint."""
    pairs = []
    for path in sorted({w.strings for w in WIDGETS.values()} | {KIT_STRINGS}):
        pairs += [(f"{path.name}:{where}", text)
                  for where, text in widgets.texts(yaml.safe_load(path.read_text(encoding="utf-8")), "ja")]
    assert widgets.style_problems(pairs) == []
    result = widgets.textlint([text for _, text in pairs], "widget-strings")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", [n for n in NAMES if WIDGETS[n].data])
def test_the_data_follows_the_japanese_style(name):
    data = yaml.safe_load((site.ROOT / "docs" / "_data" / WIDGETS[name].data).read_text(encoding="utf-8"))
    assert widgets.style_problems(widgets.texts(data, "ja")) == []


@pytest.mark.parametrize("name", NAMES)
def test_bad_strings_stop_the_build_with_file_and_line(hooks, tmp_path, name):
    """A key without its English, and a placeholder only one language has."""
    added = '  broken: {ja: 文}\n  oops: {ja: "{n}個", en: "{m} of them"}\n'
    message, new, path = widgets.config_error(hooks, name, tmp_path, f"_data/{WIDGETS[name].strings.name}",
                                              "\nscript:\n", "\nscript:\n" + added)
    assert message.startswith(f"{hooks(name).WIDGET.label}: ")
    assert f"{path}:{widgets.line_of(new, '  broken:')}: script.broken.en: Field required" in message
    assert f"{path}:{widgets.line_of(new, '  oops:')}: script.oops: ja and en differ in placeholders" in message


# --- the page ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_the_page_loads_the_kit_then_the_widget(widget_site, name):
    site_dir = widget_site[0]
    html = (site_dir / f"{name}-widget" / "index.html").read_text(encoding="utf-8")
    order = [html.index(f"widgets/{part}") for part in ("_kit.css", f"{name}.css", "_kit.js", f"{name}.js")]
    assert order == sorted(order)
    assert html.count("widgets/_kit.js") == 1
    assert "<p>後ろの段落。</p>" in html  # the paragraph after the marker is still Markdown
    assert "widgets/" not in (site_dir / "index.html").read_text(encoding="utf-8")  # no widget, no kit
    for asset in (f"javascripts/widgets/{name}.js", "javascripts/widgets/_kit.js", f"stylesheets/widgets/{name}.css"):
        served = (site_dir / "assets" / asset).read_text(encoding="utf-8")
        assert not re.search(r"(?m)^\s*(/\*|//)", served), f"{asset} is served with its comments"


# --- in the browser ----------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_without_javascript_the_static_part_carries_the_content(browser, widget_site, name):
    with opened(browser, widget_site, name, java_script_enabled=False) as page:
        widget = root(page, name)
        static = widget.locator("[data-static]")
        assert static.is_visible()
        assert static.locator("table").count() >= 1 or len(static.inner_text()) > 200
        assert widget.locator("[data-action]").count() == 0 and widget.get_attribute("data-ready") is None


@pytest.mark.parametrize("name", NAMES)
def test_with_javascript_the_app_replaces_the_static_part(browser, widget_site, name):
    with opened(browser, widget_site, name) as page:
        widget = root(page, name)
        assert widget.get_attribute("data-ready") == ""
        assert not widget.locator("[data-static]").is_visible()
        assert widget.locator(".widget__failed").count() == 0


def _tab_stops(page, widget) -> list[dict]:
    """Tab from just before the widget until focus leaves it; each stop's control and focus ring."""
    widget.evaluate("r => { const b = document.createElement('button'); b.id = 'before-widget';"
                    " r.before(b); b.focus(); }")
    stops = []
    for number in range(300):
        page.keyboard.press("Tab")
        inside = widget.evaluate("r => r.contains(document.activeElement)")
        if not inside:
            break
        stops.append(page.evaluate(
            f"""n => {{ const el = document.activeElement; el.setAttribute('data-stop', n);
              return {{stop: n, tag: el.tagName, type: el.type || '', name: el.name || '',
                       visible: ({FOCUS_VISIBLE})(el)}}; }}""", number))
    return stops


@pytest.mark.parametrize("name", NAMES)
def test_keyboard_reaches_and_works_every_control_with_a_visible_focus(browser, widget_site, name):
    with opened(browser, widget_site, name) as page:
        widget = root(page, name)
        stops = _tab_stops(page, widget)
        assert stops, "Tab never reached the widget"
        assert [s for s in stops if not s["visible"]] == [], "focus must be visible"
        controls = widget.evaluate(
            f"""r => Array.from(r.querySelectorAll("{CONTROLS}")).filter(e => e.offsetParent !== null && !e.disabled)
              .map(e => ({{reached: e.hasAttribute('data-stop'), group: e.type === 'radio' ? e.name : null,
                          label: e.outerHTML.slice(0, 80)}}))""")
        groups = {c["group"] for c in controls if c["group"] and c["reached"]}
        missed = [c["label"] for c in controls if not c["reached"] and c["group"] not in groups]
        assert missed == [], "Tab must reach every control"
        # Each stop answers its key: Enter on a button, an arrow in a radio group or a select, typing.
        for stop in stops:
            control = widget.locator(f'[data-stop="{stop["stop"]}"]')
            if not control.is_visible() or stop["tag"] == "DIV":
                continue  # a scrolling region is reached, not pressed
            control.evaluate("""el => { window.__heard = false; const r = el.closest('[data-widget]');
              const hear = () => { window.__heard = true; };
              ['click', 'change', 'input'].forEach(t => r.addEventListener(t, hear, {once: true})); el.focus(); }""")
            if stop["tag"] == "BUTTON":
                page.keyboard.press("Enter")
            elif stop["type"] == "radio":
                page.keyboard.press("ArrowRight")
            elif stop["tag"] == "SELECT":
                last = control.evaluate("s => s.selectedIndex === s.options.length - 1")
                page.keyboard.press("ArrowUp" if last else "ArrowDown")
            elif stop["tag"] == "TEXTAREA":
                page.keyboard.press("End")
                page.keyboard.type(" ")
            assert page.evaluate("window.__heard"), f"{stop} did nothing from the keyboard"


@pytest.mark.parametrize("name", [n for n in NAMES if WIDGETS[n].stepper])
def test_back_after_step_restores_the_previous_state_and_reset_the_first(browser, widget_site, name):
    with opened(browser, widget_site, name) as page:
        widget = root(page, name)
        first = snapshot(widget)
        widgets.press(widget, "step")
        one = snapshot(widget)
        assert one != first and widget.get_attribute("data-position") == "1"
        widgets.press(widget, "step")
        widgets.press(widget, "back")
        assert snapshot(widget) == one
        widgets.press(widget, "back")
        assert snapshot(widget) == first
        widgets.press(widget, "step", 3)
        widgets.press(widget, "reset")
        assert snapshot(widget) == first
        # From the keyboard: Enter and Space step, Back undoes; a button with nothing to do
        # keeps the focus.
        widget.locator('[data-action="step"]').focus()
        page.keyboard.press("Enter")
        page.keyboard.press("Space")
        assert widget.get_attribute("data-position") == "2"
        widget.locator('[data-action="back"]').focus()
        page.keyboard.press("Enter")
        assert widget.get_attribute("data-position") == "1"
        assert snapshot(widget) == one
        widget.locator('[data-action="reset"]').focus()
        page.keyboard.press("Enter")
        assert widget.locator('[data-action="reset"]').get_attribute("aria-disabled") == "true"
        assert page.evaluate("document.activeElement.dataset.action") == "reset"


@pytest.mark.parametrize("javascript", [True, False], ids=["app", "static"])
@pytest.mark.parametrize("name", NAMES)
def test_fits_a_phone(browser, widget_site, name, javascript):
    width = 390
    with opened(browser, widget_site, name, viewport={"width": width, "height": 844},
                java_script_enabled=javascript) as page:
        widget = root(page, name)
        if javascript:
            WIDGETS[name].sample(widget)
        box = widget.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
        # Nothing inside is wider than the widget (a table's region scrolls by itself).
        overflow = widget.evaluate(
            "r => Math.max(...[r, ...r.querySelectorAll('*')].filter(e => e.offsetParent !== null"
            " && !(e.parentElement && e.parentElement.closest('[role=region]')))"
            ".map(e => e.getBoundingClientRect().right)) - r.getBoundingClientRect().right")
        assert overflow <= 0.5
        if javascript:  # without script, Material's own language menu is wider than a phone
            assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("name", NAMES)
def test_in_use_the_widget_is_axe_clean_in_light_and_dark(browser, widget_site, name, scheme):
    with opened(browser, widget_site, name, color_scheme=scheme) as page:
        widget = root(page, name)
        WIDGETS[name].sample(widget)
        text = widget.evaluate("r => getComputedStyle(r).color.match(/[\\d.]+/g).slice(0, 3).map(Number)")
        assert (sum(text) / 3 > 128) == (scheme == "dark"), f"{scheme}: text colour {text}"
        assert axe_violations(page) == []


@pytest.mark.parametrize("name", NAMES)
def test_the_static_part_is_axe_clean(browser, widget_site, name):
    with opened(browser, widget_site, name) as page:
        # axe needs script: show the static part and take the app away.
        root(page, name).evaluate("""r => { r.querySelector('script[data-widget-data]').previousElementSibling.remove();
          r.querySelector('[data-static]').hidden = false; }""")
        assert axe_violations(page) == []


@pytest.mark.parametrize("name", NAMES)
def test_the_english_page_speaks_english(browser, widget_site, name):
    with opened(browser, widget_site, name, "en") as page:
        widget = root(page, name)
        WIDGETS[name].sample(widget)
        assert widget.get_attribute("lang") == "en"
        assert JAPANESE.search(widget.inner_text()) is None
    with opened(browser, widget_site, name) as page:
        widget = root(page, name)
        WIDGETS[name].sample(widget)
        assert widget.get_attribute("lang") == "ja" and JAPANESE.search(widget.inner_text())


@pytest.mark.parametrize("name", NAMES)
def test_an_error_shows_in_the_widget_not_in_the_console(browser, widget_site, name):
    """A script that cannot start (here: its strings are gone) leaves the static part and says so."""
    context, log = widgets.open_context(browser, widget_site[1])
    page = context.new_page()
    # 'interactive' comes after parsing and before the deferred scripts run (HTML's "the end").
    page.add_init_script("""document.addEventListener('readystatechange', () => {
      if (document.readyState !== 'interactive') return;
      document.querySelectorAll('script[data-widget-data]').forEach(s => {
        const data = JSON.parse(s.textContent);
        data.strings = {'kit.failed': data.strings['kit.failed']};
        s.textContent = JSON.stringify(data); }); });""")
    page.goto(widget_site[1] + WIDGETS[name].path)
    widget = root(page, name)
    failed = widget.locator(".widget__failed")
    assert failed.get_attribute("role") == "alert"
    assert "このウィジェットでエラーが起きました" in failed.inner_text() and "no string" in failed.inner_text()
    assert widget.locator("[data-static]").is_visible() and widget.get_attribute("data-ready") is None
    context.close()
    assert log.problems() == []
