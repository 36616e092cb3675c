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
from typing import Any

from django.db import OperationalError
from django.utils.dateparse import parse_datetime

from episodes import pipeline
from episodes.models import Episode
from episodes.transcoders import Transcoder, TransientTranscoderError
from podcasthost import queues

logger = logging.getLogger(__name__)

DETAIL_TYPE = "MediaConvert Job State Change"
SOURCE = "aws.mediaconvert"


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


class _JobEventHandler:
    """One message's fate; a job is polled once per batch, however many events it has."""

    def __init__(self, transcoder: Transcoder | None, now: datetime | None) -> None:
        self.transcoder, self.now = transcoder, now
        self.polled: dict[str, str] = {}  # job id → outcome, this batch

    def start_batch(self) -> None:
        self.polled.clear()

    def __call__(self, body: str) -> str:
        try:
            event = parse_job_event(body)
        except JobEventError as exc:
            raise queues.Discard(str(exc), outcome="ignored") from exc
        if event.job_id not in self.polled:
            try:
                outcome = handle_job_event(event, transcoder=self.transcoder, now=self.now)
            except (TransientTranscoderError, OperationalError) as exc:
                raise queues.Keep(str(exc)) from exc
            self.polled[event.job_id] = outcome
        if self.polled[event.job_id] == "unknown job":
            logger.info("Job event for job %s names no job of ours; deleted", event.job_id)
            return "ignored"
        return "polled"


def consume_queue(
    queue_url: str,
    *,
    sqs: Any = None,
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
    handle = _JobEventHandler(transcoder, now)
    return queues.consume_queue(
        queue_url,
        handle,
        label="Job event",
        outcomes=("polled", "ignored"),
        sqs=sqs,
        max_batches=max_batches,
        wait_seconds=wait_seconds,
        on_batch=handle.start_batch,
    )


__all__ = [
    "JobEvent",
    "JobEventError",
    "consume_queue",
    "handle_job_event",
    "parse_job_event",
]
