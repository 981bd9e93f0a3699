"""Check every external URL of the built site: ``make linkcheck`` (needs internet).

Collects the http(s) links of every built page that point outside the site (the
reference index links every reference's URL and archived copy), requests each
once (HEAD, then GET where a server refuses HEAD) and reports the dead ones with
the pages that link them. Exit status 1 if any is dead. CI has no internet, so
this is not part of `make test`; tests/test_linkcheck.py tests the checking and
the report against a local server.
"""

from __future__ import annotations

import re
import sys
import tempfile
import urllib.error
import urllib.request
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.support import site

LINK = re.compile(r'href="(https?://[^"#]+)[^"]*"')
TIMEOUT = 20
USER_AGENT = "kasouka-linkcheck/1 (+course site link checker)"


def external_links(site_dir: Path, base_url: str) -> dict[str, set[str]]:
    """URL -> the site paths that link to it."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in site.page_paths(site_dir):
        file = site_dir / path.lstrip("/")
        if file.is_dir() or not file.suffix:
            file = file / "index.html"
        for url in LINK.findall(file.read_text(encoding="utf-8")):
            url = url.replace("&amp;", "&")
            if not url.startswith(base_url):
                found[url].add(path)
    return found


def check(url: str) -> str | None:
    """None if the URL answers, else why it is dead."""
    for method in ("HEAD", "GET"):
        request = urllib.request.Request(url, method=method, headers={"User-Agent": USER_AGENT})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT):
                return None
        except urllib.error.HTTPError as error:
            if method == "HEAD" and error.code in (403, 405, 501):
                continue  # some servers refuse HEAD only
            return f"HTTP {error.code}"
        except (urllib.error.URLError, OSError) as error:
            return f"unreachable ({getattr(error, 'reason', error)})"
    return None


def check_all(urls, workers: int = 8) -> dict[str, str]:
    """URL -> problem, for the dead ones."""
    urls = sorted(urls)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = pool.map(check, urls)
    return {url: problem for url, problem in zip(urls, results) if problem}


def report(dead: dict[str, str], linked_from: dict[str, set[str]], total: int) -> str:
    lines = [f"{total} external URLs checked, {len(dead)} dead"]
    for url, problem in sorted(dead.items()):
        lines.append(f"DEAD {problem}: {url}")
        lines.extend(f"    linked from {page}" for page in sorted(linked_from.get(url, ())))
    return "\n".join(lines)


def main() -> int:
    base_url = "http://127.0.0.1:8000/"
    with tempfile.TemporaryDirectory() as tmp:
        site_dir = Path(tmp) / "site"
        site.build(site.ROOT / "mkdocs.yml", site_dir, site_url=base_url)
        links = external_links(site_dir, base_url)
    dead = check_all(links)
    print(report(dead, links, len(links)))
    return 1 if dead else 0


if __name__ == "__main__":
    sys.exit(main())
