"""Outbound calls: HTTPS to the checked address with the real name verified, no redirects."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from podcasthost import outbound
from tests.servers import recording_server


def _self_signed(tmp_path, name: str):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(name), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def https_server(tmp_path, monkeypatch):
    """An HTTPS server on 127.0.0.1 whose certificate is for ``localhost``, trusted here."""
    cert, key = _self_signed(tmp_path, "localhost")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # what create_default_context() trusts
    seen: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append((self.headers["Host"], body.decode()))
            self.send_response(201)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format, *args) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1], seen
    httpd.shutdown()
    httpd.server_close()


def test_https_goes_to_the_checked_address_and_verifies_the_name(https_server):
    port, seen = https_server

    answer = outbound.send("POST", f"https://localhost:{port}/in", body=b"hello")

    assert answer.status == 201
    assert seen == [(f"localhost:{port}", "hello")]


def test_a_certificate_for_another_name_is_refused(https_server, monkeypatch):
    port, seen = https_server
    # The name resolves to the same server, whose certificate does not name it.
    monkeypatch.setattr(outbound, "resolve", lambda host, port, public_only: ["127.0.0.1"])

    with pytest.raises(outbound.OutboundError, match="certificate"):
        outbound.send("POST", f"https://podcasthost.invalid:{port}/in", body=b"x")
    assert seen == []


def test_redirects_are_answers_not_followed():
    with recording_server([302]) as server:
        answer = outbound.send("POST", f"{server.url}/hook", body=b"{}")

    assert answer.status == 302
    assert not answer.ok
    assert len(server.received) == 1


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("169.254.169.254", False),
        ("fd00::1", False),
        ("fe80::1%eth0", False),
        ("::ffff:10.0.0.1", False),
        ("224.0.0.1", False),
    ],
)
def test_public_addresses(address, public):
    assert outbound.is_public_address(address) is public


def test_cloud_metadata_is_refused_even_where_private_addresses_are_allowed(settings):
    """One address policy for webhooks, pings and imports: link-local is never reachable."""
    from django.core.exceptions import ValidationError

    from episodes.webhook_urls import validate_webhook_url

    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    validate_webhook_url("http://127.0.0.1:9/hook")  # a receiver on this machine: allowed
    with pytest.raises(ValidationError, match=r"169\.254\.169\.254"):
        validate_webhook_url("http://169.254.169.254/latest/meta-data/")
