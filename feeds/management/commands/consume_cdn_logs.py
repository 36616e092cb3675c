"""manage.py consume_cdn_logs: drain the CDN-logs queue, or keep consuming it."""

from __future__ import annotations

from episodes.management.queue_consumer import QueueConsumerCommand
from feeds.analytics.log_queue import consume_queue


class Command(QueueConsumerCommand):
    help = (
        "Consume CDN_LOGS_QUEUE_URL (S3 notifications of CloudFront log files) and record each "
        "file's download events once. The periodic Celery task does this on its own; use this "
        "to drain the queue now (--once) or as a dedicated long-polling consumer."
    )
    setting = "CDN_LOGS_QUEUE_URL"
    unit = "message"
    counters = ("files", "events", "skipped", "repeated", "ignored", "kept")
    message_counters = ("files", "repeated", "ignored", "kept")

    def consume(self, queue_url: str, *, max_batches: int, wait_seconds: int) -> dict[str, int]:
        return consume_queue(queue_url, max_batches=max_batches, wait_seconds=wait_seconds)

    def summary(self, totals: dict[str, int]) -> str:
        return (
            f"Log files ingested: {totals['files']} ({totals['events']} events, "
            f"{totals['skipped']} malformed lines skipped); already processed: "
            f"{totals['repeated']}; messages ignored: {totals['ignored']}; "
            f"kept for a retry: {totals['kept']}."
        )

    def kept_message(self, kept: int) -> str:
        return f"{kept} message(s) could not be ingested now and stay queued (see the log)."
