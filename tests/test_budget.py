"""The page-weight budget for a first visit (bytes are deterministic, so it is a test)."""

from __future__ import annotations

import pytest

from tests.support import site
from tests.tools import bench

pytestmark = pytest.mark.browser


def test_every_page_is_within_budget(browser, site_dir, base_url):
    over = []
    for path in site.page_paths(site_dir):
        result = bench.measure(browser, base_url + path.lstrip("/"), base_url)
        assert result["outside"] == [], f"{path} requested {result['outside']}"
        problem = bench.over_budget(result)
        if problem:
            over.append(f"{path}: {problem}")
    assert over == []


def test_budget_check_flags_a_heavy_page():
    heavy = {"gzip_bytes": bench.BUDGET_PLAIN + 1, "diagram": False}
    assert bench.over_budget(heavy)
    assert bench.over_budget({"gzip_bytes": bench.BUDGET_PLAIN + 1, "diagram": True}) is None
    assert bench.over_budget({"gzip_bytes": bench.BUDGET_ANY + 1, "diagram": True})


def test_lighthouse_runs_every_page_once_per_round():
    """The baseline and the pages share the machine's slow stretches: round after round."""
    runs = {"base": [100, 100, 99], "a": [90, 99, 98], "b": [100, 50, 100]}
    calls = []

    def run_once(url):
        calls.append(url)
        value = runs[url][calls.count(url) - 1]
        return {name: value for name in bench.LIGHTHOUSE_CATEGORIES}

    rows = dict(bench.lighthouse_rounds([("baseline", "base"), ("/a/", "a"), ("/b/", "b")], 3, run_once))
    assert calls == ["base", "a", "b"] * 3
    assert rows["/a/"]["performance"] == 98 and rows["/a/"]["performance_runs"] == [90, 99, 98]
    assert rows["/b/"]["performance"] == 100 and rows["baseline"]["performance"] == 100


def test_a_failing_lighthouse_run_is_reported_and_not_repeated():
    calls = []

    def run_once(url):
        calls.append(url)
        return {"error": ["Runtime error"]} if url == "a" else {name: 100 for name in bench.LIGHTHOUSE_CATEGORIES}

    rows = dict(bench.lighthouse_rounds([("baseline", "base"), ("/a/", "a")], 3, run_once))
    assert calls.count("a") == 1 and calls.count("base") == 3
    assert rows["/a/"] == {"error": ["Runtime error"]}


def test_the_bench_says_how_long_the_cpu_was_taken(tmp_path, monkeypatch):
    """Lighthouse counts time spent waiting for a CPU as the page's work: the bench prints
    the share of its runs' time during which some task waited, from /proc/pressure/cpu."""
    pressure = tmp_path / "cpu"
    pressure.write_text("some avg10=1.00 avg60=2.00 avg300=3.00 total=5000000\n"
                        "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", encoding="ascii")
    monkeypatch.setattr(bench, "PRESSURE", pressure)
    clock = iter([100.0, 120.0])
    monkeypatch.setattr(bench.time, "monotonic", lambda: next(clock))
    before = bench.cpu_pressure()
    pressure.write_text("some avg10=1.00 avg60=2.00 avg300=3.00 total=9000000\n", encoding="ascii")
    assert bench.waiting_share(before, bench.cpu_pressure()) == 0.2  # 4 s of 20 s
    monkeypatch.setattr(bench, "PRESSURE", tmp_path / "absent")
    assert bench.cpu_pressure() is None and bench.waiting_share(before, None) is None


def test_main_thread_work_is_split_by_what_caused_it():
    """The bench's DOMContentLoaded breakdown: a forced layout inside a script is the
    script's, a script run while parsing is not parsing, and nothing after the event counts."""
    url, frame, main, other = "http://x/p/", "F1", (1, 1), (1, 2)

    def event(name, ts, dur, thread=main, **data):
        return {"name": name, "ph": "X", "pid": thread[0], "tid": thread[1], "ts": ts, "dur": dur,
                "args": {"data": data}}

    events = [
        {"name": "navigationStart", "ph": "R", "pid": 1, "tid": 1, "ts": 0,
         "args": {"frame": frame, "data": {"documentLoaderURL": url}}},
        event("ParseHTML", 1_000, 10_000),
        event("EvaluateScript", 2_000, 3_000, url="http://x/assets/javascripts/bundle.0123abcd.min.js"),
        event("Layout", 2_500, 1_000),  # forced by the script
        event("Layout", 12_000, 4_000),
        event("Layout", 12_000, 9_000, thread=other),
        event("EventDispatch", 20_000, 5_000, type="DOMContentLoaded"),
        event("UpdateLayoutTree", 21_000, 1_000),
        {"name": "domContentLoadedEventEnd", "ph": "R", "pid": 1, "tid": 1, "ts": 25_000, "args": {"frame": frame}},
        event("Layout", 30_000, 7_000),  # after DOMContentLoaded
    ]
    assert bench.main_thread_until_dcl(events, url) == {
        "HTML parsing": 7.0, "bundle.min.js": 3.0, "layout": 4.0, "DOMContentLoaded handlers": 5.0}


def test_every_course_asset_says_why_it_is_worth_its_weight():
    """The bench explains each asset over the baseline with why(); a new script without an
    entry would be explained as something it is not, or not at all."""
    assets = site.ROOT / "docs" / "assets"
    files = [*assets.glob("javascripts/**/*.js"), *assets.glob("stylesheets/**/*.css")]
    assert len(files) > 10, f"only {len(files)} scripts and stylesheets under {assets}"
    unexplained = [str(file.relative_to(assets)) for file in files if not bench.why(file.name)]
    assert not unexplained, f"add these to WORTH in tests/tools/bench.py: {unexplained}"
    assert bench.why("taxonomy-explorer.css") == bench.why("taxonomy-explorer.js") == "this page's simulator"
    assert bench.why("code-focus.js") != "this page's simulator"
