"""``manage.py preflight``: check that the configured pipeline can work."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from episodes.preflight import run_checks


class Command(BaseCommand):
    help = (
        "Check storages (write, read back, delete), the transcoder, CloudFront and the broker; "
        "one line per check. Exits non-zero if any check fails."
    )

    def handle(self, *args, **options) -> None:
        checks = run_checks()
        for check in checks:
            self.stdout.write(check.line())
        failed = [c.name for c in checks if c.failed]
        if failed:
            raise CommandError(f"{len(failed)} check(s) failed: {', '.join(failed)}")
