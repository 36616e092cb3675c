"""manage.py import_feed URL_OR_FILE: bring a show over from another host by its RSS feed."""

from __future__ import annotations

import sys
import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from episodes.importers.parity import parity_report
from episodes.importers.shows import (
    ImportRefused,
    Progress,
    check_show_slug,
    import_show,
    plan_import,
    read_feed_source,
)
from episodes.models import Episode, ImportRun, Podcast
from podcasthost.broker import require_broker

POLL_SECONDS = 2.0


class Command(BaseCommand):
    help = (
        "Import a show from its RSS feed (a URL, or a saved file): show and episode metadata "
        "with every guid kept, then each enclosure downloaded and processed as the episode's "
        "audio. Re-running resumes and skips what is already imported. Prints the parity "
        "report (exit 1 unless clean)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("source", metavar="URL_OR_FILE", help="The old feed's URL or a file.")
        parser.add_argument("--slug", default="", help="Slug of the new show (default: title).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Print what would be imported; write nothing."
        )
        parser.add_argument(
            "--skip-media",
            action="store_true",
            help="Import the metadata only; run again without it to bring the audio.",
        )
        parser.add_argument(
            "--i-own-this-show",
            action="store_true",
            dest="owner_confirmed",
            help="Confirm you own a podcast:locked show.",
        )
        parser.add_argument(
            "--member", default="", help="Username of the creator who will manage the show."
        )

    def handle(self, *args, source: str, slug: str, dry_run: bool, skip_media: bool, **opts):
        user = None
        if opts["member"]:
            user = get_user_model().objects.filter(username=opts["member"]).first()
            if user is None:
                raise CommandError(f"No user {opts['member']!r}.")
        try:
            if slug and not Podcast.objects.filter(slug=slug).exists():
                check_show_slug(slug)  # before the feed is fetched: a typo costs nothing
            show = read_feed_source(source)
        except ImportRefused as exc:
            raise CommandError(str(exc)) from exc
        run = ImportRun(
            source=source.strip(),
            slug=slug,
            requested_by=user,
            owner_confirmed=opts["owner_confirmed"],
            skip_media=skip_media,
        )
        if dry_run:
            return self._dry_run(run, show, user)
        if not skip_media:
            require_broker()
        run.save()
        err = getattr(self.stderr, "_out", sys.stderr)
        bars: dict[str, tqdm] = {}

        def found(items: int, media: int) -> None:
            self.stdout.write(f"episodes found: {items}; audio to download: {media}")
            bars["media"] = tqdm(total=media, desc="media downloaded", unit="file", file=err)

        progress = Progress(on_found=found, on_downloaded=lambda: bars["media"].update(1))
        try:
            import_show(run, show, user=user, progress=progress)
        except ImportRefused as exc:
            run.mark_failed(str(exc))
            raise CommandError(str(exc)) from exc
        except BaseException as exc:
            run.mark_failed(f"interrupted: {exc!r}")
            raise
        finally:
            if "media" in bars:
                bars["media"].close()
        self._wait_for_processing(run, err)
        report = parity_report(run)
        for line in report.lines():
            self.stdout.write(line)
        self.stdout.write(f"show: {run.podcast.slug} (import #{run.pk})")
        if not report.clean:
            sys.exit(1)

    def _dry_run(self, run: ImportRun, show, user) -> None:
        try:
            plan = plan_import(run, show, user=user)
        except ImportRefused as exc:
            raise CommandError(str(exc)) from exc
        where = plan.podcast.slug if plan.podcast else "a new show"
        self.stdout.write(f"dry run: nothing written. Show “{show.title}” into {where}.")
        self.stdout.write(
            f"episodes found: {len(show.items)}; would import: {len(plan.new_items)}; "
            f"already imported: {len(plan.already_imported)}"
        )
        for item in plan.new_items:
            self.stdout.write(f"would import {item.guid} “{item.title}”")
        for p in plan.problems:
            kind = "would drop" if p["dropped"] else "problem"
            self.stdout.write(f"{kind} {p['guid'] or '(show)'}: {p['problem']}")

    def _wait_for_processing(self, run: ImportRun, err) -> None:
        """Wait until every imported episode is processed or failed, with a progress bar."""
        busy = (Episode.Status.UPLOADED, Episode.Status.PROCESSING)
        episodes = run.podcast.episodes.filter(guid__in=[i["guid"] for i in run.old_items])
        total = episodes.exclude(status=Episode.Status.DRAFT).count()
        with tqdm(total=total, desc="processed", unit="episode", file=err) as bar:
            while True:
                left = episodes.filter(status__in=busy).count()
                bar.n = total - left
                bar.refresh()
                if not left:
                    return
                try:
                    time.sleep(POLL_SECONDS)
                except KeyboardInterrupt:
                    self.stderr.write(
                        "Stopped waiting; processing goes on. Run the same command again "
                        "for the report: it imports nothing twice."
                    )
                    raise
