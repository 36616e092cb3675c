"""manage.py consume_job_events: drain the MediaConvert job-events queue, or keep consuming it."""

from __future__ import annotations

import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from episodes.job_events import consume_queue


class Command(BaseCommand):
    help = (
        "Consume JOB_EVENTS_QUEUE_URL (MediaConvert job state changes from EventBridge) and poll "
        "the episode of each job, so finished jobs are published at once. The periodic Celery "
        "task does this on its own; use this to drain the queue now (--once) or as a dedicated "
        "long-polling consumer."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--once", action="store_true", help="Stop when the queue is empty instead of looping."
        )
        parser.add_argument(
            "--wait-seconds", type=int, default=20, help="SQS long-poll wait (0-20, default 20)."
        )

    def handle(self, *args, once: bool, wait_seconds: int, **options) -> None:
        queue_url = settings.JOB_EVENTS_QUEUE_URL
        if not queue_url:
            raise CommandError("JOB_EVENTS_QUEUE_URL is not set: there is no queue to consume.")
        if not 0 <= wait_seconds <= 20:
            raise CommandError("--wait-seconds must be between 0 and 20 (the SQS maximum).")
        totals = {"polled": 0, "ignored": 0, "kept": 0}
        err = getattr(self.stderr, "_out", sys.stderr)
        try:
            with tqdm(unit=" event", desc="job events", file=err) as bar:
                while True:
                    counts = consume_queue(queue_url, max_batches=1, wait_seconds=wait_seconds)
                    handled = sum(counts.values())
                    for name, value in counts.items():
                        totals[name] += value
                    bar.update(handled)
                    bar.set_postfix(totals)
                    if once and handled == 0:
                        break
        except KeyboardInterrupt:
            pass
        except Exception as exc:  # SQS unreachable, bad credentials...
            raise CommandError(f"Consuming {queue_url} failed: {exc}") from exc
        self.stdout.write(
            f"Episodes polled: {totals['polled']}; events ignored (not ours or malformed): "
            f"{totals['ignored']}; kept for a retry: {totals['kept']}."
        )
        if totals["kept"]:
            raise CommandError(
                f"{totals['kept']} event(s) hit a transient error and stay queued (see the log)."
            )
