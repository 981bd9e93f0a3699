"""Find the Chromium that the browser tests and `make bench` drive.

Order: the CHROMIUM environment variable, then Debian's ``chromium`` package,
then Playwright's own download (only where the machine has internet; `make test`
fetches it with ``--ensure`` when nothing else is there). In CI (``CI=true``) a
missing Chromium is an error, never a skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

# Flags for a closed network and for running as root in a container: without the
# background-networking ones Chromium keeps trying (and failing) to reach Google.
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-features=Translate,OptimizationHints,MediaRouter",
]


def find_chromium() -> str | None:
    """Return the path of a Chromium executable, or None if there is none."""
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return _playwright_chromium()


def _playwright_chromium() -> str | None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    with sync_playwright() as p:
        path = p.chromium.executable_path
    return path if path and Path(path).exists() else None


def main() -> int:
    """``python -m tests.support.chromium --ensure``: print the path, fetch if allowed."""
    path = find_chromium()
    if path:
        print(path)
        return 0
    if os.environ.get("CI") == "true":
        print(
            "error: no Chromium found. CI must install Debian's `chromium` package "
            "(see .ci/run) or set CHROMIUM=/path/to/chromium.",
            file=sys.stderr,
        )
        return 1
    if "--ensure" in sys.argv:
        print("no Chromium found; fetching Playwright's own build", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "playwright", "install", "chromium"], check=False)
        path = find_chromium()
        if path:
            print(path)
            return 0
    print(
        "error: no Chromium found. Install one (Debian: `apt-get install chromium`) "
        "or set CHROMIUM=/path/to/chromium.",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
