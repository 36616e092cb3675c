"""manage.py consume_ingest: drain the ingest queue by hand, or keep consuming it."""

from __future__ import annotations

from episodes.ingest_queue import consume_queue
from episodes.management.queue_consumer import QueueConsumerCommand


class Command(QueueConsumerCommand):
    help = (
        "Consume INGEST_QUEUE_URL (S3 notifications of files dropped under inbox/<slug>/) and "
        "create an episode for each file. The periodic Celery task does this on its own; use "
        "this to drain the queue now (--once) or as a dedicated long-polling consumer."
    )
    setting = "INGEST_QUEUE_URL"
    unit = "msg"
    counters = ("ingested", "deleted", "kept")
    message_counters = ("deleted", "kept")

    def consume(self, queue_url: str, *, max_batches: int, wait_seconds: int) -> dict[str, int]:
        return consume_queue(queue_url, max_batches=max_batches, wait_seconds=wait_seconds)

    def summary(self, totals: dict[str, int]) -> str:
        return (
            f"Episodes created: {totals['ingested']}; messages deleted: {totals['deleted']}; "
            f"kept for retry or the dead-letter queue: {totals['kept']}."
        )

    def kept_message(self, kept: int) -> str:
        return f"{kept} message(s) could not be ingested (see the log)."
