"""What every widget hook shares (not a hook itself: the leading underscore).

- ``expand_marker``: replace each ``<!-- name -->`` line outside code fences with the
  widget's HTML (one raw block), and list the widget in ``page.meta["widgets"]`` so
  that overrides/main.html loads its CSS and JS on that page only.
- ``script_json``: data for the widget's script, safe inside ``<script>``.
"""

from __future__ import annotations

import json
import re
from typing import Callable

FENCE = re.compile(r"^\s*(`{3,}|~{3,})")


def expand_marker(markdown: str, page, name: str, render: Callable[[str, str], str]) -> str:
    """Replace the widget's marker lines; ``render(language, uid)`` returns the HTML."""
    marker = f"<!-- {name} -->"
    if marker not in markdown:
        return markdown
    language = getattr(page.file, "locale", None) or "ja"
    lines = markdown.split("\n")
    fence = None
    count = 0
    for number, line in enumerate(lines):
        opening = FENCE.match(line)
        if fence:
            fence = None if opening and opening[1].startswith(fence) else fence
            continue
        if opening:
            fence = opening[1]
            continue
        if line.rstrip() == marker:
            count += 1
            lines[number] = "\n" + render(language, f"{name}-{count}") + "\n"
    if count:
        widgets = page.meta.setdefault("widgets", [])
        if name not in widgets:
            widgets.append(name)
    return "\n".join(lines)


def script_json(data: dict) -> str:
    """JSON that is safe inside <script>: no '<', '>' or '&' that HTML could read."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
