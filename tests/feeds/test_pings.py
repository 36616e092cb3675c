"""WebSub and podping after a changed feed, against a real HTTP server on this machine."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from celery.exceptions import Retry

from feeds.publishing import publish_feed
from feeds.rss import NAMESPACES, build_feed
from feeds.tasks import ping_podping, ping_websub
from podcasthost.tasks import MAX_RETRIES
from tests.servers import recording_server

ATOM_LINK = f"{{{NAMESPACES['atom']}}}link"


def _channel_links(body: bytes) -> dict[str, str]:
    channel = ET.fromstring(body).find("channel")  # noqa: S314 (our own output)
    return {link.get("rel"): link.get("href") for link in channel.findall(ATOM_LINK)}


@pytest.fixture
def show(make_podcast, make_published):
    podcast = make_podcast()
    make_published(podcast, title="First")
    return podcast


def test_feed_names_its_hub_only_when_one_is_set(show, now, settings):
    settings.WEBSUB_HUB_URL = ""
    assert "hub" not in _channel_links(build_feed(show, now=now).body)

    settings.WEBSUB_HUB_URL = "https://hub.example.org/"
    links = _channel_links(build_feed(show, now=now).body)

    assert links == {"self": show.feed_url, "hub": "https://hub.example.org/"}


def test_a_changed_feed_pings_the_hub_and_podping(
    show, settings, django_capture_on_commit_callbacks
):
    with recording_server([204]) as hub, recording_server([200]) as podping:
        settings.WEBSUB_HUB_URL = f"{hub.url}/hub"
        settings.PODPING_URL = f"{podping.url}/"
        settings.PODPING_TOKEN = "s3cret-token"
        with django_capture_on_commit_callbacks(execute=True):
            assert publish_feed(show.pk).changed

    (ping,) = hub.received
    assert (ping.method, ping.path) == ("POST", "/hub")
    assert ping.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert ping.form == {"hub.mode": ["publish"], "hub.url": [show.feed_url]}
    (pp,) = podping.received
    assert pp.method == "GET"
    assert pp.query == {"url": [show.feed_url], "reason": ["update"], "medium": ["podcast"]}
    assert pp.headers["Authorization"] == "s3cret-token"
    assert pp.headers["User-Agent"].startswith("podcasthost")


def test_an_unchanged_feed_pings_nobody(show, settings, django_capture_on_commit_callbacks):
    publish_feed(show.pk)
    with recording_server([204]) as hub:
        settings.WEBSUB_HUB_URL = f"{hub.url}/hub"
        with django_capture_on_commit_callbacks(execute=True):
            # The hub URL is now in the feed: that change is pinged once...
            assert publish_feed(show.pk).changed
            # ...and a publish with nothing new is not.
            assert not publish_feed(show.pk).changed

    assert len(hub.received) == 1


def test_pings_are_off_when_unset(show, settings, django_capture_on_commit_callbacks):
    settings.WEBSUB_HUB_URL = ""
    settings.PODPING_URL = ""
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert publish_feed(show.pk).changed

    assert not [c for c in callbacks if "ping" in c.__qualname__]
    assert ping_websub.apply(kwargs={"podcast_id": show.pk}).get() == "off"
    assert ping_podping.apply(kwargs={"podcast_id": show.pk}).get() == "off"


def test_a_busy_hub_is_retried_with_backoff_then_pinged(show, settings):
    with recording_server([503, 204]) as hub:
        settings.WEBSUB_HUB_URL = f"{hub.url}/hub"
        # Run eagerly, Celery raises Retry where a worker would schedule the next attempt.
        with pytest.raises(Retry) as retry:
            ping_websub.apply(kwargs={"podcast_id": show.pk})
        assert "503" in str(retry.value.exc)
        assert 0 <= retry.value.when <= ping_websub.retry_backoff_max

        outcome = ping_websub.apply(kwargs={"podcast_id": show.pk}, retries=1).get()

    assert outcome == "WebSub hub: 204"
    assert [r.form["hub.url"] for r in hub.received] == [[show.feed_url]] * 2


def test_an_unreachable_podping_is_retried_until_the_retries_are_used_up(show, settings):
    with recording_server([200]) as gone:
        url = gone.url
    settings.PODPING_URL = url  # nothing listens there any more
    settings.PODPING_TOKEN = "t"

    with pytest.raises(Retry):
        ping_podping.apply(kwargs={"podcast_id": show.pk})
    with pytest.raises(Exception, match="No answer"):
        ping_podping.apply(kwargs={"podcast_id": show.pk}, retries=MAX_RETRIES).get()


def test_a_refusing_hub_is_not_retried(show, settings, caplog):
    with recording_server([403]) as hub:
        settings.WEBSUB_HUB_URL = f"{hub.url}/hub"
        outcome = ping_websub.apply(kwargs={"podcast_id": show.pk}).get()

    assert outcome.startswith("refused: WebSub hub answered 403")
    assert len(hub.received) == 1
    assert "not retried" in caplog.text


def test_podping_refuses_an_unknown_reason(show, settings):
    settings.PODPING_URL = "https://podping.example.org/"
    settings.PODPING_TOKEN = "t"
    with pytest.raises(ValueError, match="reason"):
        ping_podping.apply(kwargs={"podcast_id": show.pk, "reason": "because"}).get()
