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
