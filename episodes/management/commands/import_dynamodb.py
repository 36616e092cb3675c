"""manage.py import_dynamodb TABLE --bucket OUTPUT_BUCKET: bring over the seed's own shows."""

from __future__ import annotations

import sys

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from episodes.importers.dynamodb import TableError, read_table
from episodes.importers.parity import parity_report
from episodes.importers.shows import (
    ImportRefused,
    Progress,
    check_show_slug,
    import_show,
    slug_from,
)
from episodes.management.commands.import_feed import Command as ImportFeed
from episodes.models import ImportRun
from podcasthost.broker import require_broker


class Command(BaseCommand):
    help = (
        "Import every show of the seed's DynamoDB table (hash key podcastId, range key "
        "episodeId) with its audio from the seed's output bucket: one show per podcastId "
        "(slug = podcastId, so the feed keeps its path), guids as the seed published them. "
        "Re-running resumes. Prints a parity report per show (exit 1 unless all are clean)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("table", metavar="TABLE", help="The seed's metadata table.")
        parser.add_argument("--bucket", required=True, help="The seed's output bucket.")
        parser.add_argument("--region", default="", help="AWS region (default: AWS_REGION).")
        parser.add_argument(
            "--member", default="", help="Username of the creator who will manage the shows."
        )

    def handle(self, *args, table: str, bucket: str, region: str, member: str, **options):
        user = None
        if member:
            user = get_user_model().objects.filter(username=member).first()
            if user is None:
                raise CommandError(f"No user {member!r}.")
        try:
            shows = read_table(table, bucket=bucket, region=region or settings.AWS_REGION)
        except TableError as exc:
            raise CommandError(str(exc)) from exc
        if not shows:
            raise CommandError(f"The table {table!r} holds no shows.")
        require_broker()
        err = getattr(self.stderr, "_out", sys.stderr)
        clean = True
        for podcast_id, show in shows.items():
            source = f"dynamodb://{table}/{podcast_id}"
            earlier = (
                ImportRun.objects.filter(source=source, podcast__isnull=False)
                .select_related("podcast")
                .order_by("-pk")
                .first()
            )
            # A re-run resumes the show an earlier run made, under the slug it has.
            slug = earlier.podcast.slug if earlier else _slug_of(podcast_id)
            run = ImportRun.objects.create(
                kind=ImportRun.Kind.DYNAMODB, source=source, slug=slug, requested_by=user
            )
            self.stdout.write(f"show {podcast_id}: {len(show.items)} episodes found")
            if earlier is None and slug != podcast_id.lower():
                self.stdout.write(
                    f"show {podcast_id}: slug “{slug}”: the podcastId cannot be a slug here, "
                    f"so its feed moves to {slug}/feed.xml (redirect the old path)"
                )
            with tqdm(desc="media downloaded", unit="file", file=err) as bar:
                progress = Progress(
                    on_found=lambda items, media, bar=bar: bar.reset(total=media),
                    on_downloaded=lambda bar=bar: bar.update(1),
                )
                try:
                    import_show(run, show, user=user, progress=progress)
                except ImportRefused as exc:
                    run.mark_failed(str(exc))
                    self.stderr.write(f"show {podcast_id} not imported: {exc}")
                    clean = False
                    continue
            ImportFeed(stdout=self.stdout, stderr=self.stderr)._wait_for_processing(run, err)
            report = parity_report(run)
            for line in report.lines():
                self.stdout.write(line)
            clean = clean and report.clean
        if not clean:
            sys.exit(1)


def _slug_of(podcast_id: str) -> str:
    """The podcastId as the slug (the feed keeps its path) if it can be one, else a slug of it."""
    try:
        check_show_slug(podcast_id.lower())
    except ImportRefused:
        return slug_from(podcast_id)
    return podcast_id.lower()
