"""manage.py ingest_cdn_logs: replay CloudFront standard log files by hand."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from feeds.analytics.ingest import LogSourceError
from feeds.analytics.pipeline import aggregate_and_prune, ingest_log_sources


class Command(BaseCommand):
    help = (
        "Count downloads from CloudFront standard log files (gzip or plain), given as local "
        "files or as s3://BUCKET/PREFIX. A file processed before counts nothing; malformed "
        "lines are counted as skipped. Exit status 1 if any file could not be read."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "sources", nargs="+", metavar="FILE|s3://BUCKET/PREFIX", help="Log files to ingest."
        )

    def handle(self, *args, sources: list[str], **options) -> None:
        err = getattr(self.stderr, "_out", sys.stderr)
        failed: list[str] = []
        with tqdm(desc="log files", unit=" file", file=err) as bar:

            def report(result) -> None:
                bar.update(1)
                if isinstance(result, LogSourceError):
                    failed.append(str(result))
                    self.stdout.write(f"{result}: not ingested")
                elif result.already:
                    self.stdout.write(f"{result.name}: already processed, nothing counted")
                else:
                    ignored = sum(result.ignored.values())
                    self.stdout.write(
                        f"{result.name}: {result.lines} lines, {result.events} events, "
                        f"{ignored} ignored, {result.skipped} skipped"
                    )

            ingest_log_sources(sources, now=timezone.now(), on_file=report)
        counts = aggregate_and_prune(now=timezone.now())
        if counts is None:
            self.stdout.write("Another aggregation is running; it will count these events.")
        else:
            self.stdout.write(f"Downloads counted: {counts['downloads']}.")
        if failed:
            raise CommandError(f"{len(failed)} source(s) could not be read: {'; '.join(failed)}")
