"""Screenshots of every page for a human to look at: ``make screenshots``.

Light and dark palette (the reader's OS preference, which Material follows on a
first visit), desktop and phone width, every page in both languages. Written to
``screenshots/`` (not committed). Pass paths to limit it, and ``--top`` to take
only the first screen of each page (easier to read at full resolution):
``python -m tests.tools.screenshots --top / /en/``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tests.support import site
from tests.support.chromium import LAUNCH_ARGS, find_chromium

OUT = site.ROOT / "screenshots"
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
SCHEMES = ("light", "dark")


def main(argv: list[str]) -> int:
    from playwright.sync_api import sync_playwright

    full_page = "--top" not in argv
    argv = [arg for arg in argv if arg != "--top"]
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        site_dir = Path(tmp) / "site"
        with site.serve(site_dir) as base_url, sync_playwright() as p:
            site.build(site.ROOT / "mkdocs.yml", site_dir, site_url=base_url)
            paths = argv or site.page_paths(site_dir)
            browser = p.chromium.launch(executable_path=find_chromium(), args=LAUNCH_ARGS)
            for scheme in SCHEMES:
                for name, viewport in VIEWPORTS.items():
                    context = browser.new_context(viewport=viewport, color_scheme=scheme)
                    page = context.new_page()
                    for path in paths:
                        page.goto(base_url + path.lstrip("/"), wait_until="networkidle")
                        slug = path.strip("/").replace("/", "_").replace(".html", "").replace("#", "--") or "home"
                        target = OUT / f"{slug}-{name}-{scheme}.png"
                        page.screenshot(path=str(target), full_page=full_page)
                        print(target.relative_to(site.ROOT))
                    context.close()
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
