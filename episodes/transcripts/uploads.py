"""Attaching a transcript file to an episode, as the admin and ``attach_transcript`` do."""

from __future__ import annotations

from typing import TYPE_CHECKING, BinaryIO

from django.core.exceptions import ValidationError

from episodes.transcripts.errors import TranscriptError
from episodes.transcripts.formats import ParsedTranscript, parse_transcript, read_limited

if TYPE_CHECKING:
    from episodes.models import Episode, Transcript


def read_file(stream: BinaryIO, *, filename: str, size: int | None = None) -> ParsedTranscript:
    """Read and validate one transcript file (at most ``TRANSCRIPT_MAX_BYTES``).

    Raises :class:`TranscriptError` saying what is wrong and on which line.
    """
    return parse_transcript(read_limited(stream, size=size), filename)


def attach_file(
    episode: Episode,
    stream: BinaryIO,
    *,
    filename: str,
    size: int | None = None,
    language: str = "",
) -> Transcript:
    """Validate a file and store it as ``episode``'s published transcript in ``language``.

    ``language`` defaults to the show's. Replaces that language's transcript,
    if any. Raises :class:`TranscriptError` (nothing stored) when the file or
    the language is unusable.
    """
    from episodes.models import Transcript, language_validator

    language = language or episode.podcast.language
    try:
        language_validator(language)
    except ValidationError:
        raise TranscriptError(
            f"“{language}” is not a language tag; use one such as “en”, “en-US” or “pt-BR”."
        ) from None
    parsed = read_file(stream, filename=filename, size=size)
    return Transcript.objects.attach(
        episode,
        language=language,
        cues=parsed.cues,
        timed=parsed.timed,
        source_filename=filename,
    )
