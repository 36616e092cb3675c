"""manage.py ingest <podcast-slug> FILE...: add local audio files as new episodes."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from episodes.ingest import IngestError, ingest_local_file
from episodes.models import Podcast
from episodes.uploads import UploadError, max_upload_bytes
from podcasthost.broker import require_broker


class Command(BaseCommand):
    help = (
        "Copy local audio files into the uploads storage as new episodes of a show "
        "(title from the file's tags, else its name) and queue them for processing. A file "
        "that cannot be ingested is reported with its reason and the others still are; "
        "the exit status is non-zero if any was not."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("podcast_slug", help="Slug of the show the episodes belong to.")
        parser.add_argument("files", nargs="+", type=Path, help="Audio files to ingest.")

    def handle(self, *args, podcast_slug: str, files: list[Path], **options) -> None:
        podcast = Podcast.objects.filter(slug=podcast_slug).first()
        if podcast is None:
            raise CommandError(f"No podcast with slug {podcast_slug!r}.")
        # Queued after each commit, where a broker error is only logged: check first.
        require_broker()
        refused, accepted = [], []
        for path in files:
            if not path.is_file():
                refused.append(f"{path}: no such file")
            elif not 0 < path.stat().st_size <= max_upload_bytes():
                refused.append(
                    f"{path}: {path.stat().st_size:,} bytes; "
                    f"accepted: 1 to {max_upload_bytes():,} bytes"
                )
            else:
                accepted.append(path)
        for line in refused:
            self.stderr.write(f"refused {line}")

        total = sum(path.stat().st_size for path in accepted)
        failed = list(refused)
        # The raw streams under Django's OutputWrapper (which would add a
        # newline to every redraw of the bar).
        err = getattr(self.stderr, "_out", sys.stderr)
        out = getattr(self.stdout, "_out", sys.stdout)
        with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, file=err) as bar:
            for path in accepted:
                bar.set_description(path.name[:30])
                try:
                    episode = ingest_local_file(podcast, path, on_progress=bar.update)
                except (IngestError, UploadError, OSError) as exc:
                    failed.append(f"{path}: {exc}")
                    continue
                bar.write(
                    f"{path} → episode {episode.pk} “{episode.title}” ({episode.status})", file=out
                )
        if failed:
            raise CommandError(
                f"{len(failed)} of {len(files)} file(s) not ingested:\n  " + "\n  ".join(failed)
            )
