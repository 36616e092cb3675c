"""The CDN-logs queue: S3 notifications (SQS ``CDN_LOGS_QUEUE_URL``) of CloudFront log files.

CloudFront writes each standard log file into the stack's log bucket; the
bucket notifies this queue, and each message's files are ingested with
:func:`feeds.analytics.ingest.ingest_s3_object` (a file seen before counts
nothing, so a redelivered message is harmless). A body that is not an S3
notification is deleted as ``ignored``; a file that cannot be read now
(throttled, the database busy) keeps its message for redelivery, and SQS's
redrive policy parks it in the dead-letter queue after repeated failures.
The loop itself is :func:`podcasthost.queues.consume_queue`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import unquote_plus

from django.db import OperationalError
from django.utils import timezone

from feeds.analytics.ingest import LogSourceError, ingest_s3_object, rendition_paths
from podcasthost import queues


class NotificationError(Exception):
    """A message that is not an S3 event notification."""


def parse_notification(body: str) -> list[tuple[str, str]]:
    """(bucket, key) of each object created; ``[]`` for ``s3:TestEvent``.

    Keys are URL-encoded in notifications (a space arrives as ``+``):
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
    """
    try:
        message = json.loads(body)
    except ValueError:
        raise NotificationError("The message is not JSON.") from None
    if not isinstance(message, dict):
        raise NotificationError("The message is not an S3 event notification.")
    if message.get("Event") == "s3:TestEvent":
        return []
    records = message.get("Records")
    if not isinstance(records, list):
        raise NotificationError("The message is not an S3 event notification (no Records).")
    found = []
    for record in records:
        try:
            if record.get("eventSource") != "aws:s3":
                raise NotificationError(f"Unexpected event source {record.get('eventSource')!r}.")
            if not str(record.get("eventName", "")).startswith("ObjectCreated:"):
                continue
            found.append(
                (record["s3"]["bucket"]["name"], unquote_plus(record["s3"]["object"]["key"]))
            )
        except (KeyError, TypeError, AttributeError):
            raise NotificationError("Malformed S3 event record.") from None
    return found


class _LogFileHandler:
    def __init__(self, s3: Any, now: datetime | None) -> None:
        self.s3, self.now = s3, now
        self.paths: dict[str, int] | None = None

    def start_batch(self) -> None:
        self.paths = rendition_paths()  # renditions published since the last batch

    def __call__(self, body: str) -> dict[str, int]:
        try:
            objects = parse_notification(body)
        except NotificationError as exc:
            raise queues.Discard(str(exc), outcome="ignored") from exc
        counts = {"files": 0, "events": 0, "skipped": 0, "repeated": 0}
        for bucket, key in objects:
            try:
                result = ingest_s3_object(
                    bucket, key, now=self.now or timezone.now(), s3=self.s3, paths=self.paths
                )
            except (LogSourceError, OperationalError) as exc:
                raise queues.Keep(str(exc)) from exc
            if result.already:
                counts["repeated"] += 1
            else:
                counts["files"] += 1
                counts["events"] += result.events
                counts["skipped"] += result.skipped
        return counts


def consume_queue(
    queue_url: str,
    *,
    sqs: Any = None,
    s3: Any = None,
    max_batches: int = 5,
    wait_seconds: int = 1,
    now: datetime | None = None,
) -> dict[str, int]:
    """Receive and ingest up to ``max_batches`` batches; return counts.

    ``files`` newly ingested (``events`` recorded, ``skipped`` malformed
    lines), ``repeated`` files already processed, ``ignored`` messages that
    are not notifications, ``kept`` messages left for a retry.
    """
    handle = _LogFileHandler(s3, now)
    return queues.consume_queue(
        queue_url,
        handle,
        label="CDN log message",
        outcomes=("files", "events", "skipped", "repeated", "ignored"),
        sqs=sqs,
        max_batches=max_batches,
        wait_seconds=wait_seconds,
        on_batch=handle.start_batch,
    )
