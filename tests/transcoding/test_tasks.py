"""The pipeline's tasks under PodcastTask's policy: retries, giving up, tolerance of new arguments.

Eager Celery (``apply``) runs the same tracer as a worker, retries included
(at once instead of after their countdown);
faults are injected at the database (``connection.execute_wrapper``) and at
the S3 API (botocore events), never in our code.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from django.core.files.storage import storages
from django.db import OperationalError, connection

from episodes.models import Episode
from episodes.tasks import MAX_RETRIES, poll_transcodes, process_episode
from episodes.transcoders import TransientTranscoderError
from tests.transcoding.conftest import generate_audio, put_upload
from tests.transcoding.test_pipeline import uploads_unreachable


@pytest.fixture(autouse=True)
def eager_retries(monkeypatch):
    """Run a retry at once, as apply() does when errors are not re-raised to the caller."""
    from podcasthost.celery import app

    monkeypatch.setattr(app.conf, "CELERY_TASK_EAGER_PROPAGATES", False)


@pytest.fixture
def speech(audio_dir: Path) -> Path:
    return generate_audio(audio_dir / "episode.wav", content="speech", seconds=1.0)


@pytest.mark.django_db(transaction=True)
def test_a_database_error_after_the_claim_is_retried_in_the_same_run(make_episode, speech):
    episode = make_episode()
    key = put_upload(episode, speech)
    failures = []

    def busy_once(execute, sql, params, many, context):
        # The first write after the claim: the probe's facts for the claimed attempt.
        if not failures and sql.startswith("UPDATE") and "duration_seconds" in sql:
            failures.append(sql)
            raise OperationalError("database is locked")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(busy_once):
        # Autocommit: the receiver runs process_episode (eagerly) at once.
        assert episode.mark_uploaded(source_key=key, source_bytes=speech.stat().st_size)

    episode.refresh_from_db()
    assert len(failures) == 1
    # The retry carried the claimed attempt, so it resumed the run instead of
    # skipping an episode already "processing".
    assert (episode.status, episode.attempt) == (Episode.Status.READY, 1), episode.error_message
    assert episode.renditions.count() == 3


def test_retries_continue_from_the_messages_count_then_give_up(uploaded_on_s3):
    last_chance, three_left = uploaded_on_s3(), uploaded_on_s3()
    uploads_unreachable()
    reads: list[str] = []
    events = storages["uploads"].connection.meta.client.meta.events
    for operation in ("HeadObject", "GetObject"):  # before the outage's handlers raise
        events.register_first(f"before-call.s3.{operation}", lambda **kw: reads.append(1))

    once = process_episode.apply(kwargs={"episode_id": last_chance.pk}, retries=MAX_RETRIES)
    reads_per_run, reads[:] = len(reads), []
    thrice = process_episode.apply(kwargs={"episode_id": three_left.pk}, retries=MAX_RETRIES - 2)

    assert (once.get(), thrice.get()) == ("gave up", "gave up")
    assert reads_per_run > 0
    assert len(reads) == 3 * reads_per_run  # two retries, then the give-up
    for episode in (last_chance, three_left):
        episode.refresh_from_db()
        assert episode.status == Episode.Status.FAILED
        assert "temporary error" in episode.error_message


def test_called_as_a_function_a_transient_error_propagates(uploaded_on_s3):
    episode = uploaded_on_s3()
    uploads_unreachable()

    with pytest.raises(TransientTranscoderError):
        process_episode(episode_id=episode.pk)

    episode.refresh_from_db()
    assert (episode.status, episode.error_message) == (Episode.Status.UPLOADED, "")


def test_arguments_from_another_deploy_are_logged_and_ignored(db, caplog):
    caplog.set_level(logging.INFO, logger="podcasthost.tasks")

    gone = process_episode.apply(kwargs={"episode_id": 987654, "priority": "high"}).get()
    polled = poll_transcodes.apply(kwargs={"shard": 3}).get()

    assert gone == "gone"
    assert isinstance(polled, dict)
    assert "process_episode: ignoring unknown task arguments ['priority']" in caplog.text
    assert "poll_transcodes: ignoring unknown task arguments ['shard']" in caplog.text
