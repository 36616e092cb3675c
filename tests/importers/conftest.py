"""A local "old host": serves the host-shaped feeds under feeds/ with real audio enclosures.

The feeds are templates: ``{base}`` becomes this server's URL, ``{host}`` its
host:port (for tracking-prefix redirects), ``{length}`` the audio's size.
"""

from __future__ import annotations

import io
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from PIL import Image

from tests.transcoding.conftest import generate_audio

FEEDS = Path(__file__).parent / "feeds"
HOSTS = ("libsyn", "anchor", "buzzsprout", "transistor", "castopod", "podbean", "simplecast")
HOSTS += ("megaphone",)
# Tracking prefixes: /<prefix>/<host:port>/<path> redirects to http://<host:port>/<path>,
# as Podtrac, Chartable and OP3 do.
PREFIXES = ("/podtrac/redirect.mp3/", "/chtbl/track/ABC123/", "/op3/e/")


def _jpeg(size: tuple[int, int], mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, "navy" if mode == "RGB" else None).save(out, "JPEG")
    return out.getvalue()


class OldHost:
    """State of the fake old host: what it serves and what it was asked for."""

    def __init__(self, audio: bytes) -> None:
        self.audio = audio
        self.requests: Counter[str] = Counter()
        self.slow: dict[str, float] = {}
        self.extra: dict[str, tuple[int, str, bytes]] = {}
        self.images = {
            "/art/square.jpg": _jpeg((1400, 1400)),
            "/art/item.jpg": _jpeg((1500, 1500)),
            "/art/small.jpg": _jpeg((300, 300)),
            "/art/cmyk.jpg": _jpeg((1400, 1400), "CMYK"),
        }
        self.base = ""

    def feed(self, name: str) -> bytes:
        text = (FEEDS / f"{name}.xml").read_text(encoding="utf-8")
        text = text.replace("{base}", self.base).replace("{host}", self.base.split("//")[1])
        text = text.replace("{length}", str(len(self.audio)))
        return text.encode("iso-8859-1" if name == "podbean" else "utf-8")

    def url(self, path: str) -> str:
        return f"{self.base}{path}"


def _handler(host: OldHost):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def _send(self, status: int, content_type: str, body: bytes, **headers: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            path = parts.path
            host.requests[path] += 1
            if path in host.slow:
                time.sleep(host.slow[path])
            if path in host.extra:
                status, content_type, body = host.extra[path]
                return self._send(status, content_type, body)
            for prefix in PREFIXES:
                if path.startswith(prefix):
                    target = "http://" + unquote(self.path[len(prefix) :])
                    return self._send(302, "text/plain", b"", Location=target)
            if path.startswith("/feeds/") and path.endswith(".xml"):
                name = path[len("/feeds/") : -4]
                if (FEEDS / f"{name}.xml").is_file():
                    charset = "ISO-8859-1" if name == "podbean" else "utf-8"
                    return self._send(200, f"text/xml; charset={charset}", host.feed(name))
            if path.startswith("/audio/") and path.endswith(".mp3"):
                return self._send(200, "audio/mpeg", host.audio)
            if path in host.images:
                return self._send(200, "image/jpeg", host.images[path])
            if path == "/login":
                page = b"<!DOCTYPE html><html><body><form>Password: <input></form></body></html>"
                return self._send(200, "text/html; charset=utf-8", page)
            return self._send(404, "text/plain", b"not found")

    return Handler


@pytest.fixture(scope="session")
def episode_audio(tmp_path_factory) -> bytes:
    """Two seconds of real MP3, made with ffmpeg."""
    path = tmp_path_factory.mktemp("old-host") / "episode.mp3"
    generate_audio(path, content="speech", seconds=2.0, extra=("-b:a", "64k"))
    return path.read_bytes()


@pytest.fixture
def old_host(episode_audio):
    host = OldHost(episode_audio)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(host))
    host.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield host
    finally:
        server.shutdown()
        server.server_close()
