"""One way to write tasks: all under one policy, every periodic one in CELERY_BEAT_SCHEDULE."""

from __future__ import annotations

import json

import pytest

from podcasthost.celery import app
from podcasthost.tasks import PodcastTask
from tests.podcasthost.test_settings import _run

INGEST_QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/ingest"
EVENTS_QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/events"
CDN_LOGS_QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/cdn-logs"
ALWAYS = {
    "episodes: poll transcodes": ["episodes.tasks.poll_transcodes", 30.0, True],
    "episodes: reconcile": ["episodes.tasks.reconcile", 300.0, True],
    "episodes: poll transcriptions": ["episodes.tasks.poll_transcriptions", 30.0, True],
    "episodes: reconcile transcriptions": [
        "episodes.tasks.reconcile_transcriptions",
        300.0,
        True,
    ],
    "episodes: resend lost notifications": [
        "episodes.tasks.resend_lost_notifications",
        300.0,
        True,
    ],
    "feeds: publish due feeds": ["feeds.tasks.publish_due_feeds", 30.0, True],
    "feeds: aggregate downloads": ["feeds.tasks.aggregate_downloads", 300.0, True],
}
# What beat would run, as a fresh worker process sees it: task, period, and
# whether the worker's registry has a task of that name.
SCHEDULE_AS_BEAT_SEES_IT = (
    "import json; from podcasthost.celery import app; app.loader.import_default_modules(); "
    "print(json.dumps({name: [e['task'], e['schedule'], e['task'] in app.tasks] "
    "for name, e in app.conf.beat_schedule.items()}))"
)


@pytest.mark.parametrize(
    ("env", "consumers"),
    [
        ({}, {}),
        (
            {"INGEST_QUEUE_URL": INGEST_QUEUE, "INGEST_POLL_SECONDS": "7"},
            {"consume ingest queue": ["episodes.tasks.consume_ingest", 7.0, True]},
        ),
        (
            {"JOB_EVENTS_QUEUE_URL": EVENTS_QUEUE},
            {"consume job events queue": ["episodes.tasks.consume_job_events", 10.0, True]},
        ),
        (
            {"INGEST_QUEUE_URL": INGEST_QUEUE, "JOB_EVENTS_QUEUE_URL": EVENTS_QUEUE},
            {
                "consume ingest queue": ["episodes.tasks.consume_ingest", 20.0, True],
                "consume job events queue": ["episodes.tasks.consume_job_events", 10.0, True],
            },
        ),
        (
            {"CDN_LOGS_QUEUE_URL": CDN_LOGS_QUEUE, "CDN_LOGS_POLL_SECONDS": "90"},
            {"consume CDN logs queue": ["feeds.tasks.consume_cdn_logs", 90.0, True]},
        ),
    ],
    ids=["no queues", "ingest queue", "job-events queue", "both queues", "CDN-logs queue"],
)
def test_beat_runs_registered_tasks_and_a_consumer_only_for_a_configured_queue(
    tmp_path, env, consumers
):
    clean = {"INGEST_QUEUE_URL": "", "JOB_EVENTS_QUEUE_URL": "", "CDN_LOGS_QUEUE_URL": "", **env}
    result = _run(["shell", "--no-imports", "-c", SCHEDULE_AS_BEAT_SEES_IT], clean, tmp_path)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {**ALWAYS, **consumers}


def test_every_task_of_the_project_follows_the_one_policy():
    app.loader.import_default_modules()
    ours = {name: t for name, t in app.tasks.items() if name.split(".")[0] in ("episodes", "feeds")}

    assert set(ours) >= {
        "episodes.tasks.process_episode",
        "episodes.tasks.poll_episode",
        "episodes.tasks.poll_transcodes",
        "episodes.tasks.reconcile",
        "episodes.tasks.consume_ingest",
        "episodes.tasks.consume_job_events",
        "feeds.tasks.publish_feed_task",
        "feeds.tasks.publish_due_feeds",
        "feeds.tasks.ping_websub",
        "feeds.tasks.ping_podping",
        "episodes.tasks.send_event_notifications",
        "episodes.tasks.deliver_webhook",
        "episodes.tasks.resend_lost_notifications",
        "feeds.tasks.consume_cdn_logs",
        "feeds.tasks.aggregate_downloads",
        "episodes.tasks.transcribe_episode",
        "episodes.tasks.poll_transcriptions",
        "episodes.tasks.reconcile_transcriptions",
    }
    assert {name for name in ours if name.split(".")[1] != "tasks"} == set()
    assert {name for name, t in ours.items() if not isinstance(t, PodcastTask)} == set()
    assert {name for name, t in ours.items() if not (t.acks_late and t.ignore_result)} == set()
    # A periodic run that waited past its period is dropped: the next one does its work.
    assert {name: t.expires for name, t in ours.items() if t.expires is not None} == {
        "episodes.tasks.poll_transcodes": 60,
        "episodes.tasks.reconcile": 300,
        "episodes.tasks.poll_transcriptions": 60,
        "episodes.tasks.reconcile_transcriptions": 300,
        "episodes.tasks.resend_lost_notifications": 300,
        "episodes.tasks.consume_ingest": 60,
        "episodes.tasks.consume_job_events": 60,
        "feeds.tasks.consume_cdn_logs": 60,
        "feeds.tasks.aggregate_downloads": 120,
    }
