"""One SQS consumer loop for every queue the app drains (ingest, job events, CDN logs).

Each queue brings a ``handle(body)`` that decides one message's fate:

* returns an outcome name (counted once) or a mapping of counts to add:
  the message was dealt with and is deleted;
* raises :class:`Discard`: the message is useless (garbage, not ours); it is
  logged, counted under the error's outcome and deleted;
* raises :class:`Keep`: it cannot be handled now; it stays on the queue, SQS
  delivers it again after the visibility timeout, and the queue's redrive
  policy moves it to the dead-letter queue after ``maxReceiveCount`` receives:
  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html
* any other exception is a bug, not the message's fault: logged with its
  traceback and kept, like :class:`Keep`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

RECEIVE_BATCH = 10  # the SQS maximum per ReceiveMessage

Handler = Callable[[str], "str | Mapping[str, int]"]


class Keep(Exception):
    """Leave the message on the queue for redelivery (and, in the end, the dead-letter queue)."""

    def __init__(self, reason: str, *, until: str = "for a retry") -> None:
        super().__init__(reason)
        self.until = until  # how the log line says what happens next


class Discard(Exception):
    """Delete the message unhandled, counting it under ``outcome``."""

    def __init__(self, reason: str, *, outcome: str) -> None:
        super().__init__(reason)
        self.outcome = outcome


def sqs_client() -> Any:
    """A boto3 SQS client in ``AWS_REGION``."""
    import boto3

    return boto3.client("sqs", region_name=settings.AWS_REGION)


def consume_queue(
    queue_url: str,
    handle: Handler,
    *,
    label: str,
    outcomes: Iterable[str],
    sqs: Any = None,
    max_batches: int = 5,
    wait_seconds: int = 1,
    on_batch: Callable[[], object] | None = None,
) -> dict[str, int]:
    """Receive up to ``max_batches`` batches and ``handle`` each message; return counts.

    The counts hold every name of ``outcomes`` plus ``kept``. ``on_batch`` is
    called before each batch is handled (e.g. to reset a per-batch memo).
    ``label`` names a message in log lines ("Ingest message"). Never raises
    for a bad message; errors talking to SQS itself propagate.
    """
    sqs = sqs or sqs_client()
    counts = dict.fromkeys((*outcomes, "kept"), 0)
    for _ in range(max_batches):
        response = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=RECEIVE_BATCH,
            WaitTimeSeconds=wait_seconds,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        )
        messages = response.get("Messages", [])
        if not messages:
            break
        if on_batch is not None:
            on_batch()
        for message in messages:
            outcome = _handle_one(message, handle, label)
            if outcome is None:
                counts["kept"] += 1
                continue
            for name, n in outcome.items():
                counts[name] = counts.get(name, 0) + n
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return counts


def _handle_one(message: dict, handle: Handler, label: str) -> Mapping[str, int] | None:
    """The counts to add for a message to delete; ``None`` to keep it."""
    message_id = message["MessageId"]
    receives = message.get("Attributes", {}).get("ApproximateReceiveCount", "?")
    try:
        outcome = handle(message["Body"])
    except Discard as exc:
        logger.warning("%s %s deleted: %s", label, message_id, exc)
        return {exc.outcome: 1}
    except Keep as exc:
        logger.warning(
            "%s %s kept %s (receive %s): %s", label, message_id, exc.until, receives, exc
        )
        return None
    except Exception:
        logger.exception("%s %s failed (receive %s); kept for a retry", label, message_id, receives)
        return None
    return {outcome: 1} if isinstance(outcome, str) else outcome
