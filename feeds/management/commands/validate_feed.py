"""manage.py validate_feed: list every problem of a show's feed before submitting it."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from episodes.models import Podcast
from feeds.validation import links_use_public_base_url, validate_podcast_feed
from podcasthost.instance import public_base_url_problem


class Command(BaseCommand):
    help = (
        "Render a show's feed as it would be published and print every problem found "
        "against Apple's and the Podcasting 2.0 rules (exit status 1 if any)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("slugs", nargs="+", help="Slug(s) of the show(s) to check.")

    def handle(self, *args, slugs: list[str], **options) -> None:
        found = {p.slug: p for p in Podcast.objects.filter(slug__in=slugs)}
        missing = [s for s in slugs if s not in found]
        if missing:
            raise CommandError(f"No show with slug: {', '.join(missing)}.")
        total = 0
        # The feed's enclosure, cover and self links are on PUBLIC_BASE_URL on one machine.
        if links_use_public_base_url():
            problem = public_base_url_problem()
            if problem:
                total += 1
                self.stdout.write(f"public base URL: {problem}")
        for slug in tqdm(
            slugs, desc="validate", unit="feed", file=sys.stderr, disable=len(slugs) < 2
        ):
            problems = validate_podcast_feed(found[slug])
            total += len(problems)
            if problems:
                self.stdout.write(f"{slug}: {len(problems)} problem(s)")
                for problem in problems:
                    self.stdout.write(f"  - {problem}")
            else:
                self.stdout.write(self.style.SUCCESS(f"{slug}: no problems found"))
        if total:
            raise CommandError(f"{total} problem(s) found.")
