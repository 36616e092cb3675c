"""``manage.py reconcile``: repair processing work a crash left behind, and say what was done."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from episodes import pipeline
from podcasthost.broker import require_broker


class Command(BaseCommand):
    help = (
        "Repair the processing pipeline after a crash: submit uploads nobody picked up, re-run "
        "processing runs that died, and re-poll jobs with no recent progress. Safe to run any "
        "time; Celery beat also runs it every 5 minutes."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--stalled-after",
            type=float,
            default=None,
            metavar="SECONDS",
            help="No progress for this long counts as stuck (default: TRANSCODE_STALL_SECONDS).",
        )

    def handle(self, *args, stalled_after: float | None = None, **options) -> None:
        if stalled_after is not None and stalled_after < 0:
            raise CommandError("--stalled-after must be zero or more seconds.")
        # Repairs are queued after commit, where a broker error is only logged.
        require_broker()
        try:
            report = pipeline.reconcile(stalled_after_seconds=stalled_after)
        except Exception as exc:
            raise CommandError(f"Reconcile failed: {exc}") from exc
        self.stdout.write(f"Reconciled: {report}.")
        for episode_id in report.submitted:
            self.stdout.write(f"  episode {episode_id}: uploaded, submitted for processing")
        for episode_id in report.requeued:
            self.stdout.write(f"  episode {episode_id}: run had died, processing again")
        for episode_id, outcome in report.polled.items():
            self.stdout.write(f"  episode {episode_id}: re-polled, {outcome}")
