"""Fetching URLs a creator typed in, without letting them reach our own network.

Every request, and every redirect hop, is checked the same way: http(s) only;
the host name resolved once, every address checked (private, loopback and
link-local refused unless ``IMPORT_ALLOW_PRIVATE_HOSTS``; link-local, which
includes cloud metadata endpoints, multicast, reserved and unspecified always),
then the connection is made to the checked address itself, with the name sent
as ``Host`` and as TLS SNI and certificate name. A second DNS answer cannot
change where the request goes (no DNS-rebinding window).

urllib3 (already installed with botocore) does the HTTP; bodies are streamed.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import urllib3
from django.conf import settings

from podcasthost import outbound

MAX_REDIRECTS = 10
CHUNK_BYTES = 256 * 1024
USER_AGENT = "podcasthost-import/1.0 (+https://github.com/podcasthost)"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class FetchError(Exception):
    """A URL that could not be fetched; the message says why in plain words."""


@dataclass
class Fetched:
    """An open response: its final URL, status, headers, and a chunk iterator."""

    url: str
    status: int
    headers: urllib3.HTTPHeaderDict
    response: urllib3.BaseHTTPResponse

    @property
    def content_type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    @property
    def content_length(self) -> int | None:
        value = self.headers.get("Content-Length", "")
        return int(value) if value.isdigit() else None

    def chunks(self, *, max_bytes: int, deadline: float | None = None) -> Iterator[bytes]:
        """The body in chunks; :class:`FetchError` past ``max_bytes`` or ``deadline``.

        The ``deadline`` (a ``time.monotonic()`` value) holds even against a
        server dripping a byte at a time, each within the read timeout: at the
        deadline one watchdog thread shuts the socket's reading side, ending the read
        under way.
        """
        total = 0
        watch = None if deadline is None else _WATCHDOG.watch(deadline, self.response)
        try:
            for chunk in self.response.stream(CHUNK_BYTES, decode_content=True):
                total += len(chunk)
                if total > max_bytes:
                    raise FetchError(f"{self.url} is larger than the limit of {max_bytes:,} bytes.")
                if deadline is not None and time.monotonic() > deadline:
                    raise FetchError(f"{self.url} took too long to download.")
                yield chunk
            if watch is not None and _Watchdog.fired(watch):
                # Cut off where the body has no length: the stream merely "ended" there.
                raise FetchError(f"{self.url} took too long to download.")
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            if deadline is not None and time.monotonic() >= deadline:
                raise FetchError(f"{self.url} took too long to download.") from exc
            raise FetchError(f"{self.url}: the download broke off ({_reason(exc)}).") from exc
        finally:
            if watch is not None:
                _WATCHDOG.cancel(watch)


class _Watchdog:
    """One thread that ends the reads of responses past their deadlines.

    It shuts a late response's socket for reading, which ends the read under
    way (it sees the stream end). One thread for all downloads: a timer thread
    each cost more than a small download itself (measured).
    """

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[list] = []  # [deadline, order, response or None once cancelled]
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, deadline: float, response: urllib3.BaseHTTPResponse) -> list:
        """Cut ``response`` off at ``deadline``; the entry, for :meth:`cancel` and :meth:`fired`."""
        entry = [deadline, next(self._order), response, False]
        with self._cond:
            heapq.heappush(self._heap, entry)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="fetch-deadlines")
                self._thread.daemon = True
                self._thread.start()
            elif self._heap[0] is entry:
                self._cond.notify()
        return entry

    def cancel(self, entry: list) -> None:
        with self._cond:
            entry[2] = None  # dropped when its deadline comes up

    @staticmethod
    def fired(entry: list) -> bool:
        """Whether the deadline cut the response off."""
        return entry[3]

    def _run(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0][2] is None:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                entry = heapq.heappop(self._heap)
                response, entry[2], entry[3] = entry[2], None, True
                # Any error (done and back in its pool meanwhile: nothing to cut) must
                # not end this thread: every other deadline depends on it.
                with contextlib.suppress(Exception):
                    response.shutdown()


_WATCHDOG = _Watchdog()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib3.exceptions.ReadTimeoutError | socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(exc, urllib3.exceptions.ConnectTimeoutError):
        return "connection timed out"
    if isinstance(exc, urllib3.exceptions.SSLError):
        return "TLS certificate not valid for this host"
    if isinstance(exc, urllib3.exceptions.NewConnectionError):
        return "connection refused"
    return type(exc).__name__


def address_refusal(address: str) -> str | None:
    """Why an import will not connect to ``address`` (an IP literal), or ``None`` if it may."""
    return outbound.address_refusal(
        address,
        allow_private=settings.IMPORT_ALLOW_PRIVATE_HOSTS,
        setting="IMPORT_ALLOW_PRIVATE_HOSTS",
    )


def resolve_checked(host: str, port: int) -> str:
    """The one address of ``host`` we will connect to; :class:`FetchError` if any is refused.

    Every address the name resolves to is checked: a name that answers both a
    public and a private address is refused, whichever a client would pick.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"The host name {host!r} does not resolve.") from exc
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise FetchError(f"The host name {host!r} does not resolve.")
    for address in addresses:
        refusal = address_refusal(address)
        if refusal:
            raise FetchError(f"Refused to fetch from {host}: {refusal}.")
    return addresses[0]


def _split(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path?query) of an http(s) URL; :class:`FetchError` otherwise."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FetchError(f"{url!r} is not a valid URL.") from exc
    if parts.scheme not in ("http", "https"):
        raise FetchError(f"Only http and https URLs can be imported, not {url[:80]!r}.")
    if not parts.hostname:
        raise FetchError(f"{url!r} has no host name.")
    if parts.username or parts.password:
        raise FetchError("URLs with a user name or password are not accepted.")
    port = port or (443 if parts.scheme == "https" else 80)
    target = parts.path or "/"
    if parts.query:
        target = f"{target}?{parts.query}"
    return parts.scheme, parts.hostname, port, target


class FetchSession:
    """Keep-alive connections shared by many fetches (an import's downloads); thread-safe.

    A connection is reused only for the same scheme, host name, checked
    address and port, and only after its answer was read to the end; every
    request is still checked as :func:`open_url` says. Close it when done
    (or use it as a context manager).
    """

    def __init__(self, connections: int = 1) -> None:
        self._connections = max(1, connections)
        # Hosts whose DNS rotates addresses would add a pool per address: only the
        # most recently used are kept open (a connection in use closes when done).
        self._max_pools = max(4, 2 * self._connections)
        self._pools: OrderedDict[tuple[str, str, str, int], urllib3.HTTPConnectionPool]
        self._pools = OrderedDict()
        self._lock = threading.Lock()

    def pool(self, scheme: str, host: str, address: str, port: int) -> urllib3.HTTPConnectionPool:
        key = (scheme, host, address, port)
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                pool = self._pools[key] = _pool(*key, maxsize=self._connections)
                while len(self._pools) > self._max_pools:
                    self._pools.popitem(last=False)[1].close()
            self._pools.move_to_end(key)
            return pool

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), OrderedDict()
        for pool in pools:
            pool.close()

    def __enter__(self) -> FetchSession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _pool(
    scheme: str, host: str, address: str, port: int, *, maxsize: int = 1
) -> urllib3.HTTPConnectionPool:
    timeout = urllib3.Timeout(
        connect=settings.IMPORT_CONNECT_TIMEOUT_SECONDS, read=settings.IMPORT_READ_TIMEOUT_SECONDS
    )
    if scheme == "https":
        return urllib3.HTTPSConnectionPool(
            address,
            port,
            timeout=timeout,
            retries=False,
            maxsize=maxsize,
            server_hostname=host,
            assert_hostname=host,
            cert_reqs="CERT_REQUIRED",
        )
    return urllib3.HTTPConnectionPool(
        address, port, timeout=timeout, retries=False, maxsize=maxsize
    )


@contextlib.contextmanager
def open_url(
    url: str, *, accept: str = "*/*", session: FetchSession | None = None
) -> Iterator[Fetched]:
    """GET ``url`` following up to :data:`MAX_REDIRECTS` checked redirects; yield the answer.

    Raises :class:`FetchError` for a refused or malformed URL, a network
    error, a timeout, too many redirects or an HTTP error status (with a
    reason: not found, needs a login…). The body is not read until the
    caller iterates :meth:`Fetched.chunks`. With a ``session``, connections
    are kept open for its next fetches; without, each is closed after use.
    """
    current = url.strip()
    for _ in range(MAX_REDIRECTS + 1):
        scheme, host, port, target = _split(current)
        address = resolve_checked(host, port)
        default_port = 443 if scheme == "https" else 80
        host_header = host if port == default_port else f"{host}:{port}"
        if ":" in host and not host.startswith("["):
            host_header = f"[{host}]" if port == default_port else f"[{host}]:{port}"
        headers = {"Host": host_header, "User-Agent": USER_AGENT, "Accept": accept}
        own_pool = session is None
        pool = (_pool if own_pool else session.pool)(scheme, host, address, port)
        try:
            try:
                response = _get(pool, target, headers)
            except urllib3.exceptions.ProtocolError:
                if own_pool:
                    raise
                # A kept-alive connection the server closed meanwhile (at its keep-alive
                # timeout): GET once more, on a new connection to the same checked address.
                own_pool, pool = True, _pool(scheme, host, address, port)
                response = _get(pool, target, headers)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            if own_pool:
                pool.close()
            raise FetchError(f"Could not fetch {current}: {_reason(exc)}.") from exc
        try:
            if response.status in _REDIRECTS:
                location = response.headers.get("Location")
                if not location:
                    raise FetchError(f"{current} redirects without saying where to.")
                current = urljoin(current, location.strip())
                continue
            if response.status >= 400:
                raise FetchError(_status_message(current, response.status))
            yield Fetched(current, response.status, response.headers, response)
            return
        finally:
            if response.isclosed():
                response.release_conn()  # read to the end: the connection may serve again
            else:
                response.close()  # a half-read answer's connection is never reused
            if own_pool:
                pool.close()
    raise FetchError(f"{url} redirects more than {MAX_REDIRECTS} times.")


def _get(pool: urllib3.HTTPConnectionPool, target: str, headers: dict) -> urllib3.BaseHTTPResponse:
    return pool.urlopen(
        "GET",
        target,
        headers=headers,
        redirect=False,
        preload_content=False,
        assert_same_host=False,
    )


def _status_message(url: str, status: int) -> str:
    if status in (401, 403):
        return f"{url} answered {status}: it needs a login or is private."
    if status in (404, 410):
        return f"{url} answered {status}: not found."
    return f"{url} answered HTTP {status}."
