"""A fetch session keeps connections open for an import's many downloads, and only safely."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from episodes.importers.safe_http import FetchError, FetchSession, open_url
from tests.servers import wait_until

BIG = bytes(range(256)) * 4096 * 2  # 2 MiB: more than one chunk


class KeepAliveHost:
    """An HTTP/1.1 server that notes which client connection asked for each path."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, tuple[str, int]]] = []
        self.closed = 0
        host = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                host.seen.append((self.path, self.client_address))
                self.served = getattr(self, "served", 0) + 1
                if self.path == "/drop" or (self.path.startswith("/stale") and self.served > 1):
                    # A server's keep-alive timeout: the next request on the
                    # connection finds it closed, with no answer.
                    self.close_connection = True
                    return
                body = BIG if self.path == "/big" else b"x" * 1024
                self.send_response(200)
                self.send_header("Content-Type", "audio/mpeg")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)  # one test's client stops reading

            def handle(self) -> None:
                try:
                    with contextlib.suppress(ConnectionResetError):
                        super().handle()
                finally:
                    host.closed += 1  # the client closed its connection (or we did)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def connections(self) -> list[tuple[str, int]]:
        return list(dict.fromkeys(address for _path, address in self.seen))


@contextlib.contextmanager
def running_host() -> Iterator[KeepAliveHost]:
    host = KeepAliveHost()
    thread = threading.Thread(target=host.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield host
    finally:
        host.server.shutdown()
        host.server.server_close()


@pytest.fixture
def keep_alive_host() -> Iterator[KeepAliveHost]:
    with running_host() as host:
        yield host


def fetch(url: str, session: FetchSession | None) -> bytes:
    with open_url(url, session=session) as answer:
        return b"".join(answer.chunks(max_bytes=10**8))


def test_a_session_downloads_one_after_another_over_one_connection(keep_alive_host):
    with FetchSession(connections=2) as session:
        bodies = [fetch(f"{keep_alive_host.base}/a?{n}", session) for n in range(3)]

    assert bodies == [b"x" * 1024] * 3
    assert len(keep_alive_host.seen) == 3
    assert len(keep_alive_host.connections()) == 1


def test_without_a_session_every_fetch_has_its_own_connection(keep_alive_host):
    fetch(f"{keep_alive_host.base}/a", None)
    fetch(f"{keep_alive_host.base}/a", None)

    assert len(keep_alive_host.connections()) == 2


def test_an_answer_read_only_in_part_never_serves_the_next_fetch(keep_alive_host):
    with FetchSession() as session:
        with open_url(f"{keep_alive_host.base}/big", session=session) as answer:
            first = next(answer.chunks(max_bytes=10**8))
        after = fetch(f"{keep_alive_host.base}/big", session)

    assert 0 < len(first) < len(BIG)
    assert after == BIG  # not the rest of the first answer
    assert len(keep_alive_host.connections()) == 2


def test_a_session_checks_every_request_like_a_single_fetch(keep_alive_host, settings):
    with FetchSession() as session:
        fetch(f"{keep_alive_host.base}/a", session)
        settings.IMPORT_ALLOW_PRIVATE_HOSTS = False
        with pytest.raises(FetchError, match="private or loopback"):
            fetch(f"{keep_alive_host.base}/a", session)

    assert len(keep_alive_host.seen) == 1


def test_a_kept_alive_connection_the_server_closed_is_retried_on_a_new_one(keep_alive_host):
    with FetchSession(connections=1) as session:
        bodies = [fetch(f"{keep_alive_host.base}/stale?{n}", session) for n in range(2)]

    assert bodies == [b"x" * 1024] * 2
    # The second request met the closed connection, then went again on a new one.
    assert [path for path, _ in keep_alive_host.seen] == ["/stale?0", "/stale?1", "/stale?1"]
    assert len(keep_alive_host.connections()) == 2


def test_a_server_that_never_answers_is_an_error_after_one_retry(keep_alive_host):
    with FetchSession() as session, pytest.raises(FetchError, match="Could not fetch"):
        fetch(f"{keep_alive_host.base}/drop", session)

    assert [path for path, _ in keep_alive_host.seen] == ["/drop", "/drop"]


def test_a_session_keeps_only_the_connections_of_its_most_recent_hosts():
    with contextlib.ExitStack() as stack:
        hosts = [stack.enter_context(running_host()) for _ in range(6)]
        with FetchSession(connections=1) as session:  # keeps up to 4 hosts' connections
            for host in hosts:
                fetch(f"{host.base}/a", session)
            wait_until(
                lambda: hosts[0].closed == hosts[1].closed == 1,
                timeout_seconds=10,
                what="the two least recent connections to close",
            )
            assert [host.closed for host in hosts[2:]] == [0, 0, 0, 0]
            assert fetch(f"{hosts[0].base}/a", session) == b"x" * 1024  # a new one
