"""manage.py publish_feeds: render and publish feeds now (after a deploy, a restore, a check)."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from episodes.models import Podcast
from episodes.units import episode_count
from feeds.publishing import PublishError, publish_feed


class Command(BaseCommand):
    help = (
        "Render the feeds of the given shows (or --all) and publish those whose content "
        "changed to the feeds storage, with a CloudFront invalidation when configured. "
        "--dry-run only reports what would change."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("slugs", nargs="*", help="Slugs of the shows to publish.")
        parser.add_argument("--all", action="store_true", help="Publish every show.")
        parser.add_argument("--dry-run", action="store_true", help="Render only; write nothing.")
        parser.add_argument(
            "--force", action="store_true", help="Upload and invalidate even if unchanged."
        )

    def handle(self, *args, slugs: list[str], all: bool, dry_run: bool, force: bool, **options):
        if bool(slugs) == all:
            raise CommandError("Give one or more show slugs, or --all (not both).")
        podcasts = Podcast.objects.order_by("slug")
        if slugs:
            podcasts = podcasts.filter(slug__in=slugs)
            missing = sorted(set(slugs) - set(podcasts.values_list("slug", flat=True)))
            if missing:
                raise CommandError(f"No show with slug: {', '.join(missing)}.")
        failures = []
        for podcast in tqdm(list(podcasts), desc="feeds", unit="feed", file=sys.stderr):
            try:
                result = publish_feed(podcast.pk, dry_run=dry_run, force=force)
            except PublishError as exc:
                failures.append(podcast.slug)
                self.stderr.write(self.style.ERROR(str(exc)))
                continue
            if result.blocked:
                failures.append(podcast.slug)
                self.stderr.write(
                    self.style.ERROR(
                        f"{podcast.slug}: blocked by the publish gate (the last good feed stays):"
                    )
                )
                for finding in result.findings:
                    if finding.blocking:
                        self.stderr.write(f"  - {finding.message} How to fix: {finding.fix}")
                continue
            verb = ("would publish" if dry_run else "published") if result.changed else "unchanged"
            extra = f", invalidation {result.invalidation_id}" if result.invalidation_id else ""
            self.stdout.write(
                f"{podcast.slug}: {verb} ({episode_count(result.item_count)}, "
                f"sha256 {result.content_hash[:12]}{extra})"
            )
        if failures:
            raise CommandError(f"Publishing failed or was blocked for: {', '.join(failures)}.")
