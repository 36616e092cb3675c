"""The shared body of the commands that drain an SQS queue by hand (``consume_*``)."""

from __future__ import annotations

import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm


class QueueConsumerCommand(BaseCommand):
    """Drain ``settings.<setting>`` with ``consume(queue_url, max_batches=1, wait_seconds=N)``.

    Subclasses name the setting, the consumer function, the counters it returns
    (``message_counters`` add up to the messages handled; ``kept`` counts those
    left for a retry) and the summary.
    Loops until Ctrl-C, or until the queue is empty with ``--once``; exits
    non-zero when messages were kept or the queue cannot be reached.
    """

    setting: str
    unit: str
    counters: tuple[str, ...]
    message_counters: tuple[str, ...]

    def consume(self, queue_url: str, *, max_batches: int, wait_seconds: int) -> dict[str, int]:
        raise NotImplementedError

    def summary(self, totals: dict[str, int]) -> str:
        raise NotImplementedError

    def kept_message(self, kept: int) -> str:
        raise NotImplementedError

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--once", action="store_true", help="Stop when the queue is empty instead of looping."
        )
        parser.add_argument(
            "--wait-seconds", type=int, default=20, help="SQS long-poll wait (0-20, default 20)."
        )

    def handle(self, *args, once: bool, wait_seconds: int, **options) -> None:
        queue_url = getattr(settings, self.setting)
        if not queue_url:
            raise CommandError(f"{self.setting} is not set: there is no queue to consume.")
        if not 0 <= wait_seconds <= 20:
            raise CommandError("--wait-seconds must be between 0 and 20 (the SQS maximum).")
        totals = dict.fromkeys(self.counters, 0)
        err = getattr(self.stderr, "_out", sys.stderr)
        try:
            with tqdm(unit=f" {self.unit}", desc=self.setting, file=err) as bar:
                while True:
                    counts = self.consume(queue_url, max_batches=1, wait_seconds=wait_seconds)
                    handled = sum(counts[name] for name in self.message_counters)
                    for name in self.counters:
                        totals[name] += counts.get(name, 0)
                    bar.update(handled)
                    bar.set_postfix(totals)
                    if once and handled == 0:
                        break
        except KeyboardInterrupt:
            pass
        except Exception as exc:  # SQS unreachable, bad credentials...
            raise CommandError(f"Consuming {queue_url} failed: {exc}") from exc
        self.stdout.write(self.summary(totals))
        if totals["kept"]:
            raise CommandError(self.kept_message(totals["kept"]))
