"""``manage.py retranscode``: process existing episodes again (e.g. after the presets changed)."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from episodes import pipeline
from episodes.models import Episode, Podcast
from podcasthost.broker import require_broker


class Command(BaseCommand):
    help = (
        "Transcode a show's episodes again, e.g. after the rendition presets changed. Ready "
        "episodes keep their current renditions in the feed until the new ones are ready; "
        "failed ones are retried. Name episodes by slug, or pass --all."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("podcast", help="The show's slug.")
        parser.add_argument("episodes", nargs="*", help="Episode slugs (default: none).")
        parser.add_argument("--all", action="store_true", help="Every episode of the show.")

    def handle(self, *args, podcast: str, episodes: list[str], all: bool, **options) -> None:
        show = Podcast.objects.filter(slug=podcast).first()
        if show is None:
            raise CommandError(f"No show with the slug “{podcast}”.")
        if bool(episodes) == bool(all):
            raise CommandError("Name one or more episode slugs, or pass --all (not both).")
        queryset = Episode.objects.filter(podcast=show).order_by("pk")
        if episodes:
            queryset = queryset.filter(slug__in=episodes)
            missing = sorted(set(episodes) - set(queryset.values_list("slug", flat=True)))
            if missing:
                raise CommandError(f"No such episode(s) in “{podcast}”: {', '.join(missing)}.")
        # Each run is queued after its commit, where a broker error is only logged.
        require_broker()
        started = skipped = 0
        # The raw stream: tqdm redraws its line with "\r", which OutputWrapper would break.
        bar_stream = getattr(self.stderr, "_out", sys.stderr)
        for episode in tqdm(list(queryset), desc="retranscode", unit="episode", file=bar_stream):
            if pipeline.retranscode(episode):
                started += 1
            else:
                skipped += 1
                self.stderr.write(f"  skipped {episode.slug}: {episode.status}")
        self.stdout.write(f"Started {started} episode(s); skipped {skipped} (not ready or failed).")
