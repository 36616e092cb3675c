"""Dropped files are copied to a key of their episode's own; the inbox is emptied only after.

In-process moto (S3 → SQS notifications, as the stack wires them). Faults are
injected at the boundaries only: at the S3 API (botocore's ``before-call`` /
``after-call`` events on the uploads storage's client) and at the database
(Django's ``connection.execute_wrapper``). An interleaving of two consumers is
replayed from such an S3 event, too.
"""

from __future__ import annotations

import hashlib

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from django.core.files.storage import storages
from django.db import OperationalError, connection

from episodes import ingest, ingest_queue
from episodes.ingest import DroppedObject, ingest_dropped_object
from episodes.ingest_queue import consume_queue
from episodes.models import Episode
from tests.uploads.conftest import make_wav
from tests.uploads.test_ingest_sqs import drop, inbox_keys, messages_in, stored_bytes


def consume(sqs_ingest, **kwargs) -> dict[str, int]:
    return consume_queue(sqs_ingest["queue"], sqs=sqs_ingest["sqs"], wait_seconds=0, **kwargs)


@pytest.fixture
def drained(sqs_ingest, podcast):
    """The queue without S3's initial test event."""
    consume(sqs_ingest)
    return sqs_ingest


def test_a_second_drop_with_the_same_name_is_a_new_episode_and_spares_the_first(drained, podcast):
    first_audio, second_audio = make_wav(0.2), make_wav(0.3)
    drop(drained, "inbox/carols-show/weekly.wav", first_audio)
    consume(drained)
    first = Episode.objects.get(podcast=podcast)

    drop(drained, "inbox/carols-show/weekly.wav", second_audio)
    consume(drained)

    second = Episode.objects.exclude(pk=first.pk).get(podcast=podcast)
    first.refresh_from_db()
    assert first.source_key != second.source_key
    assert second.source_key.startswith(f"uploads/carols-show/{second.guid}/")
    assert stored_bytes(drained, first.source_key) == first_audio
    assert stored_bytes(drained, second.source_key) == second_audio
    assert (first.source_bytes, second.source_bytes) == (len(first_audio), len(second_audio))
    assert first.guid != second.guid
    assert inbox_keys(drained) == []


def test_a_failed_inbox_deletion_is_finished_by_the_redelivery(drained, podcast):
    audio = make_wav(0.2)
    drop(drained, "inbox/carols-show/flaky.wav", audio)
    events = storages["uploads"].connection.meta.client.meta.events
    failures = []

    def s3_down(**kwargs):
        if not failures:
            failures.append(kwargs)
            raise EndpointConnectionError(endpoint_url="https://s3.us-east-1.amazonaws.com")

    events.register("before-call.s3.DeleteObject", s3_down)
    try:
        first = consume(drained, max_batches=1)
    finally:
        events.unregister("before-call.s3.DeleteObject", s3_down)

    # The episode is committed, the dropped file is still there, the message kept.
    episode = Episode.objects.get(podcast=podcast)
    assert failures and first == {"ingested": 0, "deleted": 0, "kept": 1}
    assert inbox_keys(drained) == ["inbox/carols-show/flaky.wav"]

    second = consume(drained)

    assert second == {"ingested": 0, "deleted": 1, "kept": 0}
    assert Episode.objects.get(podcast=podcast) == episode
    assert inbox_keys(drained) == []
    assert stored_bytes(drained, episode.source_key) == audio
    assert messages_in(drained["sqs"], drained["queue"]) == []


def test_a_failure_before_commit_loses_nothing_and_leaves_no_copy(drained, podcast):
    audio = make_wav(0.2)
    drop(drained, "inbox/carols-show/retry me.wav", audio)
    insert_episode = f'INSERT INTO "{Episode._meta.db_table}" '
    refused = []

    def database_down(execute, sql, params, many, context):
        # The database refuses the episode's INSERT (after the copy, before the commit).
        if sql.lstrip().upper().startswith(insert_episode.upper()):
            refused.append(sql)
            raise OperationalError("database unavailable")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(database_down):
        first = consume(drained, max_batches=1)

    assert refused
    assert first == {"ingested": 0, "deleted": 0, "kept": 1}
    assert not Episode.objects.exists()
    assert inbox_keys(drained) == ["inbox/carols-show/retry me.wav"]
    assert inbox_keys(drained, "uploads/") == []

    consume(drained)

    episode = Episode.objects.get(podcast=podcast)
    assert stored_bytes(drained, episode.source_key) == audio
    assert inbox_keys(drained, "uploads/") == [episode.source_key]
    assert inbox_keys(drained) == []


def test_a_consumer_that_loses_the_race_creates_nothing_and_removes_its_copy(drained, podcast):
    """Two consumers got the same notification; the other commits while this one copies.

    The other consumer runs when this one, its copy made, reads the copy's tags
    (its first ``GetObject``): after its "already ingested?" check, before its
    commit. Not on ``CopyObject`` itself: boto3's managed copy makes that call
    on a transfer thread, whose database connection cannot see this test's
    uncommitted transaction.
    """
    drop(drained, "inbox/carols-show/race.wav", make_wav(0.2))
    (message,) = messages_in(drained["sqs"], drained["queue"])
    (obj,) = ingest_queue.parse_notification(message["Body"])
    events = storages["uploads"].connection.meta.client.meta.events
    copies_read, winners = [], []

    def other_consumer_commits_first(**kwargs):
        copies_read.append(kwargs["event_name"])
        if len(copies_read) == 1:  # this consumer's read; not the other's own
            winners.append(ingest_dropped_object(obj))

    events.register("after-call.s3.GetObject", other_consumer_commits_first)
    try:
        assert ingest_dropped_object(obj) is None
    finally:
        events.unregister("after-call.s3.GetObject", other_consumer_commits_first)

    (episode,) = Episode.objects.filter(podcast=podcast)
    assert winners == [episode]
    assert len(copies_read) == 2  # each consumer read its copy's tags
    assert inbox_keys(drained, "uploads/") == [episode.source_key]
    assert inbox_keys(drained) == []


def test_a_file_replaced_before_ingest_is_ingested_once_as_the_newer_drop(drained, podcast):
    older, newer = make_wav(0.2), make_wav(0.4)
    drop(drained, "inbox/carols-show/take.wav", older)
    drop(drained, "inbox/carols-show/take.wav", newer)

    counts = consume(drained)

    episode = Episode.objects.get(podcast=podcast)
    assert counts == {"ingested": 1, "deleted": 2, "kept": 0}
    assert stored_bytes(drained, episode.source_key) == newer
    assert inbox_keys(drained) == []
    assert messages_in(drained["sqs"], drained["dlq"]) == []


def test_a_drop_on_a_local_disk_is_copied_too(podcast, isolated_storages, now):
    audio = make_wav(0.2)
    inbox = isolated_storages / "uploads" / "inbox" / "carols-show"
    inbox.mkdir(parents=True)
    (inbox / "local.wav").write_bytes(audio)
    obj = DroppedObject("inbox/carols-show/local.wav", len(audio), now)

    episode = ingest_dropped_object(obj, now=now)

    assert episode.source_key.startswith(f"uploads/carols-show/{episode.guid}/")
    assert (isolated_storages / "uploads" / episode.source_key).read_bytes() == audio
    assert not (inbox / "local.wav").exists()
    # The same event again (a redelivery) creates nothing.
    assert ingest_dropped_object(obj, now=now) is None
    assert Episode.objects.filter(podcast=podcast).count() == 1


def test_a_large_drop_is_copied_in_parts(drained, podcast, monkeypatch):
    """Above the threshold (5 GB in S3's terms; lowered here) the copy is multipart."""
    monkeypatch.setattr(ingest, "COPY_MULTIPART_THRESHOLD", 5 * 1024**2)
    monkeypatch.setattr(ingest, "COPY_PART_BYTES", 5 * 1024**2)
    audio = make_wav(40.0)  # ~7 MB: two parts
    drop(drained, "inbox/carols-show/long.wav", audio)
    calls = []
    events = storages["uploads"].connection.meta.client.meta.events
    events.register("before-call.s3.UploadPartCopy", lambda **kw: calls.append(kw))

    consume(drained)

    episode = Episode.objects.get(podcast=podcast)
    assert len(calls) == 2
    assert stored_bytes(drained, episode.source_key) == audio
    assert inbox_keys(drained) == []


def test_a_drop_replaced_while_being_copied_is_left_to_its_newer_notification(drained, podcast):
    older, newer = make_wav(0.2), make_wav(0.5)
    drop(drained, "inbox/carols-show/again.wav", older)
    events = storages["uploads"].connection.meta.client.meta.events
    redropped = []

    def redrop_first(**kwargs):
        if not redropped:  # the creator drops a new take just as the copy starts
            redropped.append(kwargs["params"]["headers"]["x-amz-copy-source-if-match"])
            drop(drained, "inbox/carols-show/again.wav", newer)
            # What S3 answers to a CopySourceIfMatch that no longer matches
            # (moto 5.2 does not evaluate that header).
            raise ClientError(
                {
                    "Error": {"Code": "PreconditionFailed", "Message": "At least one failed"},
                    "ResponseMetadata": {"HTTPStatusCode": 412},
                },
                "CopyObject",
            )

    events.register("before-call.s3.CopyObject", redrop_first)
    try:
        first = consume(drained, max_batches=1)
    finally:
        events.unregister("before-call.s3.CopyObject", redrop_first)

    older_etag = hashlib.md5(older).hexdigest()  # noqa: S324 (S3's ETag of a PUT)
    assert redropped == [f'"{older_etag}"']
    assert first == {"ingested": 0, "deleted": 1, "kept": 0}
    assert not Episode.objects.exists()
    assert inbox_keys(drained, "uploads/") == []

    consume(drained)

    episode = Episode.objects.get(podcast=podcast)
    assert stored_bytes(drained, episode.source_key) == newer
    assert inbox_keys(drained) == []
