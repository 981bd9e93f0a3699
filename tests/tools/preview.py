"""Build the site with pages that are not in the nav yet, and screenshot them.

``python -m tests.tools.preview docs/history.md [more pages]`` copies the project to
a temporary folder, adds the pages to the nav, runs the strict build (printing its
errors) and takes screenshots of each page (light/dark, desktop/phone) into
``screenshots/preview-*.png``. For authors drafting a chapter before it is added
to mkdocs.yml; nothing in the project changes. A draft kept under ``docs/drafts/``
(which the published build excludes) is previewed at its final place:
``docs/drafts/labs/kvm-paging.md`` as ``labs/kvm-paging.md``.

Other drafts (pages in docs/ that are neither in the nav nor named here) are left
out of the copy. Data a draft adds before it is merged can be given as
``--data FILE`` (repeatable): a YAML list of references (``…references….yml``) or
glossary terms (``…glossary….yml``), appended to the copy's data file.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tests.support import site
from tests.support.chromium import LAUNCH_ARGS, find_chromium
from tests.test_build import make_project
from tests.tools.screenshots import OUT, SCHEMES, VIEWPORTS


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    extra_data = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--data"]
    argv = [arg for i, arg in enumerate(argv) if arg != "--data" and (i == 0 or argv[i - 1] != "--data")]
    pages = {}
    for name in argv:
        path = (site.ROOT / name).resolve()
        name = path.relative_to(site.ROOT / "docs").as_posix().removeprefix("drafts/")
        pages[name] = path.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        in_nav = (site.ROOT / "mkdocs.yml").read_text(encoding="utf-8")
        new = {name: text for name, text in pages.items() if f" {name}\n" not in in_nav}
        config = make_project(tmp, new)
        for name, text in pages.items():
            (tmp / "docs" / name).write_text(text, encoding="utf-8")
        nav_text = config.read_text(encoding="utf-8")
        for draft in (tmp / "docs").rglob("*.md"):
            name = draft.relative_to(tmp / "docs").as_posix()
            base = name.replace(".en.md", ".md")
            if name not in pages and f" {base}\n" not in nav_text and f" {base}" not in nav_text:
                draft.unlink()
        for extra in extra_data:
            kind = "references" if "reference" in Path(extra).name else "glossary"
            target = tmp / "docs" / "_data" / f"{kind}.yml"
            target.write_text(target.read_text(encoding="utf-8") + "\n" + Path(extra).read_text(encoding="utf-8"))
        with site.serve(tmp / "site") as base_url:
            result = site.build(config, tmp / "site", site_url=base_url, check=False)
            problems = [line for line in result.stderr.splitlines() if "WARNING" in line or "ERROR" in line]
            print("\n".join(problems) or "strict build: OK")
            if result.returncode != 0:
                return 1
            from playwright.sync_api import sync_playwright

            OUT.mkdir(exist_ok=True)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=find_chromium(), args=LAUNCH_ARGS)
                for scheme in SCHEMES:
                    for view, viewport in VIEWPORTS.items():
                        context = browser.new_context(viewport=viewport, color_scheme=scheme)
                        page = context.new_page()
                        errors = []
                        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
                        page.on("pageerror", lambda e: errors.append(str(e)))
                        for name in pages:
                            slug = name.removesuffix(".md").removesuffix(".en").removesuffix("/index")
                            prefix = "en/" if name.endswith(".en.md") else ""
                            page.goto(f"{base_url}{prefix}{slug}/", wait_until="networkidle")
                            target = OUT / f"preview-{prefix.replace('/', '_')}{slug.replace('/', '_')}-{view}-{scheme}.png"
                            page.screenshot(path=str(target), full_page=True)
                            print(target.relative_to(site.ROOT))
                        for error in errors:
                            print(f"browser error: {error}")
                        context.close()
                browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
