"""Files dropped into the input bucket's inbox/ become episodes via S3 → SQS notifications."""

from __future__ import annotations

import io
import json

import pytest

from episodes.ingest_queue import consume_queue
from episodes.models import Episode
from episodes.tasks import consume_ingest
from tests.uploads.conftest import make_tagged_audio, make_wav


def drop(sqs_ingest, key: str, body: bytes) -> None:
    sqs_ingest["s3"].put_object(Bucket=sqs_ingest["bucket"], Key=key, Body=body)


def stored_bytes(sqs_ingest, key: str) -> bytes:
    return sqs_ingest["s3"].get_object(Bucket=sqs_ingest["bucket"], Key=key)["Body"].read()


def inbox_keys(sqs_ingest, prefix: str = "inbox/") -> list[str]:
    listing = sqs_ingest["s3"].list_objects_v2(Bucket=sqs_ingest["bucket"], Prefix=prefix)
    return [o["Key"] for o in listing.get("Contents", [])]


def notify(sqs_ingest, key: str) -> None:
    """Send the notification S3 would send for ``key`` (for keys the bucket does not notify)."""
    head = sqs_ingest["s3"].head_object(Bucket=sqs_ingest["bucket"], Key=key)
    record = {
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "eventTime": head["LastModified"].isoformat(),
        "s3": {
            "bucket": {"name": sqs_ingest["bucket"]},
            "object": {"key": key, "size": head["ContentLength"], "eTag": head["ETag"].strip('"')},
        },
    }
    sqs_ingest["sqs"].send_message(
        QueueUrl=sqs_ingest["queue"], MessageBody=json.dumps({"Records": [record]})
    )


def messages_in(sqs, queue: str) -> list[dict]:
    return sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])


def test_a_dropped_file_becomes_an_uploaded_episode_titled_from_its_tags(
    sqs_ingest, podcast, tmp_path
):
    audio = make_tagged_audio(tmp_path / "x.mp3", title="Tagged: the pilot").read_bytes()
    drop(sqs_ingest, "inbox/carols-show/My Episode 1.mp3", audio)

    counts = consume_ingest.delay().get()

    episode = Episode.objects.get(podcast=podcast)
    assert counts["ingested"] == 1
    assert episode.status == Episode.Status.UPLOADED
    assert episode.title == "Tagged: the pilot"
    assert episode.source_key.startswith(f"uploads/carols-show/{episode.guid}/")
    assert episode.source_key.endswith("-My-Episode-1.mp3")
    assert stored_bytes(sqs_ingest, episode.source_key) == audio
    assert episode.source_bytes == len(audio)
    assert episode.source_filename == "My Episode 1.mp3"
    # The dropped file is gone from the inbox once the episode exists.
    assert inbox_keys(sqs_ingest) == []
    # The test event and the notification were both handled and deleted.
    assert messages_in(sqs_ingest["sqs"], sqs_ingest["queue"]) == []
    assert messages_in(sqs_ingest["sqs"], sqs_ingest["dlq"]) == []


def test_an_untagged_file_is_titled_from_its_name(sqs_ingest, podcast):
    drop(sqs_ingest, "inbox/carols-show/Interview_with Ada.wav", make_wav(0.5))

    consume_queue(sqs_ingest["queue"], sqs=sqs_ingest["sqs"], wait_seconds=0)

    episode = Episode.objects.get(podcast=podcast)
    assert episode.title == "Interview with Ada"
    assert episode.slug == "interview-with-ada"
    assert episode.status == Episode.Status.UPLOADED


def test_test_event_alone_creates_nothing_and_is_deleted(sqs_ingest, podcast):
    counts = consume_queue(sqs_ingest["queue"], sqs=sqs_ingest["sqs"], wait_seconds=0)

    assert counts == {"ingested": 0, "deleted": 1, "kept": 0}
    assert not Episode.objects.exists()


def test_a_redelivered_notification_does_not_create_a_second_episode(sqs_ingest, podcast):
    sqs = sqs_ingest["sqs"]
    consume_queue(sqs_ingest["queue"], sqs=sqs, wait_seconds=0)  # the test event
    drop(sqs_ingest, "inbox/carols-show/once.wav", make_wav(0.2))
    message = messages_in(sqs, sqs_ingest["queue"])[0]
    sqs.send_message(QueueUrl=sqs_ingest["queue"], MessageBody=message["Body"])

    consume_queue(sqs_ingest["queue"], sqs=sqs, wait_seconds=0)

    episode = Episode.objects.get(podcast=podcast)
    assert inbox_keys(sqs_ingest, "uploads/") == [episode.source_key]
    assert inbox_keys(sqs_ingest) == []
    assert messages_in(sqs, sqs_ingest["queue"]) == []


@pytest.mark.parametrize(
    "key",
    ["inbox/no-such-show/ep.wav", "elsewhere/carols-show/ep.wav", "inbox/carols-show/a/b.wav"],
)
def test_bad_keys_end_in_the_dead_letter_queue_without_crashing(sqs_ingest, podcast, key, caplog):
    sqs = sqs_ingest["sqs"]
    consume_queue(sqs_ingest["queue"], sqs=sqs, wait_seconds=0)  # the test event
    drop(sqs_ingest, key, make_wav(0.2))
    if not key.startswith("inbox/"):
        notify(sqs_ingest, key)  # the bucket only notifies inbox/, as the stack's does

    # Each run receives the message once and keeps it; after 2 receives SQS
    # moves it to the DLQ.
    for _ in range(3):
        consume_queue(sqs_ingest["queue"], sqs=sqs, max_batches=1, wait_seconds=0)

    assert not Episode.objects.exists()
    assert messages_in(sqs, sqs_ingest["queue"]) == []
    dead = messages_in(sqs, sqs_ingest["dlq"])
    assert len(dead) == 1
    record = json.loads(dead[0]["Body"])["Records"][0]
    assert record["s3"]["object"]["size"] > 0
    assert "kept for the dead-letter queue" in caplog.text


def test_malformed_and_vanished_messages_are_kept_not_fatal(sqs_ingest, podcast):
    sqs = sqs_ingest["sqs"]
    consume_queue(sqs_ingest["queue"], sqs=sqs, wait_seconds=0)  # the test event
    sqs.send_message(QueueUrl=sqs_ingest["queue"], MessageBody="not json")
    drop(sqs_ingest, "inbox/carols-show/gone.wav", make_wav(0.2))
    sqs_ingest["s3"].delete_object(Bucket=sqs_ingest["bucket"], Key="inbox/carols-show/gone.wav")

    counts = consume_queue(sqs_ingest["queue"], sqs=sqs, max_batches=1, wait_seconds=0)

    assert counts["kept"] == 2
    assert not Episode.objects.exists()


def test_without_a_queue_the_task_does_nothing(settings):
    settings.INGEST_QUEUE_URL = ""

    assert consume_ingest.delay().get() is None


def test_consume_ingest_command_drains_the_queue(sqs_ingest, podcast):
    from django.core.management import call_command

    drop(sqs_ingest, "inbox/carols-show/From the command.wav", make_wav(0.2))
    out = io.StringIO()

    call_command(
        "consume_ingest", "--once", "--wait-seconds", "0", stdout=out, stderr=io.StringIO()
    )

    assert Episode.objects.get(podcast=podcast).title == "From the command"
    assert "Episodes created: 1; messages deleted: 2" in out.getvalue()


def test_consume_ingest_command_reports_kept_messages(sqs_ingest, podcast):
    from django.core.management import CommandError, call_command

    drop(sqs_ingest, "inbox/unknown-show/x.wav", make_wav(0.2))

    # The queue's visibility timeout is 0: stop after the redrive (2 receives).
    with pytest.raises(CommandError, match="could not be ingested"):
        call_command("consume_ingest", "--once", "--wait-seconds", "0", stderr=io.StringIO())

    assert not Episode.objects.exists()
    assert len(messages_in(sqs_ingest["sqs"], sqs_ingest["dlq"])) == 1


def test_consume_ingest_command_needs_a_queue(settings):
    from django.core.management import CommandError, call_command

    settings.INGEST_QUEUE_URL = ""

    with pytest.raises(CommandError, match="INGEST_QUEUE_URL is not set"):
        call_command("consume_ingest", "--once")
