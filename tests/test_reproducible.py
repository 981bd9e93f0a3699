"""Two builds of the same commit produce identical files."""

from __future__ import annotations

from datetime import datetime, timezone

from tests.support import site


def files_of(root) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_two_builds_are_identical(tmp_path):
    for name in ("one", "two"):
        site.build(site.ROOT / "mkdocs.yml", tmp_path / name, site_url="https://example.org/")
    one, two = files_of(tmp_path / "one"), files_of(tmp_path / "two")
    assert sorted(one) == sorted(two)
    assert [name for name in one if one[name] != two[name]] == []


def test_build_date_is_the_commit_date(tmp_path):
    site.build(site.ROOT / "mkdocs.yml", tmp_path / "site", site_url="https://example.org/")
    day = datetime.fromtimestamp(int(site.source_date_epoch()), tz=timezone.utc).strftime("%Y-%m-%d")
    sitemap = (tmp_path / "site" / "sitemap.xml").read_text(encoding="utf-8")
    assert f"<lastmod>{day}</lastmod>" in sitemap
