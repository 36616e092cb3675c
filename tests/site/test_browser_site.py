"""The public site in a real Chromium: looks, accessibility, the player, framing, hostile input.

Screenshots of each page at phone and desktop width, light and dark, are kept
under ``SITE_SCREENSHOT_DIR`` (default ``var/test-artifacts/site/``).
Chapters and transcripts are not stored yet (the transcripts issue adds
them); the player lights up from whatever ``feeds.site.chapters_for`` and
``transcript_for`` return, so these tests feed those two hooks.
"""

from __future__ import annotations

import http.server
import os
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from feeds import site
from tests.servers import ROOT
from tests.site.conftest import attach_real_audio, give_cover
from tests.uploads.test_browser_upload import CHROMIUM_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
HOSTILE = '"><img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
CHAPTERS = [
    site.Chapter(0, "Cold open"),
    site.Chapter(10, "The interview"),
    site.Chapter(20, "Listener mail"),
]
CUES = [
    site.Cue(i * 5, i * 5 + 5, text, speaker="Nadia" if i % 2 == 0 else "Guest")
    for i, text in enumerate(
        [
            "Welcome to the night shift.",
            "Tonight we talk about lighthouses.",
            "My first lighthouse was in Maine.",
            "The lamp turned every ten seconds.",
            "We read a letter from a keeper.",
            "Thanks for listening, goodnight.",
        ]
    )
]


def screenshot_dir() -> Path:
    path = Path(os.environ.get("SITE_SCREENSHOT_DIR") or ROOT / "var" / "test-artifacts" / "site")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(autouse=True)
def async_unsafe_allowed(monkeypatch):
    """Playwright's sync API runs an event loop in this thread (see tests/uploads)."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def base_url(live_server, settings):
    """The live server is the public origin: canonical links, feed and media URLs point at it."""
    settings.PUBLIC_BASE_URL = live_server.url
    settings.FEED_BASE_URL = live_server.url
    storages = dict(settings.STORAGES)
    storages["media"] = {
        **storages["media"],
        "OPTIONS": {**storages["media"]["OPTIONS"], "base_url": f"{live_server.url}/media/"},
    }
    settings.STORAGES = storages
    return live_server.url


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium"),
            args=[*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"],
        )
        try:
            yield chromium
        finally:
            chromium.close()


class Watched:
    """A page whose CSP violations, script errors and dialogs are recorded."""

    def __init__(self, browser, viewport, color_scheme="light", **context):
        self.context = browser.new_context(viewport=viewport, color_scheme=color_scheme, **context)
        self.page = self.context.new_page()
        self.page.set_default_timeout(30_000)
        self.problems: list[str] = []
        self.page.on("pageerror", lambda exc: self.problems.append(f"error: {exc}"))
        self.page.on(
            "dialog", lambda d: (self.problems.append(f"dialog: {d.message}"), d.dismiss())
        )
        self.page.on(
            "console",
            lambda m: (
                self.problems.append(f"console: {m.text}")
                if "Content Security Policy" in m.text or m.type == "error"
                else None
            ),
        )

    def close(self):
        self.context.close()


@pytest.fixture
def show(base_url, make_podcast, make_episode, now, monkeypatch):
    """A show with a cover and two published episodes; the newer one plays real audio."""
    podcast = make_podcast(
        slug="night-shift",
        title="Night Shift",
        author="Nadia Okafor",
        description="<p>Stories from <strong>after dark</strong>, told by those who work it.</p>",
        apple_podcasts_url="https://podcasts.apple.com/us/podcast/night-shift/id123",
        spotify_url="https://open.spotify.com/show/abc",
        overcast_url="https://overcast.fm/itunes123",
    )
    give_cover(podcast)
    older = make_episode(
        podcast,
        title="The first night",
        slug="first-night",
        description="<p>Where it began.</p>",
        season=1,
        number=1,
        publish_at=now - timedelta(days=7),
    )
    attach_real_audio(older, seconds=5)
    newer = make_episode(
        podcast,
        title="Lighthouses",
        slug="lighthouses",
        description="<p>A keeper's letters, and <a href='https://example.com'>a map</a>.</p>",
        season=1,
        number=2,
        publish_at=now - timedelta(days=1),
    )
    attach_real_audio(newer, seconds=30)
    monkeypatch.setattr(site, "chapters_for", lambda e: CHAPTERS if e.slug == "lighthouses" else [])
    monkeypatch.setattr(site, "transcript_for", lambda e: CUES if e.slug == "lighthouses" else [])
    return podcast


PAGES = {
    "show": "/night-shift/",
    "episode": "/night-shift/lighthouses/",
    "embed": "/night-shift/lighthouses/embed",
}


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_pages_look_right_on_phone_and_desktop_with_no_axe_violations(
    browser, base_url, show, scheme
):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    out = screenshot_dir()
    for size_name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        watched = Watched(browser, viewport, color_scheme=scheme)
        page = watched.page
        try:
            for name, path in PAGES.items():
                response = page.goto(f"{base_url}{path}")
                assert response.status == 200
                page.wait_for_load_state("networkidle")
                # The stylesheet is applied (CSP allowed it) and nothing scrolls sideways.
                assert page.evaluate("getComputedStyle(document.body).margin") == "0px"
                overflow = page.evaluate(
                    "document.documentElement.scrollWidth - document.documentElement.clientWidth"
                )
                assert overflow <= 0, f"{name} scrolls sideways at {size_name}"
                shot = out / f"{name}-{size_name}-{scheme}.png"
                page.screenshot(path=str(shot), full_page=name != "embed")
                assert shot.stat().st_size > 5_000
                results = axe.run(page)
                assert results.violations_count == 0, (
                    f"{name} at {size_name} ({scheme}):\n{results.generate_report()}"
                )
            assert watched.problems == []
        finally:
            watched.close()


def test_player_plays_changes_speed_seeks_by_chapter_and_follows_the_transcript(
    browser, base_url, show
):
    from playwright.sync_api import expect

    watched = Watched(browser, DESKTOP)
    page = watched.page
    try:
        page.goto(f"{base_url}/night-shift/lighthouses/")
        audio = page.locator("audio")
        page.wait_for_function("() => document.querySelector('audio').readyState >= 1")
        assert round(page.evaluate("document.querySelector('audio').duration")) == 30

        page.evaluate("document.querySelector('audio').play()")
        page.wait_for_function("() => document.querySelector('audio').currentTime > 0.5")
        assert page.evaluate("document.querySelector('audio').paused") is False

        page.select_option("[data-speed]", "1.5")
        assert page.evaluate("document.querySelector('audio').playbackRate") == 1.5

        page.get_by_role("button", name="The interview").click()
        page.wait_for_function("() => document.querySelector('audio').currentTime >= 10")
        page.evaluate("document.querySelector('audio').pause()")  # hold still to look
        assert 10 <= page.evaluate("document.querySelector('audio').currentTime") < 15
        expect(page.locator(".chapter[aria-current=true]")).to_have_text("0:10 The interview")
        # The transcript follows: the line being spoken (10-15 s) is the current one.
        expect(page.locator(".cue.current .text")).to_have_text("My first lighthouse was in Maine.")

        page.get_by_role("button", name="Listener mail").click()
        page.wait_for_function("() => document.querySelector('audio').currentTime >= 20")
        page.evaluate("document.querySelector('audio').pause()")
        assert 20 <= page.evaluate("document.querySelector('audio').currentTime") < 25
        expect(page.locator(".chapter[aria-current=true]")).to_have_text("0:20 Listener mail")
        expect(page.locator(".cue.current .text")).to_have_text("We read a letter from a keeper.")
        # Following playback scrolled the current line into the transcript's view.
        assert page.evaluate(
            "(() => { const c = document.querySelector('.cue.current'), b = c.parentElement;"
            " return c.offsetTop - b.offsetTop >= b.scrollTop &&"
            " c.offsetTop - b.offsetTop < b.scrollTop + b.clientHeight; })()"
        )

        # A transcript line's time seeks there too.
        page.get_by_role("button", name="Play from 0:05").click()
        page.wait_for_function(
            "() => { const t = document.querySelector('audio').currentTime;"
            " return t >= 5 && t < 10; }"
        )
        page.evaluate("document.querySelector('audio').pause()")
        expect(page.locator(".cue.current .text")).to_have_text(
            "Tonight we talk about lighthouses."
        )

        # Search narrows the transcript to matching lines and highlights the match.
        page.get_by_label("Search the transcript").fill("lighthouse")
        expect(page.locator(".cue:not([hidden])")).to_have_count(2)
        expect(page.locator(".cue mark").first).to_have_text("lighthouse")
        expect(page.locator("[data-match-count]")).to_have_text("2 lines match")
        page.get_by_label("Search the transcript").fill("")
        expect(page.locator(".cue:not([hidden])")).to_have_count(6)
        expect(audio).to_be_visible()
        assert watched.problems == []
    finally:
        watched.close()


def test_player_is_usable_from_the_keyboard(browser, base_url, show):
    watched = Watched(browser, DESKTOP)
    page = watched.page
    try:
        page.goto(f"{base_url}/night-shift/lighthouses/embed")
        page.wait_for_function("() => document.querySelector('audio').readyState >= 1")
        focused = []
        for _ in range(12):
            page.keyboard.press("Tab")
            focused.append(
                page.evaluate(
                    "document.activeElement.tagName + ':' + "
                    "(document.activeElement.textContent || '').trim().slice(0, 30)"
                )
            )
            if focused[-1].startswith("BUTTON:0:20"):
                break
        assert any(f.startswith("AUDIO") for f in focused), focused
        assert any(f.startswith("SELECT") for f in focused), focused
        assert focused[-1] == "BUTTON:0:20 Listener mail", focused
        page.keyboard.press("Enter")
        page.wait_for_function("() => document.querySelector('audio').currentTime >= 20")
        assert page.evaluate("document.querySelector('audio').paused") is False

        # Speed from the keyboard: focus the select, arrow down to the next speed.
        page.focus("[data-speed]")
        page.keyboard.press("ArrowDown")
        assert page.evaluate("document.querySelector('audio').playbackRate") == 1.25
        assert watched.problems == []
    finally:
        watched.close()


def test_copy_feed_url_puts_the_feed_on_the_clipboard(browser, base_url, show):
    watched = Watched(browser, DESKTOP, permissions=["clipboard-read", "clipboard-write"])
    page = watched.page
    try:
        page.goto(f"{base_url}/night-shift/")
        page.get_by_role("button", name="Copy feed URL").click()
        page.wait_for_function(
            "() => document.querySelector('.copy-status').textContent === 'Copied.'"
        )
        assert page.evaluate("navigator.clipboard.readText()") == f"{base_url}/night-shift/feed.xml"
        assert page.get_by_role("link", name="Listen on Spotify").get_attribute("href") == (
            "https://open.spotify.com/show/abc"
        )
    finally:
        watched.close()


@pytest.fixture
def other_origin(base_url):
    """A second server, on another origin, whose page frames the embed and the show page."""
    html = f"""<!doctype html><html lang="en"><head><title>A blog</title></head><body>
<h1>My blog post</h1>
<iframe id="embed" title="player" src="{base_url}/night-shift/lighthouses/embed"
        width="600" height="200"></iframe>
<iframe id="latest" title="latest" src="{base_url}/night-shift/embed"
        width="600" height="200"></iframe>
<iframe id="show" title="show" src="{base_url}/night-shift/" width="600" height="200"></iframe>
<iframe id="episode" title="episode" src="{base_url}/night-shift/lighthouses/"
        width="600" height="200"></iframe>
</body></html>""".encode()

    class Blog(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(html)))
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Blog)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        # 127.0.0.1 vs the live server's "localhost", another port: another origin.
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_embed_loads_inside_another_origins_iframe_and_other_pages_refuse(
    browser, base_url, show, other_origin
):
    watched = Watched(browser, DESKTOP)
    page = watched.page
    try:
        page.goto(other_origin)
        page.wait_for_load_state("networkidle")
        by_url = {f.url: f for f in page.frames if f is not page.main_frame}
        embed = by_url.get(f"{base_url}/night-shift/lighthouses/embed")
        latest = by_url.get(f"{base_url}/night-shift/embed")
        assert embed is not None and latest is not None, list(by_url)
        assert embed.locator("h1").inner_text() == "Lighthouses"
        assert latest.locator("h1").inner_text() == "Lighthouses"
        # The framed player works: it plays.
        embed.evaluate("document.querySelector('audio').play()")
        embed.wait_for_function("() => document.querySelector('audio').currentTime > 0.3")

        # The show and episode pages refuse to be framed (CSP frame-ancestors + X-Frame-Options).
        for path in ("/night-shift/", "/night-shift/lighthouses/"):
            frame = by_url.get(f"{base_url}{path}")
            if frame is not None:  # Chromium may keep the URL of a blocked frame
                assert frame.evaluate("document.title") == "" or frame.url.startswith(
                    "chrome-error:"
                ), path
                assert frame.locator("h1").count() == 0, path
        refused = [p for p in watched.problems if "frame-ancestors" in p or "X-Frame" in p]
        assert len(refused) >= 2, watched.problems
    finally:
        watched.close()


def test_hostile_titles_and_notes_never_execute(browser, base_url, show, make_episode, now):
    evil = make_episode(
        show,
        title=HOSTILE,
        slug="evil",
        description=f"<p>Notes</p>{HOSTILE}<a href='javascript:window.pwned=3'>click</a>"
        "<svg onload='window.pwned=4'></svg><iframe src='javascript:window.pwned=5'></iframe>",
        publish_at=now - timedelta(hours=1),
    )
    attach_real_audio(evil, seconds=3)
    watched = Watched(browser, DESKTOP)
    page = watched.page
    try:
        for path in ("/night-shift/", "/night-shift/evil/", "/night-shift/evil/embed"):
            page.goto(f"{base_url}{path}")
            page.wait_for_load_state("networkidle")
            assert page.evaluate("typeof window.pwned") == "undefined", path
            assert page.locator("img[src=x]").count() == 0, path
            for link in page.locator("a").all():
                assert not (link.get_attribute("href") or "").startswith("javascript:"), path
        page.goto(f"{base_url}/night-shift/evil/")
        assert page.locator("h1").inner_text() == HOSTILE  # shown as text, exactly
        assert [p for p in watched.problems if p.startswith("dialog")] == []
    finally:
        watched.close()
