"""The offline package (``make offline``): the site opened from disk, with no network.

Material's offline plugin (enabled with OFFLINE=true) switches to ``.html`` URLs
and inlines the search index into ``search/search_index.js``; on ``file://``
search runs in an iframe that stands in for a Web Worker, and the plugin would load
that shim (iframe-worker) from a CDN. This hook serves it from the site instead:
the npm package's own file (package.json pins it) is copied into the build, so
nothing is vendored into the repository and no request leaves the disk.

With mkdocs-static-i18n the plugin's inlined index is wrong: it is written after
each language's build, before the i18n plugin merges both languages into
search_index.json, so it held only the last language's pages. The hook writes it
again from the merged index, last of all.
"""

from __future__ import annotations

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
    """Copy the shim into the built site; inline the merged search index."""
    if not _offline(config):
        return
    site_dir = Path(config.site_dir)
    target = site_dir / SHIM_TARGET
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SHIM_SOURCE, target)
    index = site_dir / "search" / "search_index.json"
    if index.exists():
        (site_dir / "search" / "search_index.js").write_text(
            "var __index = " + index.read_text(encoding="utf-8"), encoding="utf-8"
        )
