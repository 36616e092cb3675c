"""One outbound HTTP call to another system: a WebSub hub, podping, a creator's webhook.

Standard library only (``http.client``), so the address that was checked is
the address connected to: a host name is resolved once, every address it
resolves to is checked (:func:`address_refusal`: link-local always refused,
private and loopback too when ``public_only``), and the connection goes to a
checked address with the original name as ``Host`` and TLS server name. A DNS
answer cannot change between the check and the connect. Redirects are never
followed (a redirect to an internal address would undo the check); a 3xx is
an answer like any other. The answer's body is read up to 64 KiB.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_BODY_BYTES = 64 * 1024
USER_AGENT = "podcasthost (+https://github.com/podcasthost)"


class OutboundError(Exception):
    """The call did not get an answer (DNS, connect, TLS, timeout): worth retrying."""


class RefusedURL(ValueError):
    """The URL is not one we call: not http(s), no host, or (``public_only``) not public."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def transient(self) -> bool:
        """Worth retrying: the server is busy or broken (429, 5xx), not refusing us."""
        return self.status == 429 or self.status >= 500


def address_refusal(address: str, *, allow_private: bool = False, setting: str = "") -> str | None:
    """Why we will not connect to ``address`` (an IP literal); ``None`` when we may.

    The one address policy of every outbound call (webhooks, pings, imports).
    Link-local (cloud metadata at 169.254.169.254), multicast, unspecified and
    reserved addresses are always refused; private and loopback ones unless
    ``allow_private`` (a server on this machine, in development and tests),
    whose ``setting`` the reason names.
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_link_local or ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return f"{ip} is a link-local, multicast or reserved address"
    if ip.is_private or ip.is_loopback:
        if allow_private:
            return None
        return f"{ip} is a private or loopback address" + (
            f" ({setting} is off)" if setting else ""
        )
    if not ip.is_global:
        return f"{ip} is not a public address"
    return None


def is_public_address(address: str) -> bool:
    """Whether ``address`` is a globally routable unicast address (not private, loopback…)."""
    return address_refusal(address) is None


def check_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path with query) of an http(s) URL; raises :class:`RefusedURL`."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise RefusedURL("Use an http:// or https:// URL.")
    if not parts.hostname:
        raise RefusedURL("The URL has no host name.")
    if parts.username or parts.password:
        raise RefusedURL("Put no user name or password in the URL.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise RefusedURL("The URL's port is not a number from 1 to 65535.") from None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port, path


def resolve(host: str, port: int, *, public_only: bool) -> list[str]:
    """The addresses ``host`` resolves to; raises :class:`RefusedURL` if one is refused.

    Every address must pass :func:`address_refusal` (private and loopback ones
    only pass when not ``public_only``): a name that also resolves to 10.0.0.1 is refused,
    since the connection might otherwise be steered there. Raises
    :class:`OutboundError` when the name does not resolve.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise OutboundError(f"{host} does not resolve: {exc}") from exc
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    refused = [a for a in addresses if address_refusal(a, allow_private=not public_only)]
    if refused:
        raise RefusedURL(
            f"{host} points at a private or local address ({refused[0]}); use a public address."
        )
    return addresses


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def send(
    method: str,
    url: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    timeout: float = 10,
    public_only: bool = False,
) -> Answer:
    """Make one request and return the answer, whatever its status.

    Raises :class:`RefusedURL` for a URL we do not call, :class:`OutboundError`
    when no answer came (each resolved address is tried in turn).
    """
    scheme, host, port, path = check_url(url)
    addresses = resolve(host, port, public_only=public_only)
    connection_class = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    all_headers = {"User-Agent": USER_AGENT, **(headers or {})}
    last_error: Exception | None = None
    for address in addresses:
        connection = connection_class(host, port, address, timeout)
        try:
            connection.request(method, path, body=body or None, headers=all_headers)
            response = connection.getresponse()
            return Answer(response.status, response.read(MAX_BODY_BYTES))
        except (OSError, http.client.HTTPException) as exc:
            last_error = exc
        finally:
            connection.close()
    raise OutboundError(f"No answer from {host}:{port}: {last_error}") from last_error
