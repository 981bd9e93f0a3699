"""Finding Chromium: a missing browser fails in CI instead of skipping."""

import os
import subprocess
import sys

from tests.support import site


def run_finder(**env):
    return subprocess.run(
        [sys.executable, "-m", "tests.support.chromium", "--ensure"],
        cwd=site.ROOT,
        env=dict(os.environ, **env),
        capture_output=True,
        text=True,
    )


def test_missing_chromium_fails_in_ci():
    result = run_finder(CI="true", CHROMIUM="/nonexistent/chromium")
    assert result.returncode == 1
    assert "no Chromium found" in result.stderr


def test_explicit_chromium_is_used(tmp_path):
    fake = tmp_path / "chromium"
    fake.write_text("")
    result = run_finder(CI="true", CHROMIUM=str(fake))
    assert result.returncode == 0
    assert result.stdout.strip() == str(fake)
