"""MediaConvert job events from SQS (moto) wake the poll; GetJob (Stubber) decides."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from episodes.job_events import JobEventError, consume_queue, parse_job_event
from episodes.models import Episode
from episodes.tasks import consume_job_events
from tests.transcoding.test_mediaconvert import JOB_ID, _put_outputs, job, submit

QUEUE_ARN = "arn:aws:mediaconvert:us-east-1:123456789012:queues/podcasthost"


def job_event(status: str, job_id: str = JOB_ID, *, episode_id=None, **detail) -> str:
    """An EventBridge event as the JobStateRule delivers it (the SQS body).

    Shape from https://docs.aws.amazon.com/mediaconvert/latest/ug/ev_status_status_update.html
    """
    metadata = {} if episode_id is None else {"episode_id": str(episode_id), "attempt": "1"}
    return json.dumps(
        {
            "version": "0",
            "id": "1234abcd-12ab-34cd-56ef-1234567890ab",
            "detail-type": "MediaConvert Job State Change",
            "source": "aws.mediaconvert",
            "account": "123456789012",
            "time": "2026-11-26T12:00:00Z",
            "region": "us-east-1",
            "resources": [f"arn:aws:mediaconvert:us-east-1:123456789012:jobs/{job_id}"],
            "detail": {
                "timestamp": 1795694400000,
                "accountId": "123456789012",
                "queue": QUEUE_ARN,
                "jobId": job_id,
                "status": status,
                "userMetadata": metadata,
                **detail,
            },
        }
    )


@pytest.fixture
def events_queue(s3, settings):
    """An SQS queue (in the s3 fixture's moto) set as JOB_EVENTS_QUEUE_URL; visibility 0."""
    import boto3

    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="job-events", Attributes={"VisibilityTimeout": "0"})[
        "QueueUrl"
    ]
    settings.JOB_EVENTS_QUEUE_URL = url
    sqs.url = url
    return sqs


def send(sqs, body: str) -> None:
    sqs.send_message(QueueUrl=sqs.url, MessageBody=body)


def queued(sqs) -> list[dict]:
    return sqs.receive_message(QueueUrl=sqs.url, MaxNumberOfMessages=10).get("Messages", [])


def test_a_complete_event_makes_the_episode_ready_at_once(
    mediaconvert, uploaded_on_s3, s3, audio_dir, events_queue
):
    episode = uploaded_on_s3()
    request = submit(mediaconvert, episode)
    _put_outputs(s3, request, audio_dir)
    mediaconvert.add_response("get_job", job(request, "COMPLETE"), {"Id": JOB_ID})
    send(events_queue, job_event("COMPLETE", episode_id=episode.pk))

    counts = consume_job_events.delay().get()

    episode.refresh_from_db()
    assert counts == {"polled": 1, "ignored": 0, "kept": 0}
    assert episode.status == Episode.Status.READY
    assert {r.preset for r in episode.renditions.all()} == {"mp3", "aac", "opus"}
    assert queued(events_queue) == []


def test_an_error_event_fails_the_episode_with_mediaconverts_message(
    mediaconvert, uploaded_on_s3, events_queue
):
    episode = uploaded_on_s3()
    request = submit(mediaconvert, episode)
    failed = job(request, "ERROR", ErrorCode=1030, ErrorMessage="Unable to open input file")
    mediaconvert.add_response("get_job", failed, {"Id": JOB_ID})
    send(events_queue, job_event("ERROR", errorCode=1030, errorMessage="Unable to open input"))

    consume_queue(events_queue.url, sqs=events_queue, wait_seconds=0)

    episode.refresh_from_db()
    assert episode.status == Episode.Status.FAILED
    assert episode.error_message == "MediaConvert error 1030: Unable to open input file"
    assert queued(events_queue) == []


def test_a_status_update_records_progress(mediaconvert, uploaded_on_s3, events_queue):
    episode = uploaded_on_s3()
    request = submit(mediaconvert, episode)
    mediaconvert.add_response(
        "get_job", job(request, "PROGRESSING", JobPercentComplete=40), {"Id": JOB_ID}
    )
    progress = {"jobPercentComplete": 40, "currentPhase": "TRANSCODING", "retryCount": 0}
    send(events_queue, job_event("STATUS_UPDATE", jobProgress=progress))

    consume_queue(events_queue.url, sqs=events_queue, wait_seconds=0)

    episode.refresh_from_db()
    assert episode.status == Episode.Status.PROCESSING
    assert episode.progress_percent == 40


def test_getjob_decides_not_the_event(mediaconvert, uploaded_on_s3, events_queue):
    episode = uploaded_on_s3()
    request = submit(mediaconvert, episode)
    mediaconvert.add_response(
        "get_job", job(request, "PROGRESSING", JobPercentComplete=70), {"Id": JOB_ID}
    )
    send(events_queue, job_event("COMPLETE"))

    counts = consume_queue(events_queue.url, sqs=events_queue, wait_seconds=0)

    episode.refresh_from_db()
    assert counts["polled"] == 1
    assert episode.status == Episode.Status.PROCESSING
    assert episode.progress_percent == 70
    assert not episode.renditions.exists()
    assert queued(events_queue) == []


def test_unknown_jobs_and_garbage_are_deleted_and_change_nothing(
    mediaconvert, uploaded_on_s3, events_queue, caplog
):
    episode = uploaded_on_s3()
    submit(mediaconvert, episode)  # no further GetJob is stubbed: none may be called
    before = Episode.objects.values().get(pk=episode.pk)
    send(events_queue, job_event("COMPLETE", job_id="1700000000000-someone-else"))
    send(events_queue, "not json")
    send(events_queue, json.dumps({"source": "aws.s3", "detail-type": "Object Created"}))
    send(events_queue, json.dumps({"source": "aws.mediaconvert", "detail": {"status": "ERROR"}}))

    counts = consume_queue(events_queue.url, sqs=events_queue, wait_seconds=0)

    assert counts == {"polled": 0, "ignored": 4, "kept": 0}
    assert Episode.objects.values().get(pk=episode.pk) == before
    assert queued(events_queue) == []
    assert "deleted" in caplog.text


def test_a_transient_getjob_error_keeps_the_event_for_redelivery(
    mediaconvert, uploaded_on_s3, s3, audio_dir, events_queue
):
    episode = uploaded_on_s3()
    request = submit(mediaconvert, episode)
    _put_outputs(s3, request, audio_dir)
    mediaconvert.add_client_error(
        "get_job", "TooManyRequestsException", "Too Many Requests", 429, {"Id": JOB_ID}
    )
    send(events_queue, job_event("COMPLETE"))

    first = consume_queue(events_queue.url, sqs=events_queue, max_batches=1, wait_seconds=0)

    episode.refresh_from_db()
    assert first == {"polled": 0, "ignored": 0, "kept": 1}
    assert episode.status == Episode.Status.PROCESSING

    # Redelivered (the test queue's visibility timeout is 0); MediaConvert answers now.
    mediaconvert.add_response("get_job", job(request, "COMPLETE"), {"Id": JOB_ID})
    second = consume_queue(events_queue.url, sqs=events_queue, max_batches=1, wait_seconds=0)

    episode.refresh_from_db()
    assert second == {"polled": 1, "ignored": 0, "kept": 0}
    assert episode.status == Episode.Status.READY
    assert queued(events_queue) == []


def test_a_burst_of_events_for_one_job_asks_getjob_once(mediaconvert, uploaded_on_s3, events_queue):
    episode = uploaded_on_s3()
    request = submit(mediaconvert, episode)
    mediaconvert.add_response(
        "get_job", job(request, "PROGRESSING", JobPercentComplete=10), {"Id": JOB_ID}
    )
    send(events_queue, job_event("PROGRESSING"))
    send(events_queue, job_event("STATUS_UPDATE", jobProgress={"jobPercentComplete": 10}))

    counts = consume_queue(events_queue.url, sqs=events_queue, max_batches=1, wait_seconds=0)

    assert counts == {"polled": 2, "ignored": 0, "kept": 0}
    assert queued(events_queue) == []
    episode.refresh_from_db()
    assert episode.progress_percent == 10


def test_parse_job_event_reads_the_fields_that_matter():
    event = parse_job_event(
        job_event("STATUS_UPDATE", episode_id=42, jobProgress={"jobPercentComplete": 55})
    )

    assert (event.job_id, event.status, event.episode_id, event.percent) == (
        JOB_ID,
        "STATUS_UPDATE",
        42,
        55,
    )
    assert event.event_at.isoformat() == "2026-11-26T12:00:00+00:00"
    assert parse_job_event(job_event("COMPLETE")).episode_id is None


@pytest.mark.parametrize(
    "body",
    [
        "",
        "[]",
        json.dumps({"source": "aws.mediaconvert", "detail-type": "MediaConvert Job State Change"}),
        json.dumps(
            {
                "source": "aws.mediaconvert",
                "detail-type": "MediaConvert Job State Change",
                "detail": {"jobId": "", "status": "COMPLETE"},
            }
        ),
    ],
)
def test_parse_job_event_rejects_what_is_not_a_job_event(body):
    with pytest.raises(JobEventError):
        parse_job_event(body)


def test_without_a_queue_the_task_does_nothing(settings):
    settings.JOB_EVENTS_QUEUE_URL = ""

    assert consume_job_events.delay().get() is None


def test_the_worker_finds_the_task():
    from podcasthost.celery import app

    app.loader.import_default_modules()
    assert "episodes.tasks.consume_job_events" in app.tasks


def test_consume_job_events_command_drains_the_queue(mediaconvert, uploaded_on_s3, events_queue):
    episode = uploaded_on_s3()
    request = submit(mediaconvert, episode)
    failed = job(request, "ERROR", ErrorCode=1040, ErrorMessage="Bad input")
    mediaconvert.add_response("get_job", failed, {"Id": JOB_ID})
    send(events_queue, job_event("ERROR"))
    send(events_queue, "garbage")
    out = io.StringIO()

    call_command(
        "consume_job_events", "--once", "--wait-seconds", "0", stdout=out, stderr=io.StringIO()
    )

    episode.refresh_from_db()
    assert episode.status == Episode.Status.FAILED
    assert "Episodes polled: 1; events ignored (not ours or malformed): 1" in out.getvalue()
    assert queued(events_queue) == []


def test_consume_job_events_command_needs_a_queue(settings):
    settings.JOB_EVENTS_QUEUE_URL = ""

    with pytest.raises(CommandError, match="JOB_EVENTS_QUEUE_URL is not set"):
        call_command("consume_job_events", "--once")
