"""manage.py downloads: a show's downloads per episode, for operators."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from episodes.models import Podcast
from feeds.analytics.reports import episode_totals, write_csv


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--since {value!r}: use a date such as 2026-01-31.") from None


class Command(BaseCommand):
    help = (
        "Print each episode's downloads (IAB-style, as the admin dashboard shows them), "
        "newest first, with its first 7 and 30 days; --csv for a spreadsheet."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug", help="Slug of the show.")
        parser.add_argument("--since", help="Count downloads from this date (YYYY-MM-DD) on.")
        parser.add_argument("--csv", action="store_true", help="Print CSV instead of a table.")

    def handle(self, *args, slug: str, since: str | None, csv: bool, **options) -> None:
        podcast = Podcast.objects.filter(slug=slug).first()
        if podcast is None:
            raise CommandError(f"No show with slug: {slug}.")
        totals = episode_totals(podcast, since=_date(since) if since else None)
        if csv:
            write_csv(totals, self.stdout)
            return
        width = max([len("Episode"), *(len(t.title) for t in totals)])
        self.stdout.write(f"{'Episode':<{width}}  {'Published':<10}  Downloads  7 days  30 days")
        for t in totals:
            published = t.published.isoformat() if t.published else "-"
            self.stdout.write(
                f"{t.title:<{width}}  {published:<10}  {t.downloads:>9}  "
                f"{t.first_7_days:>6}  {t.first_30_days:>7}"
            )
        self.stdout.write(f"Total: {sum(t.downloads for t in totals)} downloads.")
