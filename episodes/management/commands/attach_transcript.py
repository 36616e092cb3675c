"""``manage.py attach_transcript SLUG EPISODE-SLUG FILE [--language L]``."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from episodes.models import Episode
from episodes.transcripts.errors import TranscriptError
from episodes.transcripts.formats import served_formats
from episodes.transcripts.uploads import attach_file
from feeds.site import absolute_url
from feeds.transcripts import file_name


class Command(BaseCommand):
    help = (
        "Attach a transcript file (SubRip .srt, WebVTT .vtt, Podcasting 2.0 JSON .json or "
        "plain text .txt) to an episode, published at once in the show's language or "
        "--language; it replaces that language's transcript. Bad files are refused with "
        "the line and what is wrong."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("podcast", help="The show's slug.")
        parser.add_argument("episode", help="The episode's slug.")
        parser.add_argument("file", type=Path, help="The transcript file.")
        parser.add_argument(
            "--language", default="", help="Language tag, e.g. en or pt-BR (default: the show's)."
        )

    def handle(self, *args, podcast: str, episode: str, file: Path, language: str, **options):
        found = Episode.objects.select_related("podcast").filter(
            podcast__slug=podcast, slug=episode
        )
        target = found.first()
        if target is None:
            raise CommandError(f"No episode “{episode}” in a show “{podcast}”.")
        try:
            with file.open("rb") as stream:
                transcript = attach_file(
                    target,
                    stream,
                    filename=file.name,
                    size=file.stat().st_size,
                    language=language,
                )
        except OSError as exc:
            raise CommandError(f"{file}: {exc.strerror or exc}.") from None
        except TranscriptError as exc:
            raise CommandError(f"{file}: {exc}") from None
        page = absolute_url(target.get_absolute_url())
        self.stdout.write(
            f"Attached {len(transcript.cues)} cue(s) in “{transcript.language}” to "
            f"{podcast}/{episode}; served (once the episode is published) at:"
        )
        for fmt in served_formats(transcript.timed):
            self.stdout.write(f"  {page}{file_name(transcript.language, fmt)}")
