"""manage.py consume_job_events: drain the MediaConvert job-events queue, or keep consuming it."""

from __future__ import annotations

from episodes.job_events import consume_queue
from episodes.management.queue_consumer import QueueConsumerCommand


class Command(QueueConsumerCommand):
    help = (
        "Consume JOB_EVENTS_QUEUE_URL (MediaConvert job state changes from EventBridge) and poll "
        "the episode of each job, so finished jobs are published at once. The periodic Celery "
        "task does this on its own; use this to drain the queue now (--once) or as a dedicated "
        "long-polling consumer."
    )
    setting = "JOB_EVENTS_QUEUE_URL"
    unit = "event"
    counters = ("polled", "ignored", "kept")
    message_counters = counters

    def consume(self, queue_url: str, *, max_batches: int, wait_seconds: int) -> dict[str, int]:
        return consume_queue(queue_url, max_batches=max_batches, wait_seconds=wait_seconds)

    def summary(self, totals: dict[str, int]) -> str:
        return (
            f"Episodes polled: {totals['polled']}; events ignored (not ours or malformed): "
            f"{totals['ignored']}; kept for a retry: {totals['kept']}."
        )

    def kept_message(self, kept: int) -> str:
        return f"{kept} event(s) hit a transient error and stay queued (see the log)."
