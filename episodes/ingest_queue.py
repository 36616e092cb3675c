"""The ingest queue: S3 event notifications (SQS ``INGEST_QUEUE_URL``) of files dropped in inbox/.

Each notification names the created objects; :func:`handle_message` hands each
to :func:`episodes.ingest.ingest_dropped_object`. A message that cannot be
ingested (unknown show, key outside ``inbox/``, missing object, not a
notification at all) is logged and left on the queue: a dropped file has no
other trace, so SQS's redrive policy parks it in the dead-letter queue for a
person to look at. The loop itself is :func:`podcasthost.queues.consume_queue`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import unquote_plus

from django.utils.dateparse import parse_datetime

from episodes.ingest import DroppedObject, IngestError, ingest_dropped_object
from episodes.models import Episode
from podcasthost import queues


def parse_notification(body: str) -> list[DroppedObject]:
    """The created objects an S3 event notification names; ``[]`` for ``s3:TestEvent``.

    Keys are URL-encoded in notifications (a space arrives as ``+``).
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
    Raises :class:`IngestError` for a body that is not an S3 notification.
    """
    try:
        message = json.loads(body)
    except ValueError:
        raise IngestError("The message is not JSON.") from None
    if not isinstance(message, dict):
        raise IngestError("The message is not an S3 event notification.")
    if message.get("Event") == "s3:TestEvent":
        return []
    records = message.get("Records")
    if not isinstance(records, list):
        raise IngestError("The message is not an S3 event notification (no Records).")
    objects = []
    for record in records:
        try:
            if record.get("eventSource") != "aws:s3":
                raise IngestError(f"Unexpected event source {record.get('eventSource')!r}.")
            if not str(record.get("eventName", "")).startswith("ObjectCreated:"):
                continue  # deletions and the like: nothing to ingest
            s3_object = record["s3"]["object"]
            objects.append(
                DroppedObject(
                    key=unquote_plus(s3_object["key"]),
                    size_bytes=s3_object.get("size"),
                    event_at=parse_datetime(record.get("eventTime") or ""),
                    etag=s3_object.get("eTag"),
                )
            )
        except (KeyError, TypeError, AttributeError):
            raise IngestError("Malformed S3 event record.") from None
    return objects


def handle_message(body: str, *, now: datetime | None = None) -> list[Episode]:
    """Ingest every object a notification names. Raises :class:`IngestError` (keep the message)."""
    episodes = []
    for obj in parse_notification(body):
        episode = ingest_dropped_object(obj, now=now)
        if episode is not None:
            episodes.append(episode)
    return episodes


def consume_queue(
    queue_url: str,
    *,
    sqs: Any = None,
    max_batches: int = 5,
    wait_seconds: int = 1,
    now: datetime | None = None,
) -> dict[str, int]:
    """Receive and handle up to ``max_batches`` batches; return counts per outcome.

    ``ingested``: episodes created; ``deleted``: messages handled (ingested,
    duplicate or test event) and deleted; ``kept``: messages that could not be
    ingested, left for redelivery and the dead-letter queue. Never raises for
    a bad message; errors talking to SQS itself propagate.
    """

    def handle(body: str) -> dict[str, int]:
        try:
            episodes = handle_message(body, now=now)
        except IngestError as exc:
            raise queues.Keep(str(exc), until="for the dead-letter queue") from exc
        return {"ingested": len(episodes), "deleted": 1}

    return queues.consume_queue(
        queue_url,
        handle,
        label="Ingest message",
        outcomes=("ingested", "deleted"),
        sqs=sqs,
        max_batches=max_batches,
        wait_seconds=wait_seconds,
    )


__all__ = ["consume_queue", "handle_message", "parse_notification"]
