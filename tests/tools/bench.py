"""Page weight and load time of every page, against a default Material site.

``python -m tests.tools.bench [--json PATH]`` (``make bench``) builds the site
with ``--strict`` and a plain Material site as a baseline, serves both on
127.0.0.1 and opens every page in headless Chromium as a first visit (a fresh
context, so nothing is cached). For each page it prints the number of
requests, the bytes of every same-origin response as sent by this server and
as a gzip server would send them, DOMContentLoaded, and the requests that left
the origin (blocked: the site must work offline, and the bench must not wait
on a network it does not have). Pages over 1.25x the baseline's weight get the
assets behind it and why; pages over 1.25x its DOMContentLoaded get the slowest
one traced once more, its main-thread work until then by kind next to the
baseline's. Build times come next, then Lighthouse scores
(performance, accessibility, best practices, SEO) for one page of each type in
both languages, next to the default Material page, measured by the same Chromium
in the same run, in rounds (every page once, then again), so that a slow stretch
of the machine weighs on the baseline as much as on the pages (Lighthouse is
installed by `make bench` in tests/tools/lighthouse). Under the table, the share of
those runs' time during which some task waited for a CPU (Linux's /proc/pressure/cpu):
on a shared machine, other work lowers every score, and this shows how much of it there was.
Both sites are served with gzip, as any static host serves them, so Lighthouse's
simulated slow network sees the bytes a reader downloads.
Last, a reader's first search on each language's home page: the bytes fetched once
the search box has focus, and the time from the first key to the first result.

Why: readers may be on slow or metered connections, so the course has a
budget per first visit — at most 160 KiB gzip for a page without a diagram,
and never more than 1.2 MiB. Over-budget pages are reported, not failed: the
exit status stays 0 so the bench can be run at any time.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from tests.support import site
from tests.support.chromium import LAUNCH_ARGS, find_chromium

KIB = 1024
BUDGET_PLAIN = 160 * KIB  # gzip bytes, first visit, page without a diagram
BUDGET_ANY = int(1.2 * 1024 * KIB)  # gzip bytes, any page
# gzip would not shrink these, and servers do not compress them.
COMPRESSED_SUFFIXES = (
    ".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif", ".ico",
    ".woff", ".woff2", ".gz", ".br", ".zip",
)

BASELINE_CONFIG = "site_name: Baseline\ntheme:\n  name: material\n"
BASELINE_PAGE = """# Baseline

Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor
incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis
nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat.

Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu
fugiat nulla pariatur. Excepteur sint occaecat cupidatat non proident, sunt in
culpa qui officia deserunt mollit anim id est laborum.

Sed ut perspiciatis unde omnis iste natus error sit voluptatem accusantium
doloremque laudantium, totam rem aperiam, eaque ipsa quae ab illo inventore
veritatis et quasi architecto beatae vitae dicta sunt explicabo.
"""


def gzip_size(url: str, body: bytes) -> int:
    """Bytes a server with gzip (level 6, a common default) would send."""
    if urlsplit(url).path.lower().endswith(COMPRESSED_SUFFIXES):
        return len(body)
    return len(gzip.compress(body, compresslevel=6, mtime=0))


def asset_name(response_url: str, page_url: str) -> str:
    """'page' for the page itself, else the file name without Material's content hash."""
    if response_url == page_url:
        return "page"
    name = urlsplit(response_url).path.rsplit("/", 1)[-1]
    return re.sub(r"\.[0-9a-f]{8}(?=\.min\.)", "", name)


# Why a page may weigh more than the one-paragraph baseline: what each of the course's
# own assets brings the reader. The bench names the assets behind any page over the bound.
WORTH = {
    "page": "the chapter itself: text, figures' markup, quiz, glossary cards, a widget's no-JS table",
    "search.js": "search that understands Japanese queries; the index loads only on first use",
    "record.js": "the reader's progress, kept across visits",
    "quiz.js": "the chapter's quiz",
    "glossary-card.js": "the glossary card on a term's first use",
    "figure-zoom.js": "a figure opens at full size when tapped",
    "code-focus.js": "keyboard focus stays on a code listing as Material sets it up",
    "references.js": "filtering the reference list by kind and language",
    "progress.js": "the reader's progress page: every chapter's state, export and import",
    "extra.css": "the course's styles (quiz, boxes, figures, tables, contrast fixes)",
    "_kit.js": "the shared part of the simulators",
    "_kit.css": "the shared part of the simulators",
    "palette.min.css": "Material's light and dark schemes (the baseline has no palette)",
}
WEIGHT_BOUND = 1.25  # times the baseline's first-visit gzip bytes and DCL


def measure(browser, url: str, base_url: str) -> dict:
    """Open ``url`` as a first visit and return what it cost.

    Keys: url, requests, raw_bytes, gzip_bytes, dcl_ms, outside (list of
    blocked URLs), diagram (the page HTML has ``class="mermaid"``).
    """
    # A fresh context per page: an empty cache, as for a reader's first visit.
    context = browser.new_context()
    outside: list[str] = []
    requests: list[str] = []
    sizes = {"raw": 0, "gzip": 0}
    assets: dict[str, int] = {}
    html = {"text": ""}

    def route(route):
        request_url = route.request.url
        if request_url.startswith(base_url) or request_url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            outside.append(request_url)
            route.abort()

    def on_response(response):
        if not response.url.startswith(base_url):
            return
        try:
            body = response.body()
        except Exception:  # redirects and cancelled loads have no body
            return
        compressed = gzip_size(response.url, body)
        sizes["raw"] += len(body)
        sizes["gzip"] += compressed
        name = asset_name(response.url, url)
        assets[name] = assets.get(name, 0) + compressed
        if response.request.resource_type == "document" and response.url == url:
            html["text"] = body.decode("utf-8", "replace")

    context.route("**/*", route)
    try:
        page = context.new_page()
        page.on("request", lambda r: requests.append(r.url))
        page.on("response", on_response)
        page.goto(url, wait_until="networkidle", timeout=30_000)
        dcl = page.evaluate(
            "performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd"
        )
    finally:
        context.close()
    return {
        "url": url,
        "requests": len(requests),
        "raw_bytes": sizes["raw"],
        "gzip_bytes": sizes["gzip"],
        "dcl_ms": round(dcl, 1),
        "assets": assets,
        "outside": outside,
        "diagram": 'class="mermaid"' in html["text"],
    }


LIGHTHOUSE = site.ROOT / "tests" / "tools" / "lighthouse" / "node_modules" / ".bin" / "lighthouse"
LIGHTHOUSE_CATEGORIES = ["performance", "accessibility", "best-practices", "seo"]
# One page of each type (the first that exists), each in both languages.
LIGHTHOUSE_TYPES = {
    "home": ["/"],
    "chapter": ["/virtualization/", "/history/"],
    "chapter with a widget": ["/taxonomy/", "/memory/"],
    "lab": ["/labs/kvm-hello/"],
    "glossary": ["/glossary/"],
    "references": ["/references/"],
    "progress": ["/progress/"],
}


# Why a page's DOMContentLoaded may take longer than the baseline's: what the main
# thread does until then, and what brings it. The bench traces the slowest page.
DCL_WHY = {
    "layout": "placing text and boxes as the HTML arrives (Japanese text takes about twice "
              "as long as the same page in English)",
    "style": "matching Material's and the course's rules to every element",
    "paint": "drawing what is on screen",
    "HTML parsing": "the page's own markup",
    "bundle.min.js": "Material's script: it reads the layout as it starts, so the page's style "
                     "and layout so far are computed inside it",
    "DOMContentLoaded handlers": "Material's start-up: it visits every link, table and code block",
}
TRACE_CATEGORIES = ["devtools.timeline", "loading", "blink.user_timing"]
# Main-thread work as the trace names it. Work inside a script (a forced layout) is the
# script's time; work inside anything else (a script run while parsing) is its own.
TRACE_KINDS = {
    "ParseHTML": "HTML parsing", "Layout": "layout", "UpdateLayoutTree": "style",
    "ParseAuthorStyleSheet": "style", "Paint": "paint", "PrePaint": "paint", "Layerize": "paint",
}


def main_thread_until_dcl(events: list[dict], url: str) -> dict[str, float]:
    """Milliseconds of main-thread work by kind, from the navigation to ``url`` until its
    DOMContentLoaded handlers have run, from a Chromium trace's events."""
    navigation = next(e for e in events if e["name"] == "navigationStart"
                      and e.get("args", {}).get("data", {}).get("documentLoaderURL") == url)
    frame, thread = navigation["args"]["frame"], (navigation["pid"], navigation["tid"])
    end = max(e["ts"] for e in events if e["name"] == "domContentLoadedEventEnd"
              and e.get("args", {}).get("frame") == frame)
    work = sorted((e for e in events if e.get("ph") == "X" and (e["pid"], e["tid"]) == thread
                   and navigation["ts"] <= e["ts"] < end and _kind(e)),
                  key=lambda e: (e["ts"], -e.get("dur", 0)))
    totals: dict[str, float] = {}
    open_events: list[tuple[int, str, bool]] = []  # (end, kind, is a script) of the enclosing events
    for event in work:
        while open_events and open_events[-1][0] <= event["ts"]:
            open_events.pop()
        if any(script for _, _, script in open_events):
            continue
        kind, ms = _kind(event), event.get("dur", 0) / 1000
        totals[kind] = totals.get(kind, 0) + ms
        if open_events:
            parent = open_events[-1][1]
            totals[parent] -= ms
        script = event["name"] == "EvaluateScript" or kind == "DOMContentLoaded handlers"
        open_events.append((event["ts"] + event.get("dur", 0), kind, script))
    return totals


def _kind(event: dict) -> str | None:
    data = event.get("args", {}).get("data", {}) or {}
    if event["name"] == "EvaluateScript":
        return asset_name(data["url"], "") if data.get("url") else "inline scripts"
    if event["name"] == "EventDispatch" and data.get("type") == "DOMContentLoaded":
        return "DOMContentLoaded handlers"
    return TRACE_KINDS.get(event["name"])


def trace_until_dcl(browser, url: str) -> tuple[float, dict[str, float]]:
    """One more first visit of ``url``, traced: (its DOMContentLoaded in ms, the work by kind)."""
    context = browser.new_context()
    try:
        page = context.new_page()
        browser.start_tracing(page=page, categories=TRACE_CATEGORIES)
        try:
            page.goto(url, wait_until="load", timeout=30_000)
            dcl = page.evaluate("performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd")
        finally:
            events = json.loads(browser.stop_tracing())["traceEvents"]
    finally:
        context.close()
    return dcl, main_thread_until_dcl(events, url)


def lighthouse(url: str, chromium: str) -> dict[str, int]:
    """One Lighthouse run: the four scores (0–100), or {"error": [...]}."""
    flags = " ".join(["--headless=new", *LAUNCH_ARGS])
    with tempfile.NamedTemporaryFile(suffix=".json") as report:
        done = subprocess.run(
            [str(LIGHTHOUSE), url, f"--chrome-path={chromium}", f"--chrome-flags={flags}",
             f"--only-categories={','.join(LIGHTHOUSE_CATEGORIES)}", "--output=json",
             f"--output-path={report.name}", "--quiet"],
            capture_output=True, text=True, check=False,
        )
        if done.returncode != 0:
            return {"error": done.stderr.strip().splitlines()[-1:] or ["failed"]}
        categories = json.loads(Path(report.name).read_text(encoding="utf-8"))["categories"]
    return {name: round(categories[name]["score"] * 100) for name in LIGHTHOUSE_CATEGORIES}


def lighthouse_rounds(targets: list[tuple[str, str]], runs: int, run_once) -> list[tuple[str, dict]]:
    """The median of ``runs`` runs per target, run in rounds (every target once, then
    again): a slow stretch of a small shared machine then lowers every page and the
    baseline alike, instead of only the pages measured during it. A target whose run
    fails is not run again."""
    results: dict[str, list[dict]] = {name: [] for name, _ in targets}
    failed: dict[str, dict] = {}
    for _ in range(runs):
        for name, url in targets:
            if name not in failed:
                scores = run_once(url)
                if "error" in scores:
                    failed[name] = scores
                else:
                    results[name].append(scores)
    rows = []
    for name, _ in targets:
        if name in failed:
            rows.append((name, failed[name]))
            continue
        runs_of = results[name]
        median = {category: round(statistics.median(run[category] for run in runs_of)) for category in LIGHTHOUSE_CATEGORIES}
        median["performance_runs"] = [run["performance"] for run in runs_of]
        rows.append((name, median))
    return rows


PRESSURE = Path("/proc/pressure/cpu")


def cpu_pressure() -> tuple[float, int] | None:
    """(seconds, microseconds some task has waited for a CPU since boot), from Linux's
    pressure stall information; None where the kernel does not offer it."""
    try:
        found = re.search(r"^some .*\btotal=(\d+)", PRESSURE.read_text(encoding="ascii"), re.M)
    except OSError:
        return None
    return (time.monotonic(), int(found[1])) if found else None


def waiting_share(before: tuple[float, int] | None, after: tuple[float, int] | None) -> float | None:
    """Share of the wall time between two readings during which some task waited for a CPU."""
    if before is None or after is None or after[0] <= before[0]:
        return None
    return (after[1] - before[1]) / 1e6 / (after[0] - before[0])


def print_lighthouse(rows: list[tuple[str, dict | None]], runs: int, waiting: float | None = None) -> None:
    print()
    if all(scores is None for _, scores in rows):
        print("lighthouse: not installed (make bench installs it with npm ci in tests/tools/lighthouse)")
        return
    print(f"{'lighthouse (median of ' + str(runs) + ')':<40} "
          + " ".join(f"{name[:13]:>14}" for name in LIGHTHOUSE_CATEGORIES) + "  performance runs")
    baseline = rows[0][1] or {}
    for path, scores in rows:
        if scores and "error" not in scores:
            below = "  < baseline" if scores["performance"] < baseline.get("performance", 0) else ""
            low = "  < 95" if scores["performance"] < 95 else ""
            print(f"{path:<40} " + " ".join(f"{scores[name]:>14}" for name in LIGHTHOUSE_CATEGORIES)
                  + f"  {scores['performance_runs']}{below}{low}")
        else:
            print(f"{path:<40} failed: {scores.get('error') if scores else 'not run'}")
    print("aim: performance >= 95 and >= the baseline's, the other three 100")
    if waiting is not None:
        # Lighthouse multiplies the CPU time it sees by 4 to play a slow phone: time spent
        # waiting for a CPU taken by other work counts as the page's own work.
        print(f"cpu: some task waited for a CPU during {waiting:.0%} of the Lighthouse runs "
              "(/proc/pressure/cpu, Lighthouse's own Chromium included); the more, the lower "
              "the scores: compare runs where it was alike")


def over_budget(result: dict) -> str | None:
    """Why the page breaks the budget, or None."""
    size = result["gzip_bytes"]
    if size > BUDGET_ANY:
        return f"{size / KIB:.1f} KiB gzip > {BUDGET_ANY / KIB:.0f} KiB for any page"
    if not result["diagram"] and size > BUDGET_PLAIN:
        return f"{size / KIB:.1f} KiB gzip > {BUDGET_PLAIN / KIB:.0f} KiB for a page without a diagram"
    return None


def timed_build(config_file: Path, site_dir: Path, base_url: str) -> float:
    start = time.perf_counter()
    done = site.build(config_file, site_dir, site_url=base_url, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"error: build of {config_file} failed:\n{done.stdout}{done.stderr}")
    return seconds


def why(asset: str) -> str:
    """What one of the course's assets brings the reader."""
    widgets = site.ROOT / "docs" / "assets" / "javascripts" / "widgets"
    return WORTH.get(asset) or ("a figure of this page" if asset.endswith(".svg")
                                else "this page's simulator" if (widgets / Path(asset).with_suffix(".js").name).exists()
                                else "")


def print_dcl(traces: dict) -> None:
    """What the slowest page's main thread does until DOMContentLoaded, next to the baseline's."""
    path, dcl, work = traces["page"]
    baseline_dcl, baseline_work = traces["baseline"]
    print(f"\nDOMContentLoaded over {WEIGHT_BOUND}x the baseline's ({traces['count']} pages): the main thread "
          f"until then on the slowest, traced once more ({path} {dcl:.0f} ms, baseline {baseline_dcl:.0f} ms), and why")
    print(f"  {'work':<28} {'ms':>6} {'baseline':>9}")
    for kind, ms in sorted(work.items(), key=lambda item: -item[1]):
        if ms >= 1:
            print(f"  {kind:<28} {ms:>6.0f} {baseline_work.get(kind, 0):>9.0f}  {DCL_WHY.get(kind) or why(kind)}")


def print_table(pages: list[dict], baseline: dict, build_s: float, baseline_build_s: float) -> None:
    header = (f"{'page':<40} {'req':>4} {'raw KiB':>8} {'gzip KiB':>9} {'x base':>6} {'DCL ms':>7} "
              f"{'x base':>6} {'outside':>7}")
    print(header)
    print("-" * len(header))
    for row in pages + [baseline]:
        mark = "  !" if row.get("over_budget") else ""
        weight = row["gzip_bytes"] / baseline["gzip_bytes"]
        dcl = row["dcl_ms"] / baseline["dcl_ms"] if baseline["dcl_ms"] else 0
        print(
            f"{row['path']:<40} {row['requests']:>4} {row['raw_bytes'] / KIB:>8.1f} "
            f"{row['gzip_bytes'] / KIB:>9.1f} {weight:>6.2f} {row['dcl_ms']:>7.0f} {dcl:>6.2f} "
            f"{len(row['outside']):>7}{mark}"
        )
    heavy = [row for row in pages if row["gzip_bytes"] > WEIGHT_BOUND * baseline["gzip_bytes"]]
    if heavy:
        print(f"\nover {WEIGHT_BOUND}x the baseline's weight ({len(heavy)} pages): what the course adds, "
              "gzip KiB on the heaviest of them, and why")
        worst = max(heavy, key=lambda row: row["gzip_bytes"])
        added = {name: size for name, size in worst["assets"].items() if name not in baseline["assets"] or name == "page"}
        for name, size in sorted(added.items(), key=lambda item: -item[1]):
            print(f"  {name:<28} {size / KIB:>6.1f}  {why(name)}")
    print()
    print(f"build (strict): site {build_s:.2f} s, baseline {baseline_build_s:.2f} s")
    print(
        f"budget (gzip, first visit): {BUDGET_PLAIN / KIB:.0f} KiB without a diagram, "
        f"{BUDGET_ANY / KIB:.0f} KiB any page; ! marks a page over it"
    )
    for row in pages:
        if row.get("over_budget"):
            print(f"OVER BUDGET: {row['path']}: {row['over_budget']}")


# --- search: what a reader's first search costs -------------------------------------

# Queries a reader types on each language's home page; the second is question style.
SEARCH_QUERIES = [("/", "ハイパーバイザーとは"), ("/", "KVM"), ("/en/", "hypervisor")]
# The same measurement at commit 1af8665, before issue 18, on this machine: one
# index of both languages (Material's \\u-escaped JSON) for every first search.
# (gzip KiB, ms from the first key to the first result or None, results shown)
SEARCH_BEFORE = {
    ("/", "ハイパーバイザーとは"): (382.3, None, 0),
    ("/", "KVM"): (382.3, 4950, 10),
    ("/en/", "hypervisor"): (382.3, 3139, 10),
}
SEARCH_TIMING = """
window.kasoukaBench = {typed: null, shown: null};
const mark = () => { if (window.kasoukaBench.typed === null) window.kasoukaBench.typed = performance.now(); };
document.addEventListener("keydown", mark, true);
document.addEventListener("input", mark, true);
new MutationObserver(() => {
  const meta = document.querySelector(".md-search-result__meta");
  const box = document.querySelector(".md-search__input");
  if (window.kasoukaBench.shown === null && window.kasoukaBench.typed !== null && meta && box && box.value
      && document.querySelectorAll(".md-search-result__item").length) {
    window.kasoukaBench.shown = performance.now();
  }
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


def measure_first_search(browser, base_url: str, path: str, query: str) -> dict:
    """A first visit, then focus the search box and type ``query`` at once, as a reader does.

    Keys: path, query, requests (fetched once the box had focus), raw_bytes,
    gzip_bytes, ms (from the first key to the first result on screen, None if
    none came within 30 s), results (result pages shown).
    """
    context = browser.new_context()
    context.add_init_script(SEARCH_TIMING)
    fetched: list[tuple[str, int, int]] = []

    def on_response(response):
        # The browser asks for the favicon whenever it likes: not part of the search.
        if not response.url.startswith(base_url) or "favicon" in response.url:
            return
        try:
            body = response.body()
        except Exception:  # redirects and cancelled loads have no body
            return
        fetched.append((response.url[len(base_url) - 1:], len(body), gzip_size(response.url, body)))

    try:
        page = context.new_page()
        page.goto(base_url + path.lstrip("/"), wait_until="networkidle", timeout=30_000)
        page.on("response", on_response)
        page.locator("input.md-search__input").click()
        page.keyboard.type(query)
        try:
            page.wait_for_function("window.kasoukaBench.shown !== null", timeout=30_000)
            timing = page.evaluate("window.kasoukaBench")
            ms = round(timing["shown"] - timing["typed"])
        except Exception:  # no result within the time: reported as None
            ms = None
        page.wait_for_load_state("networkidle")
        results = page.locator(".md-search-result__item").count()
    finally:
        context.close()
    return {
        "path": path, "query": query, "requests": [url for url, _, _ in fetched],
        "raw_bytes": sum(raw for _, raw, _ in fetched), "gzip_bytes": sum(gz for _, _, gz in fetched),
        "ms": ms, "results": results,
    }


def print_search(rows: list[dict]) -> None:
    print()
    print("search, first use: focus the box on a first visit and type; what is fetched from then on")
    header = (f"{'page':<6} {'query':<22} {'req':>4} {'raw KiB':>8} {'gzip KiB':>9} {'key->result ms':>15} "
              f"{'results':>8}   before: {'gzip KiB':>8} {'ms':>6} {'results':>7}")
    print(header)
    print("-" * len(header))
    for row in rows:
        before = SEARCH_BEFORE.get((row["path"], row["query"]))
        was = (f"{before[0]:>8.1f} {'none' if before[1] is None else before[1]:>6} {before[2]:>7}"
               if before else "")
        ms = "none" if row["ms"] is None else row["ms"]
        # Japanese is twice as wide as the column counts it.
        query = row["query"] + " " * max(0, 22 - sum(2 if ord(c) > 0x2e80 else 1 for c in row["query"]))
        print(f"{row['path']:<6} {query} {len(row['requests']):>4} {row['raw_bytes'] / KIB:>8.1f} "
              f"{row['gzip_bytes'] / KIB:>9.1f} {ms:>15} {row['results']:>8}           {was}")
    for row in rows:
        index = [url for url in row["requests"] if "search_index" in url]
        print(f"index fetched from {row['path']}: {', '.join(index) or 'none'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the measurements as JSON")
    parser.add_argument("--lighthouse-runs", type=int, default=3, metavar="N",
                        help="Lighthouse runs per page, in rounds; the table shows the median (default 3)")
    args = parser.parse_args(argv)

    executable = find_chromium()
    if executable is None:
        print(
            "error: no Chromium found: install Debian's `chromium` or set CHROMIUM=/path/to/chromium",
            file=sys.stderr,
        )
        return 1
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        tmp = Path(tmp)
        baseline_src = tmp / "baseline"
        (baseline_src / "docs").mkdir(parents=True)
        (baseline_src / "mkdocs.yml").write_text(BASELINE_CONFIG, encoding="utf-8")
        (baseline_src / "docs" / "index.md").write_text(BASELINE_PAGE, encoding="utf-8")

        # Serve first: the site's 404 pages load their assets from site_url.
        with site.serve(tmp / "site", compress=True) as base_url, \
                site.serve(tmp / "baseline-site", compress=True) as baseline_url:
            build_s = timed_build(site.ROOT / "mkdocs.yml", tmp / "site", base_url)
            baseline_build_s = timed_build(baseline_src / "mkdocs.yml", tmp / "baseline-site", baseline_url)

            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
                try:
                    pages = []
                    for path in site.page_paths(tmp / "site"):
                        result = measure(browser, base_url + path.lstrip("/"), base_url)
                        result["path"] = path
                        result["over_budget"] = over_budget(result)
                        pages.append(result)
                    baseline = measure(browser, baseline_url, baseline_url)
                    baseline["path"] = "baseline: default Material"
                    slow = [row for row in pages if row["dcl_ms"] > WEIGHT_BOUND * baseline["dcl_ms"]]
                    slowest = max(slow, key=lambda row: row["dcl_ms"]) if slow else None
                    dcl_traces = {
                        "count": len(slow),
                        "page": (slowest["path"], *trace_until_dcl(browser, slowest["url"])),
                        "baseline": trace_until_dcl(browser, baseline_url),
                    } if slowest else None
                    search = [measure_first_search(browser, base_url, path, query)
                              for path, query in SEARCH_QUERIES]
                finally:
                    browser.close()

            built = set(site.page_paths(tmp / "site"))
            chosen = [next((p for p in options if p in built), None) for options in LIGHTHOUSE_TYPES.values()]
            chosen = [p for p in chosen if p] + [f"/en{p}" for p in chosen if p and f"/en{p}" in built]
            targets = [("baseline: default Material", baseline_url)] + [(p, base_url + p.lstrip("/")) for p in chosen]
            if LIGHTHOUSE.exists():
                before = cpu_pressure()
                scores = lighthouse_rounds(targets, args.lighthouse_runs, lambda url: lighthouse(url, executable))
                waiting = waiting_share(before, cpu_pressure())
            else:
                waiting = None
                scores = [(name, None) for name, _ in targets]

    print_table(pages, baseline, build_s, baseline_build_s)
    if dcl_traces:
        print_dcl(dcl_traces)
    print_lighthouse(scores, args.lighthouse_runs, waiting)
    print_search(search)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "build_seconds": round(build_s, 3),
                    "baseline_build_seconds": round(baseline_build_s, 3),
                    "budget_bytes": {"without_diagram": BUDGET_PLAIN, "any": BUDGET_ANY},
                    "pages": pages,
                    "baseline": baseline,
                    "lighthouse": dict(scores),
                    "lighthouse_cpu_waiting_share": waiting,
                    "search": search,
                    "dcl_traces": dcl_traces,
                },
                indent=2,
                ensure_ascii=False,
            )
            + "\n",
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
