"""The build log lists the pages that exist in Japanese only (English shows the fallback).

The parity checker (tests/test_parity.py) holds the pages that exist in both
languages in step; this keeps the untranslated ones visible to the maintainers.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.plugins import get_plugin_logger

log = get_plugin_logger("translation")
_reported = False


def on_config(config):
    """Log the Japanese-only pages once per build."""
    global _reported
    if _reported:
        return config
    _reported = True
    docs = Path(config.docs_dir)
    missing = sorted(
        page.relative_to(docs).as_posix()
        for page in docs.rglob("*.md")
        if not page.name.endswith(".en.md")
        and not page.relative_to(docs).as_posix().startswith(("drafts/", "_data/"))
        and not page.with_name(page.name.removesuffix(".md") + ".en.md").exists()
    )
    if missing:
        log.info("%d pages exist in Japanese only (English shows the fallback): %s", len(missing), ", ".join(missing))
    return config
