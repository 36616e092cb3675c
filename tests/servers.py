"""Real servers for tests that cross process boundaries: this app's web server in a subprocess."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def wait_until(condition, *, timeout_seconds: float, what: str, interval: float = 0.2):
    """Poll ``condition()`` until it is truthy (and return it); fail naming ``what`` on timeout."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_seconds}s waiting for {what}")
        time.sleep(interval)


def answers(url: str) -> bool:
    """Whether ``url`` answers with a 2xx status."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 200 <= response.status < 300
    except OSError:
        return False


@contextlib.contextmanager
def web_server(env: dict[str, str], port: int) -> Iterator[str]:
    """``manage.py runserver`` on 127.0.0.1:``port`` with ``env``; yields its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(
            lambda: proc.poll() is not None or answers(f"{base}/healthz"),
            timeout_seconds=60,
            what=f"runserver on {base}",
        )
        assert proc.poll() is None, f"runserver exited with code {proc.returncode}"
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)
