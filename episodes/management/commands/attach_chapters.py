"""``manage.py attach_chapters SLUG EPISODE-SLUG FILE``: chapters from a JSON file."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from episodes.chapters.editing import ChaptersRejected, attach_chapters
from episodes.chapters.json_format import MAX_FILE_BYTES
from episodes.models import Episode


class Command(BaseCommand):
    help = (
        "Replace an episode's chapters with those of a Podcasting 2.0 JSON chapters file, "
        "checked as the admin checks an upload. The feed, the episode's chapters.json and "
        "the MP3/M4A files follow. Nothing changes if the file is refused."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("podcast", help="The show's slug.")
        parser.add_argument("episode", help="The episode's slug.")
        parser.add_argument("file", help="A JSON chapters file (version 1.2).")

    def handle(self, *args, podcast: str, episode: str, file: str, **options) -> None:
        target = (
            Episode.objects.select_related("podcast")
            .filter(podcast__slug=podcast, slug=episode)
            .first()
        )
        if target is None:
            raise CommandError(f"No episode “{episode}” in a show with the slug “{podcast}”.")
        path = Path(file)
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                raise CommandError(
                    f"{file}: {size:,} bytes; a chapters file may have at most {MAX_FILE_BYTES:,}."
                )
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"{file}: cannot be read ({exc.strerror or exc}).") from None
        try:
            chapters = attach_chapters(target, data)
        except ChaptersRejected as exc:
            for problem in exc.problems:
                self.stderr.write(f"  {problem}")
            raise CommandError(
                f"{file}: refused, {len(exc.problems)} problem(s); the chapters are unchanged."
            ) from None
        self.stdout.write(
            f"Attached {len(chapters)} chapter(s) to {target.podcast.slug}/{target.slug}."
        )
