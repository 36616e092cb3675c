"""manage.py consume_ingest: drain the ingest queue by hand, or keep consuming it."""

from __future__ import annotations

import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from episodes.ingest import consume_queue


class Command(BaseCommand):
    help = (
        "Consume INGEST_QUEUE_URL (S3 notifications of files dropped under inbox/<slug>/) and "
        "create an episode for each file. The periodic Celery task does this on its own; use "
        "this to drain the queue now (--once) or as a dedicated long-polling consumer."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--once", action="store_true", help="Stop when the queue is empty instead of looping."
        )
        parser.add_argument(
            "--wait-seconds", type=int, default=20, help="SQS long-poll wait (0-20, default 20)."
        )

    def handle(self, *args, once: bool, wait_seconds: int, **options) -> None:
        queue_url = settings.INGEST_QUEUE_URL
        if not queue_url:
            raise CommandError("INGEST_QUEUE_URL is not set: there is no queue to consume.")
        if not 0 <= wait_seconds <= 20:
            raise CommandError("--wait-seconds must be between 0 and 20 (the SQS maximum).")
        totals = {"ingested": 0, "deleted": 0, "kept": 0}
        err = getattr(self.stderr, "_out", sys.stderr)
        try:
            with tqdm(unit=" msg", desc="ingest queue", file=err) as bar:
                while True:
                    counts = consume_queue(queue_url, max_batches=1, wait_seconds=wait_seconds)
                    handled = counts["deleted"] + counts["kept"]
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
            f"Episodes created: {totals['ingested']}; messages deleted: {totals['deleted']}; "
            f"kept for retry or the dead-letter queue: {totals['kept']}."
        )
        if totals["kept"]:
            raise CommandError(f"{totals['kept']} message(s) could not be ingested (see the log).")
