"""Transcripts in a real Chromium: another site's player loads them cross-origin, and the
episode page follows playback with the stored transcript."""

from __future__ import annotations

import http.server
import threading

import pytest

from tests.site import test_browser_site as site_browser
from tests.site.conftest import attach_real_audio
from tests.site.test_browser_site import DESKTOP, Watched

# The public site's browser fixtures, as they are.
async_unsafe_allowed = site_browser.async_unsafe_allowed
base_url = site_browser.base_url
browser = site_browser.browser

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def episode(base_url, make_podcast, make_episode, attach, now):
    from datetime import timedelta

    podcast = make_podcast(slug="lights", title="Lights")
    episode = make_episode(
        podcast, slug="keepers", title="The keepers", publish_at=now - timedelta(hours=1)
    )
    attach_real_audio(episode, seconds=30)
    attach(episode, "lighthouse.vtt", language="en")
    return episode


@pytest.fixture
def other_origin(base_url):
    """A web player on another origin that loads the transcript as a track and with fetch()."""
    html = f"""<!doctype html><html lang="en"><head><title>Web player</title></head><body>
<video id="player" crossorigin="anonymous" muted>
  <track id="captions" kind="captions" srclang="en" label="English"
         src="{base_url}/lights/keepers/transcript.en.vtt">
</video>
<script>
  const track = document.getElementById("captions");
  track.track.mode = "hidden";
  track.addEventListener("load", () => {{ window.trackLoaded = true; }});
  track.addEventListener("error", () => {{ window.trackLoaded = false; }});
  fetch("{base_url}/lights/keepers/transcript.en.json")
    .then((r) => r.json())
    .then((data) => {{ window.segments = data.segments; }})
    .catch((e) => {{ window.fetchError = String(e); }});
</script>
</body></html>""".encode()

    class Player(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(html)))
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Player)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        # 127.0.0.1 vs the live server's "localhost", another port: another origin.
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_another_sites_player_loads_the_webvtt_track_and_the_json_cross_origin(
    browser, episode, other_origin
):
    watched = Watched(browser, DESKTOP)
    page = watched.page
    try:
        page.goto(other_origin)
        page.wait_for_function("() => window.trackLoaded !== undefined")
        page.wait_for_function("() => window.segments || window.fetchError")
        assert page.evaluate("window.trackLoaded") is True
        # Chromium's own WebVTT parser reads our file: every cue, with its voice span.
        cues = page.evaluate(
            "Array.from(document.getElementById('captions').track.cues)"
            ".map(c => [c.startTime, c.endTime, c.text])"
        )
        assert cues[0] == [0.5, 3.2, "<v Ana>Welcome to the Lighthouse hour."]
        assert [c[:2] for c in cues] == [[0.5, 3.2], [3, 6], [6, 9.75], [6, 9.75], [10, 12]]
        assert page.evaluate("window.fetchError") is None
        assert page.evaluate("window.segments.length") == 5
        assert page.evaluate("window.segments[1].speaker") == "Ben Okafor"
        assert watched.problems == []
    finally:
        watched.close()


def test_the_episode_page_follows_playback_with_the_stored_transcript(browser, base_url, episode):
    from playwright.sync_api import expect

    watched = Watched(browser, DESKTOP)
    page = watched.page
    try:
        page.goto(f"{base_url}/lights/keepers/")
        page.wait_for_function("() => document.querySelector('audio').readyState >= 1")
        expect(page.locator(".cue")).to_have_count(5)
        page.get_by_role("button", name="Play from 0:10").click()
        page.wait_for_function("() => document.querySelector('audio').currentTime >= 10")
        page.evaluate("document.querySelector('audio').pause()")
        expect(page.locator(".cue.current .text")).to_have_text("No voice here.")
        page.get_by_label("Search the transcript").fill("fog")
        expect(page.locator(".cue:not([hidden])")).to_have_count(1)
        assert watched.problems == []
    finally:
        watched.close()
