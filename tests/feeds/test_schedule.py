"""Exact-time publishing: a scheduled episode's publish is queued with Celery ``eta`` at its time.

Against a real Redis broker: the test reads the message the app queued (its
task, kwargs and eta), then runs that task as a worker would at that time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine
from django.core.files.storage import storages

from feeds.models import PlannedPublish
from feeds.publishing import publish_due, publish_feed
from feeds.tasks import publish_feed_task
from tests.broker import broker_at, private_redis_db, queued_messages, unreachable_broker_url
from tests.feeds.conftest import parse_both

TASK = "feeds.tasks.publish_feed_task"


@pytest.fixture
def broker(redis_url):
    with private_redis_db(redis_url) as url, broker_at(url):
        yield url


@pytest.fixture
def show(make_podcast, make_published):
    podcast = make_podcast()
    make_published(podcast, title="First")
    assert publish_feed(podcast.pk).changed
    return podcast


def planned_etas(url: str, podcast) -> list[datetime]:
    """The etas of the publishes queued for ``podcast``, past the debounced one (5 s away)."""
    soon = datetime.now().astimezone() + timedelta(minutes=1)
    etas = [
        datetime.fromisoformat(m.eta)
        for m in queued_messages(url)
        if m.task == TASK and m.kwargs == {"podcast_id": podcast.pk} and m.eta
    ]
    return [eta for eta in etas if eta > soon]


def feed_titles(podcast) -> list[str]:
    with storages["feeds"].open(f"{podcast.slug}/feed.xml", "rb") as f:
        return [e.title for e in parse_both(f.read())[0].entries]


def test_scheduling_queues_a_publish_at_that_time_and_it_then_shows_the_episode(
    broker, show, make_published, now, django_capture_on_commit_callbacks
):
    publish_at = (now + timedelta(minutes=10)).replace(microsecond=0)
    with django_capture_on_commit_callbacks(execute=True):
        make_published(show, title="Scheduled", publish_at=publish_at)

    assert publish_at in planned_etas(broker, show)

    # The worker runs it at its eta: the episode is in the published feed.
    with time_machine.travel(publish_at + timedelta(seconds=1), tick=False):
        publish_feed_task.apply(kwargs={"podcast_id": show.pk}).get()
    assert feed_titles(show) == ["Scheduled", "First"]


def test_a_changed_time_is_planned_again_and_the_stale_plan_does_no_harm(
    broker, show, make_published, now, django_capture_on_commit_callbacks
):
    first = (now + timedelta(minutes=10)).replace(microsecond=0)
    later = first + timedelta(minutes=20)
    with django_capture_on_commit_callbacks(execute=True):
        episode = make_published(show, title="Moved", publish_at=first)
    with django_capture_on_commit_callbacks(execute=True):
        episode.title = "Moved, retitled"
        episode.save()  # same time: nothing new planned
    assert planned_etas(broker, show).count(first) == 1
    with django_capture_on_commit_callbacks(execute=True):
        episode.publish_at = later
        episode.save()

    assert {first, later} <= set(planned_etas(broker, show))
    # The plan for the old time still fires: it publishes the feed as it is then.
    with time_machine.travel(first + timedelta(seconds=1), tick=False):
        publish_feed_task.apply(kwargs={"podcast_id": show.pk}).get()
    assert feed_titles(show) == ["First"]
    with time_machine.travel(later + timedelta(seconds=1), tick=False):
        publish_feed_task.apply(kwargs={"podcast_id": show.pk}).get()
    assert feed_titles(show) == ["Moved, retitled", "First"]


def test_a_far_time_is_planned_by_the_sweep_once_it_is_near(
    broker, show, make_published, now, settings, django_capture_on_commit_callbacks
):
    publish_at = (now + timedelta(days=3)).replace(microsecond=0)
    with django_capture_on_commit_callbacks(execute=True):
        make_published(show, title="Far", publish_at=publish_at)
    # Beyond the horizon: Redis would redeliver a message held that long.
    assert planned_etas(broker, show) == []

    near = publish_at - timedelta(seconds=settings.FEED_SCHEDULE_HORIZON_SECONDS - 60)
    for _sweep in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            publish_due(now=near)
    assert planned_etas(broker, show) == [publish_at]


def test_an_unreachable_broker_leaves_it_to_the_sweep(
    show, make_published, now, django_capture_on_commit_callbacks
):
    publish_at = now + timedelta(minutes=10)
    with broker_at(unreachable_broker_url()), django_capture_on_commit_callbacks(execute=True):
        make_published(show, title="Scheduled", publish_at=publish_at)
    # The plan is forgotten, so the sweep plans it again once the broker is back.
    assert not PlannedPublish.objects.filter(podcast=show).exists()
