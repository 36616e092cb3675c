"""A creator uploads audio from the admin in a real Chromium and sees the episode move on."""

from __future__ import annotations

import os
import re

import pytest

from episodes.models import Episode
from episodes.receivers import enqueue_processing
from episodes.signals import episode_transitioned
from tests.uploads.conftest import make_wav


@pytest.fixture(autouse=True)
def async_unsafe_allowed(monkeypatch):
    """Playwright's sync API runs an event loop in this thread; the ORM calls
    made here are plain synchronous ones. Only for these tests: the variable
    must not leak into other tests' subprocesses (check --deploy refuses it)."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser_page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium"),
            args=CHROMIUM_ARGS,
        )
        context = browser.new_context(viewport={"width": 1280, "height": 1100})
        page = context.new_page()
        page.set_default_timeout(30_000)
        try:
            yield page
        finally:
            context.close()
            browser.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_creator_uploads_audio_with_live_progress_and_status(
    live_server, browser_page, make_creator, tmp_path
):
    from playwright.sync_api import expect

    page = browser_page
    make_creator("erin", password="correct horse battery")
    audio = tmp_path / "Pilot episode.wav"
    audio.write_bytes(make_wav(30))  # about 5 MB

    # Log in.
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "erin")
    page.fill("#id_password", "correct horse battery")
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_be_visible()

    # Create a show.
    page.goto(f"{live_server.url}/admin/episodes/podcast/add/")
    page.locator("#id_title").press_sequentially("Erin's show")
    expect(page.locator("#id_slug")).to_have_value("erins-show")  # prepopulated
    page.fill("#id_description", "A show.")
    page.fill("#id_owner_email", "erin@example.com")  # Apple requires it; so does the form
    page.select_option("#id_category", "Technology")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist .success")).to_be_visible()

    # Create an episode: the add page says to save first.
    page.goto(f"{live_server.url}/admin/episodes/episode/add/")
    expect(page.locator(".episode-audio-hint")).to_be_visible()
    page.select_option("#id_podcast", index=1)
    expect(page.locator("#id_podcast option:checked")).to_contain_text("erins-show")
    page.locator("#id_title").press_sequentially("Pilot")
    expect(page.locator("#id_slug")).to_have_value("pilot")
    page.click("input[name=_continue]")
    expect(page.locator("#episode-audio")).to_be_visible()
    episode = Episode.objects.get(podcast__slug="erins-show", slug="pilot")
    expect(page.locator("[data-live=status]")).to_have_text("Draft")

    # Record every value the upload bar takes; mark the page to prove no reload.
    page.evaluate(
        """() => {
        window.__noReload = true;
        window.__progress = [];
        window.__progressText = [];
        window.__messages = [];
        const message = document.querySelector('.upload-message');
        new MutationObserver(() => window.__messages.push([message.className, message.textContent]))
            .observe(message, {attributes: true, childList: true, subtree: true});
        const bar = document.getElementById('upload-progress');
        const text = document.getElementById('upload-progress-text');
        new MutationObserver(() => window.__progress.push(Number(bar.getAttribute('value'))))
            .observe(bar, {attributes: true, attributeFilter: ['value']});
        new MutationObserver(() => window.__progressText.push(text.textContent))
            .observe(text, {childList: true, characterData: true, subtree: true});
    }"""
    )
    # Throttle uploads (~2 MB/s) so progress events happen while the bar is watched.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 5, "downloadThroughput": -1, "uploadThroughput": 2_000_000},
    )

    page.set_input_files("#episode-audio-file", str(audio))
    page.click("[data-action=upload]")
    expect(page.locator("[data-action=cancel]")).to_be_visible()
    # Celery runs eagerly in tests: the commit of "uploaded" ran the real
    # pipeline, and the open page follows it to "Ready" without a reload.
    expect(page.locator("[data-live=status]")).to_have_text("Ready", timeout=60_000)
    # The success message was shown (it gives way to the status once Ready).
    messages = page.evaluate("window.__messages")
    assert any("success" in kind and "Uploaded" in text for kind, text in messages), messages
    if os.environ.get("UPLOAD_SCREENSHOT"):
        page.screenshot(path=os.environ["UPLOAD_SCREENSHOT"], full_page=True)

    values = page.evaluate("window.__progress")
    texts = page.evaluate("window.__progressText")
    assert len({v for v in values if 0 < v < 100}) >= 3, values
    assert values == sorted(values) and values[-1] == 100
    assert re.fullmatch(r"5\.\d MB of 5\.\d MB \(100%\)", texts[-1]), texts[-1]
    assert any(re.fullmatch(r"\d\.\d MB of 5\.\d MB \(\d{1,2}%\)", t) for t in texts), texts

    episode.refresh_from_db()
    assert episode.status == Episode.Status.READY
    assert episode.renditions.count() == 3
    assert episode.source_bytes == audio.stat().st_size
    assert episode.source_filename == "Pilot-episode.wav"

    # The test plays a worker re-transcoding the episode (the pipeline's own
    # enqueueing is paused so the moves below are the only ones).
    episode_transitioned.disconnect(dispatch_uid="episodes.receivers.enqueue_processing")
    try:
        episode.start_processing()
        episode.record_progress(40)
        expect(page.locator("[data-live=status]")).to_have_text("Processing", timeout=15_000)
        expect(page.locator("[data-live=percent]")).to_have_text("40%", timeout=15_000)
        expect(page.locator(".field-status .readonly")).to_have_text("Processing")
        episode.mark_failed("Not audio: the file has no audio stream.")
    finally:
        episode_transitioned.connect(
            enqueue_processing, dispatch_uid="episodes.receivers.enqueue_processing"
        )
    expect(page.locator("[data-live=error]")).to_have_text(
        "Not audio: the file has no audio stream.", timeout=15_000
    )
    expect(page.locator("[data-live=status]")).to_have_text("Failed")
    assert page.evaluate("window.__noReload") is True


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_refused_upload_and_cancel_show_clear_messages(
    live_server, browser_page, make_creator, make_podcast, make_episode, tmp_path, settings
):
    from playwright.sync_api import expect

    page = browser_page
    creator = make_creator("fay", password="correct horse battery")
    episode = make_episode(make_podcast(members=[creator], slug="fays-show"), slug="ep")
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "fay")
    page.fill("#id_password", "correct horse battery")
    page.click("input[type=submit]")
    page.goto(f"{live_server.url}/admin/episodes/episode/{episode.pk}/change/")

    # Not audio: refused by the server with a message a creator understands.
    notes = tmp_path / "notes.pdf"
    notes.write_bytes(b"%PDF-1.4 not audio")
    page.set_input_files("#episode-audio-file", str(notes))
    page.click("[data-action=upload]")
    expect(page.locator(".upload-message.error")).to_contain_text("does not look like audio")

    # Cancel in the middle of a slow upload: nothing changes.
    audio = tmp_path / "long.wav"
    audio.write_bytes(make_wav(30))
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 5, "downloadThroughput": -1, "uploadThroughput": 500_000},
    )
    page.set_input_files("#episode-audio-file", str(audio))
    page.click("[data-action=upload]")
    expect(page.locator("#upload-progress-text")).to_contain_text("%")
    page.wait_for_function("Number(document.getElementById('upload-progress').value) > 0")
    page.click("[data-action=cancel]")
    expect(page.locator(".upload-message")).to_have_text("Upload cancelled. Nothing was changed.")
    episode.refresh_from_db()
    assert episode.status == Episode.Status.DRAFT
