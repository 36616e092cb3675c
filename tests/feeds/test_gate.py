"""The publish gate: errors block a publish and keep the last good feed; warnings do not."""

from __future__ import annotations

import http.server
import threading
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.dispatch import receiver
from django.utils import timezone

from episodes.models import Episode, Rendition
from feeds.gate import head_problem
from feeds.models import FeedPublication, FeedState
from feeds.publishing import publish_due, publish_feed
from feeds.signals import feed_publish_blocked
from tests.feeds.conftest import parse_both


@pytest.fixture
def blocked_signals():
    sent = []

    @receiver(feed_publish_blocked, weak=False, dispatch_uid="test-gate-blocked")
    def remember(sender, podcast_id, findings, **kwargs):
        sent.append((podcast_id, findings))

    yield sent
    feed_publish_blocked.disconnect(dispatch_uid="test-gate-blocked")


def stored_feed(podcast) -> bytes | None:
    key = f"{podcast.slug}/feed.xml"
    feeds = storages["feeds"]
    if not feeds.exists(key):
        return None
    with feeds.open(key, "rb") as f:
        return f.read()


def titles(body: bytes) -> list[str]:
    return [e.title for e in parse_both(body)[0].entries]


@pytest.fixture
def live_show(make_podcast, make_published):
    """A show whose feed is published with one episode."""
    podcast = make_podcast()
    make_published(podcast, title="First")
    result = publish_feed(podcast.pk)
    assert result.changed and not result.blocked, result.findings
    return podcast


def errors_on(podcast) -> list[dict]:
    state = FeedState.objects.get(podcast=podcast)
    return [f for f in state.findings if f["severity"] == "error"]


def test_missing_owner_email_blocks_and_keeps_the_last_good_feed(
    live_show, make_published, blocked_signals, client
):
    before = stored_feed(live_show)
    live_show.owner_email = ""
    live_show.save()
    make_published(live_show, title="Second")

    result = publish_feed(live_show.pk)

    assert result.blocked and not result.changed
    assert stored_feed(live_show) == before
    assert titles(client.get(f"/{live_show.slug}/feed.xml").content) == ["First"]
    [error] = errors_on(live_show)
    assert "<itunes:email>" in error["message"] and "owner e-mail" in error["fix"]
    assert FeedState.objects.get(podcast=live_show).blocked_at is not None
    blocked = FeedPublication.objects.get(podcast=live_show, status="blocked")
    assert "<itunes:email>" in blocked.error
    assert blocked_signals == [(live_show.pk, [error["message"]])]


def test_fixing_the_error_publishes_and_clears_the_block(live_show, make_published):
    live_show.owner_email = ""
    live_show.save()
    make_published(live_show, title="Second")
    assert publish_feed(live_show.pk).blocked

    live_show.owner_email = "owner@example.com"
    live_show.save()
    result = publish_feed(live_show.pk)

    assert result.changed and not result.blocked
    assert titles(stored_feed(live_show)) == ["Second", "First"]
    state = FeedState.objects.get(podcast=live_show)
    assert state.blocked_at is None and errors_on(live_show) == []


def test_the_same_errors_are_reported_once(live_show, blocked_signals):
    live_show.owner_email = ""
    live_show.save()
    publish_feed(live_show.pk)
    publish_feed(live_show.pk)
    assert len(blocked_signals) == 1
    assert FeedPublication.objects.filter(podcast=live_show, status="blocked").count() == 1


def test_a_show_without_artwork_is_never_published(make_podcast, make_published):
    podcast = make_podcast(cover=None)
    make_published(podcast)

    result = publish_feed(podcast.pk)

    assert result.blocked
    assert stored_feed(podcast) is None
    [error] = errors_on(podcast)
    assert "itunes:image" in error["message"] and "Cover" in error["fix"]


def test_warnings_do_not_block(make_podcast, make_published):
    podcast = make_podcast(author="")
    make_published(podcast)

    result = publish_feed(podcast.pk)

    assert result.changed and not result.blocked
    [warning] = FeedState.objects.get(podcast=podcast).findings
    assert warning["severity"] == "warning" and "<itunes:author>" in warning["message"]
    assert warning["fix"]


def test_a_new_enclosure_of_the_wrong_length_blocks(live_show, make_published):
    episode = make_published(live_show, title="Second")
    Rendition.objects.filter(episode=episode, preset="mp3").update(size_bytes=12345)
    before = stored_feed(live_show)

    result = publish_feed(live_show.pk)

    assert result.blocked
    assert stored_feed(live_show) == before
    [error] = errors_on(live_show)
    assert "Content-Length" in error["message"] and "12345" in error["message"]


def test_a_new_enclosure_missing_from_storage_blocks(live_show, make_published):
    episode = make_published(live_show, title="Second")
    storages["media"].delete(episode.renditions.get(preset="mp3").key)

    assert publish_feed(live_show.pk).blocked
    [error] = errors_on(live_show)
    assert "answered 404" in error["message"]


def test_enclosures_already_published_are_not_fetched_again(live_show, make_published):
    # The first episode's file goes away after it was checked and published:
    # only new enclosures are checked, so an edit of the show still publishes.
    first = live_show.episodes.get()
    storages["media"].delete(first.renditions.get(preset="mp3").key)
    live_show.title = "Renamed show"
    live_show.save()

    result = publish_feed(live_show.pk)

    assert result.changed and not result.blocked


class WrongHeaders(http.server.BaseHTTPRequestHandler):
    """Answers HEAD like a misconfigured web server: text/plain, no Accept-Ranges."""

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "10")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def wrong_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), WrongHeaders)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_head_names_every_wrong_header(wrong_server):
    problem = head_problem(f"{wrong_server}/a.mp3", mime_type="audio/mpeg", length="99", timeout=5)
    assert "Content-Type text/plain (expected audio/mpeg)" in problem
    assert "no Accept-Ranges: bytes" in problem
    assert "Content-Length 10 (the feed says 99)" in problem


def test_head_of_a_server_that_is_down_is_a_problem_not_a_crash():
    problem = head_problem(
        "http://127.0.0.1:9/a.mp3", mime_type="audio/mpeg", length="1", timeout=2
    )
    assert problem.startswith("HEAD http://127.0.0.1:9/a.mp3 failed")
    assert "not an http(s) URL" in head_problem(
        "file:///etc/passwd", mime_type="audio/mpeg", length="1", timeout=2
    )


def test_a_media_host_with_wrong_headers_blocks(live_show, make_published, settings, wrong_server):
    stores = dict(settings.STORAGES)
    stores["media"] = {
        **stores["media"],
        "OPTIONS": {**stores["media"]["OPTIONS"], "base_url": f"{wrong_server}/m/"},
    }
    settings.STORAGES = stores

    assert publish_feed(live_show.pk).blocked
    messages = " ".join(e["message"] for e in errors_on(live_show))
    assert "text/plain" in messages and "Accept-Ranges" in messages


def test_an_item_whose_guid_changed_blocks(live_show):
    import uuid

    episode = live_show.episodes.get()
    # As any write of an item's field does, it moves updated_at (the item's revision).
    Episode.objects.filter(pk=episode.pk).update(guid=uuid.uuid4(), updated_at=timezone.now())
    before = stored_feed(live_show)

    assert publish_feed(live_show.pk).blocked
    assert stored_feed(live_show) == before
    [error] = errors_on(live_show)
    assert f"guid changed from {episode.guid}" in error["message"]


def test_an_item_that_vanishes_while_published_blocks(live_show):
    # Its rows are gone without the creator unpublishing or deleting the episode.
    Rendition.objects.filter(episode__podcast=live_show).delete()
    before = stored_feed(live_show)

    assert publish_feed(live_show.pk).blocked
    assert stored_feed(live_show) == before
    [error] = errors_on(live_show)
    assert "vanished" in error["message"] and "audio files are gone" in error["message"]


@pytest.mark.parametrize("how", ["unpublish", "reschedule", "delete"])
def test_the_creator_may_take_an_episode_out(live_show, make_published, now, how):
    second = make_published(live_show, title="Second", publish_at=now - timedelta(minutes=5))
    assert titles(publish_feed(live_show.pk) and stored_feed(live_show)) == ["Second", "First"]
    if how == "delete":
        second.delete()
    else:
        second.publish_at = None if how == "unpublish" else now + timedelta(days=1)
        second.save()

    result = publish_feed(live_show.pk)

    assert result.changed and not result.blocked, result.findings
    assert titles(stored_feed(live_show)) == ["First"]


def test_the_sweep_checks_a_blocked_feed_again_later(live_show, make_published, now, settings):
    episode = make_published(live_show, title="Second")
    rendition = episode.renditions.get(preset="mp3")
    with storages["media"].open(rendition.key, "rb") as f:
        payload = f.read()
    storages["media"].delete(rendition.key)
    assert publish_feed(live_show.pk, now=now).blocked
    assert publish_due(now=now + timedelta(seconds=1)) == []

    # The file is back (say the CDN caught up); the sweep tries again after a while.
    storages["media"].save(rendition.key, __import__("io").BytesIO(payload))
    later = now + timedelta(seconds=settings.FEED_STALE_REQUEST_SECONDS + 1)
    assert publish_due(now=later) == [live_show.pk]
    publish_feed(live_show.pk, now=later)
    assert titles(stored_feed(live_show)) == ["Second", "First"]


def test_publish_anyway_writes_the_feed_and_says_who(live_show):
    live_show.owner_email = ""
    live_show.save()
    assert publish_feed(live_show.pk).blocked

    result = publish_feed(live_show.pk, override_by="alice")

    assert result.changed
    assert b"<itunes:email>" not in stored_feed(live_show)
    publication = FeedPublication.objects.filter(podcast=live_show).latest("created_at")
    assert publication.status == "published"
    assert publication.note.startswith("Published anyway by alice despite: Channel: <itunes:owner>")


def test_the_public_view_never_serves_a_first_rendering_with_errors(
    make_podcast, make_published, client, cover_png, django_capture_on_commit_callbacks
):
    podcast = make_podcast(cover=None)
    make_published(podcast, title="Only")

    assert client.get(f"/{podcast.slug}/feed.xml").status_code == 404
    checked = FeedState.objects.get(podcast=podcast)
    assert checked.blocked_at is not None
    # More requests within the minute are answered without rendering it again.
    assert client.get(f"/{podcast.slug}/feed.xml").status_code == 404
    assert FeedState.objects.get(podcast=podcast).checked_at == checked.checked_at

    # The creator adds artwork: that change publishes, and the feed is served.
    FeedState.objects.filter(podcast=podcast).update(publish_requested_at=None)  # test setup's
    with django_capture_on_commit_callbacks(execute=True):
        podcast.cover.save("cover.png", ContentFile(cover_png))
    answer = client.get(f"/{podcast.slug}/feed.xml")
    assert answer.status_code == 200
    assert titles(answer.content) == ["Only"]


def test_a_media_host_that_is_down_blocks_without_one_timeout_per_episode(
    make_podcast, make_published, settings
):
    podcast = make_podcast()
    for n in range(30):
        make_published(podcast, title=f"Ep {n}", presets=("mp3",))
    stores = dict(settings.STORAGES)
    stores["media"] = {
        **stores["media"],
        "OPTIONS": {**stores["media"]["OPTIONS"], "base_url": "http://127.0.0.1:9/m/"},
    }
    settings.STORAGES = stores

    assert publish_feed(podcast.pk).blocked
    messages = [e["message"] for e in errors_on(podcast)]
    failed = [m for m in messages if "does not answer" in m]
    # Checking stops after 20 failures (plus the HEADs already in flight).
    assert 20 <= len(failed) < 30
    assert messages[-1] == f"{30 - len(failed)} more new enclosures were not checked."
