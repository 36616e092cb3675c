"""The episode page in a real Chromium: messages follow the status; lists fit 1280 px."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

from episodes import pipeline
from episodes.models import Episode
from episodes.receivers import enqueue_processing
from episodes.signals import episode_transitioned
from tests.uploads.conftest import make_wav
from tests.uploads.test_browser_upload import CHROMIUM_ARGS

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def async_unsafe_allowed(monkeypatch):
    """Playwright's sync API runs an event loop in this thread (see test_browser_upload)."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def page_at():
    """``page_at(width, height)``: a fresh Chromium page of that viewport."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium"),
            args=CHROMIUM_ARGS,
        )
        try:

            def open_page(width: int, height: int):
                page = browser.new_context(viewport={"width": width, "height": height}).new_page()
                page.set_default_timeout(30_000)
                return page

            yield open_page
        finally:
            browser.close()


@pytest.fixture
def test_plays_the_worker():
    """Uploads stay where they are until the test moves them (the pipeline's enqueueing paused)."""
    episode_transitioned.disconnect(dispatch_uid="episodes.receivers.enqueue_processing")
    yield
    episode_transitioned.connect(
        enqueue_processing, dispatch_uid="episodes.receivers.enqueue_processing"
    )


def log_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_upload_message_gives_way_to_ready_and_failed_and_fields_fill_in_live(
    live_server, page_at, test_plays_the_worker, make_creator, make_podcast, make_episode, tmp_path
):
    from playwright.sync_api import expect

    creator = make_creator("gil", password=PASSWORD)
    episode = make_episode(make_podcast(members=[creator], slug="gils-show"), slug="pilot")
    page = page_at(1280, 1100)
    log_in(page, live_server.url, "gil")
    page.goto(f"{live_server.url}/admin/episodes/episode/{episode.pk}/change/")
    page.evaluate("window.__noReload = true")
    message = page.locator(".upload-message")
    audio = tmp_path / "pilot.wav"
    audio.write_bytes(make_wav(2))

    page.set_input_files("#episode-audio-file", str(audio))
    page.click("[data-action=upload]")
    expect(page.locator(".upload-message.success")).to_contain_text("Processing starts shortly")
    expect(page.locator("[data-live=status]")).to_have_text("Uploaded")
    expect(page.locator(".field-source_duration .readonly")).to_have_text("-")
    expect(page.locator("[data-live=renditions] tr")).to_have_count(0)

    # The worker: real probe and ffmpeg transcode of the uploaded file.
    pipeline.process_episode(episode.pk)
    assert Episode.objects.get(pk=episode.pk).status == Episode.Status.READY

    expect(page.locator("[data-live=status]")).to_have_text("Ready", timeout=15_000)
    expect(message).to_be_hidden()
    expect(page.locator(".field-source_duration .readonly")).to_have_text("0:00:02")
    expect(page.locator(".field-source_size .readonly")).to_have_text("353 KB")
    expect(page.locator(".field-source_format .readonly")).to_contain_text("wav")
    expect(page.locator("[data-live=renditions] tr")).to_have_count(3)
    expect(page.locator("[data-live=renditions]")).to_contain_text("audio/mpeg")
    if os.environ.get("LIVE_STATUS_SCREENSHOT"):
        page.screenshot(path=os.environ["LIVE_STATUS_SCREENSHOT"], full_page=True)

    # New audio for the ready episode, and this time the worker fails it.
    page.set_input_files("#episode-audio-file", str(audio))
    page.click("[data-action=upload]")
    expect(page.locator(".upload-message.success")).to_be_visible()
    expect(page.locator("[data-live=status]")).to_have_text("Processing")
    Episode.objects.get(pk=episode.pk).mark_failed("Not audio: the file has no audio stream.")

    expect(page.locator("[data-live=status]")).to_have_text("Failed", timeout=15_000)
    expect(page.locator("[data-live=error]")).to_have_text(
        "Not audio: the file has no audio stream."
    )
    expect(message).to_be_hidden()
    assert page.evaluate("window.__noReload") is True


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("shows", [1, 2])
def test_episode_list_fits_1280_px_and_says_each_publication_state(
    live_server, page_at, make_creator, make_podcast, make_episode, now, shows
):
    creator = make_creator("hal", password=PASSWORD)
    show = make_podcast(members=[creator], slug="hals-show", title="Hal's rather long show name")
    if shows == 2:
        make_podcast(members=[creator], slug="hals-other-show")
    for i, publish_at in enumerate((now - timedelta(days=2), now + timedelta(days=5), None)):
        episode = make_episode(
            show,
            title=f"Episode {i}: a reasonably long title of a real episode",
            publish_at=publish_at,
        )
        episode.duration_seconds = 3725.2
        episode.save(update_fields=["duration_seconds"])
    page = page_at(1280, 800)
    log_in(page, live_server.url, "hal")
    page.goto(f"{live_server.url}/admin/episodes/episode/")
    if os.environ.get("ADMIN_LIST_SCREENSHOT"):
        page.screenshot(path=f"{os.environ['ADMIN_LIST_SCREENSHOT']}-{shows}.png", full_page=True)

    layout = page.evaluate(
        """() => {
        const table = document.getElementById('result_list');
        const box = table.closest('.results');
        const title = table.querySelector('tbody .field-title a');
        const lineHeight = parseFloat(getComputedStyle(title).lineHeight);
        const cells = (name) => [...table.querySelectorAll('tbody .field-' + name)];
        return {
            tableWidth: table.scrollWidth,
            visibleWidth: box.clientWidth,
            titleLines: Math.round(title.getBoundingClientRect().height / lineHeight),
            publication: cells('publication').map(td => td.innerText),
            duration: cells('duration').map(td => td.innerText),
        };
    }"""
    )
    assert layout["tableWidth"] <= layout["visibleWidth"], layout  # nothing clipped
    assert layout["titleLines"] <= 2, layout
    states = sorted(p.split(" ")[0] for p in layout["publication"])
    assert states == ["Not", "Published", "Scheduled"], layout
    assert layout["duration"] == ["1:02:05"] * 3, layout
