"""Tests marked ``browser`` skip with the fix where Chromium is missing, and fail under CI."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

SUITE = """
import pytest

@pytest.mark.browser
def test_drives_chromium():
    pass

def test_plain():
    pass
"""


def _pytest(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A separate pytest run of a two-test file with the gate loaded as in our suite."""
    (tmp_path / "test_tiny.py").write_text(SUITE)
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    browser: drives Chromium\n")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_") and k != "CI"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.browser", "-ra", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        env={**clean, "PYTHONPATH": str(REPO_ROOT), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def missing(tmp_path) -> str:
    return str(tmp_path / "no-such-chromium")


def test_missing_chromium_skips_browser_tests_with_the_reason(tmp_path, missing):
    result = _pytest(tmp_path, {"CHROMIUM_BINARY": missing})

    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed, 1 skipped" in result.stdout
    assert (
        f"Chromium not found at {missing}; install it (apt-get install chromium) "
        "or set CHROMIUM_BINARY"
    ) in result.stdout


@pytest.mark.parametrize("ci", ["true", "1"])
def test_missing_chromium_under_ci_is_an_error(tmp_path, missing, ci):
    result = _pytest(tmp_path, {"CHROMIUM_BINARY": missing, "CI": ci})

    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 passed, 1 error" in result.stdout
    assert f"Chromium not found at {missing}" in result.stdout
    assert "skipped" not in result.stdout


def test_ci_false_still_skips(tmp_path, missing):
    result = _pytest(tmp_path, {"CHROMIUM_BINARY": missing, "CI": "false"})

    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed, 1 skipped" in result.stdout


def test_present_chromium_runs_browser_tests(tmp_path):
    # Any executable stands in for the browser: the gate only looks for it.
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)

    result = _pytest(tmp_path, {"CHROMIUM_BINARY": str(fake), "CI": "true"})

    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_our_suite_loads_the_gate():
    from tests import conftest
    from tests.browser import pytest_runtest_setup

    assert conftest.pytest_runtest_setup is pytest_runtest_setup
