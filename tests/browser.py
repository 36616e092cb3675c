"""The ``browser`` marker's gate: skip without Chromium, except in CI where it is an error.

Every test marked ``browser`` drives the Chromium at ``CHROMIUM_BINARY``
(default ``/usr/bin/chromium``) through Playwright, whose own browser download
cannot work here. On a developer's machine without it those tests skip with
the reason shown by ``-ra``; under CI (the ``CI`` variable set, as CI services
and ``.ci/run``'s caller do) a missing browser fails them, so a broken CI
image cannot pass by skipping.

Loaded as a plugin by tests/conftest.py (it imports the hook below).
"""

from __future__ import annotations

import os
import shutil

import pytest

DEFAULT_CHROMIUM = "/usr/bin/chromium"


def chromium_binary() -> str:
    """The Chromium executable browser tests launch (``CHROMIUM_BINARY``)."""
    return os.environ.get("CHROMIUM_BINARY") or DEFAULT_CHROMIUM


def in_ci() -> bool:
    """Whether the ``CI`` variable says this is a CI run (``CI=true``; ``false``/``0`` is not)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before any fixture of a ``browser`` test (live_server included), check for Chromium."""
    if item.get_closest_marker("browser") is None:
        return
    binary = chromium_binary()
    if shutil.which(binary):
        return
    reason = (
        f"Chromium not found at {binary}; install it (apt-get install chromium) "
        "or set CHROMIUM_BINARY"
    )
    if in_ci():
        pytest.fail(f"{reason} (CI is set: browser tests must run here)", pytrace=False)
    pytest.skip(reason)
