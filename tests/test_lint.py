"""The prose linters catch what they are configured to catch (make lint runs them on the site)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.support import site



def npx(*args, stdin: str) -> subprocess.CompletedProcess:
    if shutil.which("npx") is None or not (site.ROOT / "node_modules" / ".bin" / "textlint").exists():
        pytest.fail("node tools are missing: run `npm ci` (make test does)")
    return subprocess.run(
        ["npx", "--no-install", *args], cwd=site.ROOT, input=stdin, capture_output=True, text=True
    )


def textlint(text: str) -> subprocess.CompletedProcess:
    subprocess.run(["python3", "-m", "tests.tools.glossary_prh"], cwd=site.ROOT, check=True, capture_output=True)
    return npx("textlint", "--stdin", "--stdin-filename", "fixture.md", stdin=text)


def test_clean_japanese_passes():
    result = textlint("# 題\n\nハイパーバイザーはゲストOSをサーバーの上で動かします。\n")
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(
    "text, rule",
    [
        ("ハイパーバイザはゲストを動かします。\n", "prh"),           # term table: final long vowel
        ("メモリーを割り当てます。\n", "prh"),                       # customary exception: メモリ
        ("ハイパバイザーを使います。\n", "prh"),                     # the glossary's `avoid`
        ("ゲストを動かします。ホストは資源を管理する装置である。\n", "no-mix-dearu-desumasu"),
        ("これは仮想化支援技術概論です。\n", "max-kanji-continuous-len"),
    ],
    ids=["long-vowel", "memory-exception", "glossary-avoid", "mixed-style", "kanji-run"],
)
def test_japanese_problems_are_reported(text, rule):
    result = textlint("# 題\n\n" + text)
    assert result.returncode != 0
    assert rule in result.stdout, result.stdout


def test_english_misspelling_is_reported(tmp_path):
    page = "# Title\n\nThe hypervisor runs the guets.\n"
    result = npx("cspell", "--no-progress", "stdin://fixture.en.md", stdin=page)
    assert result.returncode != 0
    assert "guets" in result.stdout + result.stderr
    clean = npx("cspell", "--no-progress", "stdin://fixture.en.md", stdin="# Title\n\nThe hypervisor runs the guest.\n")
    assert clean.returncode == 0, clean.stdout + clean.stderr
