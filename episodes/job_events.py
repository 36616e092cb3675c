"""MediaConvert job events (EventBridge → SQS ``JOB_EVENTS_QUEUE_URL``) wake the poll early.

The stack's ``JobStateRule`` sends each ``MediaConvert Job State Change``
event of its queue to SQS; the message body is the EventBridge event:
https://docs.aws.amazon.com/mediaconvert/latest/ug/mediaconvert_event_list.html

An event is only a hint. For each one the episode whose ``transcode_job_id``
is the event's ``jobId`` (the MediaConvert backend records ``CreateJob``'s
``Job.Id`` as it is) is polled with :func:`episodes.pipeline.poll_episode`,
which asks ``GetJob`` and finishes or fails the episode: the poll is
authoritative and idempotent, so a stale, repeated or out-of-order event can
do no harm, and an episode is never moved on the event's word alone.

Message outcomes differ from the ingest queue on purpose. A body that is not
a MediaConvert event, or an event for a job no processing episode has (a job
of another app on the same queue, a job superseded by a retry, or an event
that overtook the recording of the job id), is logged and *deleted*: there is
nothing to act on, and if the job was ours after all, the periodic
``poll_transcodes`` (every 30 s) and ``reconcile`` reach it anyway. A dropped
ingest file has no such safety net, hence its dead-letter queue. A transient
error (MediaConvert throttled or unreachable, the database busy) leaves the
message on the queue; SQS delivers it again after the visibility timeout.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import OperationalError
from django.utils.dateparse import parse_datetime

from episodes import pipeline
from episodes.models import Episode
from episodes.transcoders import Transcoder, TransientTranscoderError
from podcasthost.celery import app

logger = logging.getLogger(__name__)

DETAIL_TYPE = "MediaConvert Job State Change"
SOURCE = "aws.mediaconvert"
RECEIVE_BATCH = 10


class JobEventError(Exception):
    """A message that is not a MediaConvert job state change; the message says why."""


@dataclass(frozen=True)
class JobEvent:
    job_id: str
    status: str  # PROGRESSING, STATUS_UPDATE, COMPLETE, ERROR, CANCELED, ...
    episode_id: int | None  # from the job's user metadata, when present
    percent: int | None  # jobProgress.jobPercentComplete of a STATUS_UPDATE
    event_at: datetime | None


def parse_job_event(body: str) -> JobEvent:
    """The job event an SQS message body carries.

    Raises :class:`JobEventError` for anything but a ``MediaConvert Job State
    Change`` event with a ``jobId`` and a ``status``.
    """
    try:
        event = json.loads(body)
    except ValueError:
        raise JobEventError("The message is not JSON.") from None
    if not isinstance(event, dict):
        raise JobEventError("The message is not an EventBridge event.")
    if event.get("source") != SOURCE or event.get("detail-type") != DETAIL_TYPE:
        raise JobEventError(
            f"Not a MediaConvert job state change "
            f"(source {event.get('source')!r}, detail-type {event.get('detail-type')!r})."
        )
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise JobEventError("The event has no detail.")
    job_id, status = detail.get("jobId"), detail.get("status")
    if not (isinstance(job_id, str) and job_id and isinstance(status, str) and status):
        raise JobEventError("The event names no jobId or status.")
    metadata = detail.get("userMetadata")
    episode_id = None
    if isinstance(metadata, dict):
        try:
            episode_id = int(metadata.get("episode_id"))
        except (TypeError, ValueError):
            episode_id = None
    progress = detail.get("jobProgress")
    percent = None
    if isinstance(progress, dict) and isinstance(progress.get("jobPercentComplete"), int | float):
        percent = int(progress["jobPercentComplete"])
    time = event.get("time")
    return JobEvent(
        job_id=job_id,
        status=status,
        episode_id=episode_id,
        percent=percent,
        event_at=parse_datetime(time) if isinstance(time, str) else None,
    )


def handle_job_event(
    event: JobEvent, *, transcoder: Transcoder | None = None, now: datetime | None = None
) -> str:
    """Poll the episode running ``event.job_id``; return what happened.

    ``"unknown job"`` if no episode has that job (nothing is changed).
    Otherwise the outcome of :func:`episodes.pipeline.poll_episode`.
    Idempotent. Raises :class:`TransientTranscoderError` (and database errors)
    for the caller to retry later.
    """
    episodes = Episode.objects.filter(transcode_job_id=event.job_id).order_by("-pk")
    episode_id = episodes.values_list("pk", flat=True).first()
    if episode_id is None:
        return "unknown job"
    if event.episode_id is not None and event.episode_id != episode_id:
        # A job id is unique per account and region; disagreeing metadata means
        # the job is another deployment's. Polling is harmless, but say so.
        logger.warning(
            "Job %s belongs to episode %s here but its metadata says %s",
            event.job_id,
            episode_id,
            event.episode_id,
        )
    return pipeline.poll_episode(episode_id, transcoder=transcoder, now=now)


def consume_queue(
    queue_url: str,
    *,
    sqs=None,
    transcoder: Transcoder | None = None,
    max_batches: int = 5,
    wait_seconds: int = 1,
    now: datetime | None = None,
) -> dict[str, int]:
    """Receive and handle up to ``max_batches`` batches; return counts per outcome.

    ``polled``: an episode was polled; ``ignored``: a malformed message or an
    unknown job (deleted); ``kept``: a transient error (left for redelivery).
    Within a batch a job is polled once, however many events it has. Never
    raises for a bad message; errors talking to SQS itself propagate.
    """
    from episodes.ingest import sqs_client

    sqs = sqs or sqs_client()
    counts = {"polled": 0, "ignored": 0, "kept": 0}
    for _ in range(max_batches):
        response = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=RECEIVE_BATCH,
            WaitTimeSeconds=wait_seconds,
        )
        messages = response.get("Messages", [])
        if not messages:
            break
        polled: dict[str, str] = {}  # job id → outcome, this batch
        for message in messages:
            try:
                event = parse_job_event(message["Body"])
                if event.job_id not in polled:
                    polled[event.job_id] = handle_job_event(event, transcoder=transcoder, now=now)
                outcome = polled[event.job_id]
            except JobEventError as exc:
                logger.warning("Job event %s deleted: %s", message["MessageId"], exc)
                outcome = "unknown job"
            except (TransientTranscoderError, OperationalError) as exc:
                logger.warning("Job event %s kept for a retry: %s", message["MessageId"], exc)
                counts["kept"] += 1
                continue
            except Exception:
                # A bug, not the message's fault: keep it; the redrive policy
                # parks it in the dead-letter queue if it keeps failing.
                logger.exception("Job event %s failed; kept for a retry", message["MessageId"])
                counts["kept"] += 1
                continue
            if outcome == "unknown job":
                logger.info("Job event %s names no job of ours; deleted", message["MessageId"])
                counts["ignored"] += 1
            else:
                counts["polled"] += 1
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return counts


def poll_seconds() -> float:
    """``JOB_EVENTS_POLL_SECONDS`` (default 10): how often beat drains the job-events queue."""
    return float(settings.JOB_EVENTS_POLL_SECONDS)


@app.task(acks_late=True, ignore_result=True, expires=60)
def consume_job_events(**kwargs) -> dict[str, int] | None:
    """Periodic: drain a few batches of ``JOB_EVENTS_QUEUE_URL``. Idempotent; a no-op when unset."""
    if kwargs:
        logger.info("consume_job_events ignoring unexpected arguments %s", sorted(kwargs))
    queue_url = settings.JOB_EVENTS_QUEUE_URL
    if not queue_url:
        return None
    return consume_queue(queue_url)


@app.on_after_finalize.connect
def _schedule_consume_job_events(sender, **kwargs) -> None:
    if settings.JOB_EVENTS_QUEUE_URL:
        sender.add_periodic_task(
            poll_seconds(), consume_job_events.s(), name="consume job events queue"
        )


__all__ = [
    "JobEvent",
    "JobEventError",
    "consume_job_events",
    "consume_queue",
    "handle_job_event",
    "parse_job_event",
]
