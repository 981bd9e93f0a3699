"""No published URL or heading anchor may disappear (tests/data/permalinks.txt)."""

from tests.support import site
from tests.tools import permalinks


def test_contract_is_not_empty():
    assert "/" in permalinks.read_contract()
    assert "/en/" in permalinks.read_contract()


def test_every_contracted_link_exists(site_dir):
    missing = sorted(set(permalinks.read_contract()) - permalinks.collect(site_dir))
    assert missing == [], (
        "published URLs or heading ids disappeared; restore them or add a redirect: "
        + ", ".join(missing)
    )


def test_translations_keep_the_japanese_heading_ids(site_dir):
    """A translated page has the same section ids, in the same order, as its original."""
    for path in site.page_paths(site_dir):
        if not path.startswith("/en/") or path.endswith("404.html"):
            continue
        english = (site_dir / path.lstrip("/") / "index.html").read_text(encoding="utf-8")
        if "data-fallback-notice" in english:
            continue  # not translated: the Japanese file itself
        japanese_path = site_dir / path.removeprefix("/en/") / "index.html"
        japanese = japanese_path.read_text(encoding="utf-8")
        assert permalinks.heading_ids(english) == permalinks.heading_ids(japanese), path


def test_translations_keep_the_quiz_ids(site_dir):
    """The learning record is keyed by quiz id, so a translation must use the same ids."""
    import re

    quiz_id = re.compile(r'data-quiz-id="([^"]+)"')
    for path in site.page_paths(site_dir):
        if not path.startswith("/en/") or path.endswith("404.html"):
            continue
        english = (site_dir / path.lstrip("/") / "index.html").read_text(encoding="utf-8")
        japanese = (site_dir / path.removeprefix("/en/") / "index.html").read_text(encoding="utf-8")
        assert quiz_id.findall(english) == quiz_id.findall(japanese), path
