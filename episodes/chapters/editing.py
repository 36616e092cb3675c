"""Changing an episode's chapters from a file, as the admin and ``attach_chapters`` do.

One domain call for both: read the JSON chapters file, check every rule
against the episode's audio, and store the chapters, or refuse with each
problem named (JSON path, or chapter number and time) and change nothing.
"""

from __future__ import annotations

from episodes.chapters.entries import ChapterEntry, format_timestamp, problems_of
from episodes.chapters.json_format import ChaptersFormatError, parse_chapters_json
from episodes.models import Chapter, Episode
from episodes.presets import primary_preset


class ChaptersRejected(ValueError):
    """Chapters that break a rule; ``problems`` names each, one sentence each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(" ".join(problems))
        self.problems = problems


def audio_duration(episode: Episode) -> float | None:
    """Seconds of the enclosure (the MP3), else of the probed source; ``None``: no audio."""
    if episode.pk is None:
        return None  # an episode being created has no audio yet
    primary = episode.renditions.filter(preset=primary_preset().name).first()
    if primary is not None and primary.duration_seconds:
        return primary.duration_seconds
    return episode.duration_seconds


def check_entries(episode: Episode, entries: list[ChapterEntry]) -> list[ChapterEntry]:
    """``entries`` sorted by start, or :class:`ChaptersRejected` with every rule they break.

    A file out of order is sorted for the creator rather than refused; two
    chapters at the same time, a start past the audio, an empty title or a
    link that is not http(s) are refused.
    """
    ordered = sorted(entries, key=lambda e: e.start_seconds)
    problems = problems_of(ordered, duration_seconds=audio_duration(episode))
    if problems:
        raise ChaptersRejected(problems)
    return ordered


def read_chapters_file(episode: Episode, data: bytes) -> list[ChapterEntry]:
    """The checked chapters of a JSON chapters file; raises :class:`ChaptersRejected`."""
    try:
        entries = parse_chapters_json(data)
    except ChaptersFormatError as exc:
        raise ChaptersRejected(exc.problems) from None
    return check_entries(episode, entries)


def attach_chapters(episode: Episode, data: bytes) -> list[Chapter]:
    """Replace ``episode``'s chapters with those of a JSON chapters file.

    Nothing changes when the file is refused (:class:`ChaptersRejected`). On
    success the feed and the site show the new chapters and the renditions are
    re-tagged once the transaction commits.
    """
    return Chapter.objects.replace_for(episode, read_chapters_file(episode, data))


def late_chapters_warning(episode: Episode) -> str:
    """What to tell the creator when chapters start after the end of the audio; else ``""``."""
    duration = audio_duration(episode)
    if duration is None:
        return ""
    late = list(Chapter.objects.of(episode.pk).filter(start_seconds__gte=duration))
    if not late:
        return ""
    names = ", ".join(f"“{c.title}” ({format_timestamp(c.start_seconds)})" for c in late)
    return (
        f"The audio is {format_timestamp(duration)} long, but {len(late)} chapter(s) start "
        f"after its end: {names}. They are left out of the feed's chapters and the files; "
        "move them earlier or delete them."
    )
