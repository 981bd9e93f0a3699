"""The offline package (``make offline``): the site opened from disk, with no network.

Material's offline plugin (enabled with OFFLINE=true) switches to ``.html`` URLs
and inlines the search index into ``search/search_index.js``; on ``file://``
search runs in an iframe that stands in for a Web Worker, and the plugin would load
that shim (iframe-worker) from a CDN. This hook serves it from the site instead:
the npm package's own file (package.json pins it) is copied into the build, so
nothing is vendored into the repository and no request leaves the disk.

The plugin's inlined index is also wrong here: it is written from one language's
build, and pages of both languages load the same ``search/search_index.js``. The
hook writes it again, last of all, from the per-language indexes of search_index.py:
it holds every language's index and sets ``__index`` to the one of the page's
``<html lang>``. From disk the size does not matter; over the network each page
fetches only its own language's JSON (docs/assets/javascripts/search.js).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority

SHIM_SOURCE = Path(__file__).resolve().parents[2] / "node_modules" / "iframe-worker" / "shim" / "index.js"
SHIM_TARGET = "assets/javascripts/iframe-worker-shim.js"


def _offline(config) -> bool:
    plugin = config.plugins.get("material/offline") or config.plugins.get("offline")
    return bool(plugin and plugin.config.enabled)


def on_config(config):
    """Replace the CDN shim with the site's own copy."""
    if not _offline(config):
        return config
    if not SHIM_SOURCE.exists():
        raise PluginError(f"offline package: {SHIM_SOURCE} is missing; run `npm ci` (make offline does)")
    polyfills = [url for url in config.extra.get("polyfills", []) if "iframe-worker" not in url]
    config.extra["polyfills"] = polyfills + [SHIM_TARGET]
    return config


@event_priority(-110)  # after the offline plugin and the i18n merge (both -100)
def on_post_build(config, **kwargs):
    """Copy the shim into the built site; inline the search indexes."""
    if not _offline(config):
        return
    site_dir = Path(config.site_dir)
    target = site_dir / SHIM_TARGET
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SHIM_SOURCE, target)
    indexes = {"": site_dir / "search" / "search_index.json"}
    indexes.update({path.parents[1].name: path for path in site_dir.glob("*/search/search_index.json")})
    indexes = {language: path for language, path in indexes.items() if path.exists()}
    if "" not in indexes:
        return
    default = indexes.pop("")
    parts = [f"{json.dumps(language)}: {path.read_text(encoding='utf-8')}"
             for language, path in sorted(indexes.items())]
    (site_dir / "search" / "search_index.js").write_text(
        "var __index = (function (byLanguage, fallback) {\n"
        "  return byLanguage[document.documentElement.lang] || fallback;\n"
        f"}})({{{', '.join(parts)}}}, {default.read_text(encoding='utf-8')});\n",
        encoding="utf-8",
    )
