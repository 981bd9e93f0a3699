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
