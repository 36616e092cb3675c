"""PUBLIC_BASE_URL must answer as this instance: preflight and validate_feed say when not."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from episodes.preflight import check_public_base_url
from podcasthost.instance import instance_id, public_base_url_problem
from podcasthost.services import free_port


@pytest.fixture
def other_server():
    """A real HTTP server on a free port answering /healthz as another instance (else 404)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path != "/healthz":
                self.send_error(404)
                return
            body = json.dumps({"status": "ok", "instance": "0123456789abcdef"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_healthz_names_this_instance(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "instance": instance_id()}


def test_this_instance_at_public_base_url_passes(settings, live_server):
    settings.PUBLIC_BASE_URL = live_server.url

    assert public_base_url_problem() is None
    check = check_public_base_url()
    assert check.ok is True
    assert check.line() == f"ok   public base URL: {live_server.url} answers as this instance"


def test_nothing_at_public_base_url_fails_with_the_fix(settings):
    settings.PUBLIC_BASE_URL = f"http://127.0.0.1:{free_port(0)}"

    check = check_public_base_url()

    assert check.failed
    assert check.message.startswith(f"PUBLIC_BASE_URL {settings.PUBLIC_BASE_URL} does not answer")
    assert "set PUBLIC_BASE_URL (or PORT)" in check.message


def test_another_instance_at_public_base_url_fails(settings, other_server):
    # Issue 10 item 1: PORT=8101 make run while another make run holds port 8000.
    settings.PUBLIC_BASE_URL = other_server

    problem = public_base_url_problem()

    assert problem.startswith(f"PUBLIC_BASE_URL {other_server} answers as another podcasthost")
    assert "instance 0123456789abcdef" in problem and instance_id() in problem


def test_a_server_that_is_not_podcasthost_fails(settings, other_server):
    settings.PUBLIC_BASE_URL = f"{other_server}/not-here"

    assert "with HTTP 404, not podcasthost" in public_base_url_problem()


def test_validate_feed_reports_a_public_base_url_that_is_another_server(
    settings, other_server, make_podcast
):
    make_podcast(slug="show")
    # The feed's links are on PUBLIC_BASE_URL (feeds and media served by this app).
    settings.PUBLIC_BASE_URL = settings.FEED_BASE_URL = other_server
    out = StringIO()

    with pytest.raises(CommandError, match="problem"):
        call_command("validate_feed", "show", stdout=out, stderr=StringIO())

    (line,) = [line for line in out.getvalue().splitlines() if line.startswith("public base")]
    assert "answers as another podcasthost instance" in line
