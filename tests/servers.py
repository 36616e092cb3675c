"""Real servers for tests: this app's web server in a subprocess, a recording HTTP receiver."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

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


@dataclass(frozen=True)
class Received:
    """One request a :func:`recording_server` answered."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.path).query)

    @property
    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode())


@dataclass
class RecordingServer:
    url: str
    received: list[Received] = field(default_factory=list)


@contextlib.contextmanager
def recording_server(statuses: Sequence[int] = (204,)) -> Iterator[RecordingServer]:
    """A real HTTP server on 127.0.0.1 that records each request and answers the next status.

    The n-th request gets ``statuses[n]``; the last status repeats.
    """
    server_state = RecordingServer(url="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with lock:
                n = len(server_state.received)
                server_state.received.append(
                    Received(self.command, self.path, dict(self.headers.items()), body)
                )
            status = statuses[min(n, len(statuses) - 1)]
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        do_GET = do_POST = _answer

        def log_message(self, format, *args) -> None:  # quiet
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server_state
    finally:
        httpd.shutdown()
        httpd.server_close()


@contextlib.contextmanager
def app_in_thread() -> Iterator[str]:
    """This process's Django app on a free local port, served from a thread; yields its base URL.

    It sees the settings of the test running now (e.g. its storages), since
    they are this process's. For views that need no database row (``/media/``,
    ``/healthz``): the test's database is invisible from another thread.
    """
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=False)
    server.set_app(WSGIHandler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
