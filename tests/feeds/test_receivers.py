"""A won publish request queues the publish task at the edge: after commit, delayed, never
failing a creator's save when the broker is down. Against a real Redis broker."""

from __future__ import annotations

import logging
from datetime import datetime

import pytest

from feeds.models import FeedState
from tests.broker import broker_at, private_redis_db, queued_messages, unreachable_broker_url


@pytest.fixture
def show(make_podcast, django_capture_on_commit_callbacks):
    podcast = make_podcast()
    FeedState.objects.filter(podcast=podcast).update(publish_requested_at=None)
    return podcast


def test_a_burst_of_saves_queues_one_delayed_publish_after_commit(
    show, redis_url, settings, django_capture_on_commit_callbacks
):
    settings.FEED_PUBLISH_DELAY_SECONDS = 3600
    with private_redis_db(redis_url) as url, broker_at(url):
        with django_capture_on_commit_callbacks(execute=True):
            for n in range(3):
                show.title = f"Retitled {n}"
                show.save()
            # Nothing is queued before the transaction commits.
            assert queued_messages(url) == []
        messages = queued_messages(url)

    assert [(m.task, m.kwargs) for m in messages] == [
        ("feeds.tasks.publish_feed_task", {"podcast_id": show.pk})
    ]
    # FEED_PUBLISH_DELAY_SECONDS later: an hour after the marker was set.
    requested_at = FeedState.objects.get(podcast=show).publish_requested_at
    assert (datetime.fromisoformat(messages[0].eta) - requested_at).total_seconds() >= 3599


def test_a_broker_outage_never_fails_a_creators_save(
    show, caplog, django_capture_on_commit_callbacks
):
    with (
        broker_at(unreachable_broker_url()),
        caplog.at_level(logging.WARNING, logger="feeds.receivers"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        show.title = "Saved anyway"
        show.save()

    show.refresh_from_db()
    assert show.title == "Saved anyway"
    assert f"Could not queue the feed publish of podcast {show.pk}" in caplog.text
    # The marker stays set, so the periodic sweep re-queues the publish once it is stale.
    assert FeedState.objects.get(podcast=show).publish_requested_at is not None
