"""What an import may fetch: http(s) to public addresses only, checked on every redirect hop."""

from __future__ import annotations

import socket

import pytest

from episodes.importers.safe_http import FetchError, open_url
from episodes.importers.shows import ImportRefused, fetch_feed


def fetch(url: str) -> bytes:
    with open_url(url) as answer:
        return b"".join(answer.chunks(max_bytes=10**7))


@pytest.fixture
def no_private(settings):
    settings.IMPORT_ALLOW_PRIVATE_HOSTS = False


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/feeds/libsyn.xml",
        "http://localhost:{port}/feeds/libsyn.xml",
        "http://[::ffff:127.0.0.1]:{port}/feeds/libsyn.xml",
        "http://10.1.2.3/feed.xml",
        "http://192.168.0.1/feed.xml",
    ],
)
def test_private_and_loopback_hosts_are_refused_unless_allowed(old_host, no_private, url):
    port = old_host.base.rsplit(":", 1)[1]
    with pytest.raises(FetchError, match="private or loopback"):
        fetch(url.format(port=port))
    assert old_host.requests == {}


@pytest.mark.parametrize(
    "target",
    [
        "169.254.169.254/latest/meta-data/",  # cloud metadata: refused even when private is allowed
        "[fe80::1]/feed.xml",
        "0.0.0.0/feed.xml",
        "224.0.0.1/feed.xml",
    ],
)
def test_a_redirect_to_link_local_or_reserved_addresses_is_refused_at_that_hop(old_host, target):
    with pytest.raises(FetchError, match="link-local, multicast or reserved"):
        fetch(old_host.url(f"/op3/e/{target}"))


def test_the_redirect_chain_is_followed_when_every_hop_is_allowed(old_host):
    host = old_host.base.split("//")[1]
    chained = f"/podtrac/redirect.mp3/{host}/chtbl/track/ABC123/{host}/audio/x.mp3"
    assert fetch(old_host.url(chained)) == old_host.audio


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.com/feed.xml", "gopher://x/", "javascript:1"]
)
def test_only_http_and_https(url):
    with pytest.raises(FetchError, match="Only http and https"):
        fetch(url)


def test_credentials_in_the_url_are_refused():
    with pytest.raises(FetchError, match="user name or password"):
        fetch("http://user:secret@example.com/feed.xml")


def test_a_name_resolving_to_any_private_address_is_refused(monkeypatch, no_private):
    # DNS is the outside boundary here: a name with a public and a private answer.
    def resolve(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with pytest.raises(FetchError, match=r"10\.0\.0\.7"):
        fetch("http://mixed.example/feed.xml")


def test_the_connection_goes_to_the_checked_address_not_a_second_dns_answer(old_host, monkeypatch):
    """DNS rebinding: the first answer is checked and used; a later one is never asked for."""
    port = int(old_host.base.rsplit(":", 1)[1])
    answers = iter(["127.0.0.1", "169.254.169.254"])
    calls = []
    real = socket.getaddrinfo

    def resolve(host, p, *args, **kwargs):
        if host != "rebind.test":
            return real(host, p, *args, **kwargs)
        calls.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), p))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    body = fetch(f"http://rebind.test:{port}/feeds/libsyn.xml")
    assert b"Libsyn Lounge" in body
    assert calls == ["rebind.test"]


def test_feed_size_is_capped(old_host, settings):
    settings.IMPORT_FEED_MAX_BYTES = 2048
    with pytest.raises(ImportRefused, match="limit"):
        fetch_feed(old_host.url("/feeds/libsyn.xml"))


def test_a_server_that_stops_answering_times_out_with_a_clear_error(old_host, settings):
    settings.IMPORT_READ_TIMEOUT_SECONDS = 0.3
    old_host.slow["/feeds/libsyn.xml"] = 2.0
    with pytest.raises(ImportRefused, match="timed out"):
        fetch_feed(old_host.url("/feeds/libsyn.xml"))


def test_an_unresolvable_host_is_a_clear_error():
    with pytest.raises(FetchError, match="does not resolve"):
        fetch("http://no-such-host.invalid/feed.xml")


@pytest.mark.parametrize(
    "body", [b"\x00\xff" * 5000, b'{"items": []}', b"<rss" + b" a='x'" * 50_000]
)
def test_garbage_and_truncated_documents_are_refused_with_the_reason(old_host, body):
    from episodes.importers.shows import read_feed_source

    old_host.extra["/weird.xml"] = (200, "text/xml", body)
    with pytest.raises(ImportRefused, match="not an RSS or Atom feed"):
        read_feed_source(old_host.url("/weird.xml"))
