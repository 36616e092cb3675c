"""Reconcile asks for the processing of a stuck upload; the receiver queues it at the edge
(after commit, a broker outage logged and the pass carried on). Against a real Redis broker."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from episodes import pipeline
from episodes.models import Episode
from tests.broker import broker_at, private_redis_db, queued_messages, unreachable_broker_url


@pytest.fixture
def stuck_upload(make_episode):
    """An episode ``uploaded`` long ago whose own enqueue was lost."""
    episode = make_episode()
    Episode.objects.filter(pk=episode.pk).update(
        status=Episode.Status.UPLOADED, source_key="uploads/x/y/z.wav"
    )
    episode.refresh_from_db()
    return episode


def test_reconcile_queues_the_processing_of_a_stuck_upload(
    stuck_upload, redis_url, now, django_capture_on_commit_callbacks
):
    with private_redis_db(redis_url) as url, broker_at(url):
        with django_capture_on_commit_callbacks(execute=True):
            report = pipeline.reconcile(now=now + timedelta(hours=1), stalled_after_seconds=60)
        messages = queued_messages(url)

    assert report.submitted == [stuck_upload.pk]
    assert [(m.task, m.kwargs) for m in messages] == [
        ("episodes.tasks.process_episode", {"episode_id": stuck_upload.pk})
    ]


def test_reconcile_logs_a_broker_outage_and_finishes_its_pass(
    stuck_upload, make_episode, now, caplog, django_capture_on_commit_callbacks
):
    dead = make_episode()
    Episode.objects.filter(pk=dead.pk).update(status=Episode.Status.PROCESSING, attempt=1)
    with (
        broker_at(unreachable_broker_url()),
        caplog.at_level(logging.ERROR, logger="episodes.receivers"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        report = pipeline.reconcile(now=now + timedelta(hours=1), stalled_after_seconds=60)

    assert report.submitted == [stuck_upload.pk]
    assert report.requeued == [dead.pk]
    assert f"episode {stuck_upload.pk}: could not enqueue processing" in caplog.text
    # Touched: the next pass after the stall period tries again.
    assert Episode.objects.get(pk=stuck_upload.pk).updated_at == now + timedelta(hours=1)
