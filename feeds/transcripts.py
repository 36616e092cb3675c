"""Transcripts as listeners' apps get them: public files, the feed's tags, the player's cues.

Each published transcript of a published episode is served in every format
derivable from it at ``/<show>/<episode>/transcript.<language>.<ext>``
(:func:`file_name`; served by :mod:`feeds.transcript_files`), and listed in
the item as one ``<podcast:transcript>`` per file
(https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/tags/transcript.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Prefetch
from django.utils.xmlutils import SimplerXMLGenerator

from episodes.models import Episode, Transcript
from episodes.transcripts.formats import BY_EXTENSION, TranscriptFormat, served_formats, write

#: Where each transcript file lives under its episode's page (``feeds/urls.py``).
URL_PATTERN = (
    r"^(?P<slug>[-a-zA-Z0-9_]+)/(?P<episode_slug>[-a-zA-Z0-9_]+)/"
    r"transcript\.(?P<language>[A-Za-z0-9-]{2,35})\.(?P<ext>vtt|srt|json|txt)$"
)


def file_name(language: str, fmt: TranscriptFormat) -> str:
    """``transcript.en.vtt``: the file's name under its episode's page."""
    return f"transcript.{language}.{fmt.extension}"


def published_prefetch() -> Prefetch:
    """Each episode's published transcripts, language order, without the cues (the feed's needs)."""
    return Prefetch(
        "transcripts",
        queryset=Transcript.objects.published()
        .only("pk", "episode_id", "language", "timed", "status")
        .order_by("language"),
    )


@dataclass(frozen=True)
class TranscriptLink:
    """One ``<podcast:transcript>``: a served file of one language."""

    url: str
    mime_type: str
    language: str
    captions: bool

    def attributes(self) -> dict[str, str]:
        attrs = {"url": self.url, "type": self.mime_type, "language": self.language}
        if self.captions:
            # Timed files: "time codes are assumed to be present" (the tag's doc).
            attrs["rel"] = "captions"
        return attrs


def links(episode_url: str, transcripts: Iterable[Transcript]) -> list[TranscriptLink]:
    """The ``<podcast:transcript>`` of an item whose page is ``episode_url`` (ending in ``/``).

    ``transcripts`` are the episode's (prefetched with :func:`published_prefetch`);
    only published ones are listed, whatever was passed.
    """
    out = []
    for transcript in transcripts:
        if transcript.status != Transcript.Status.PUBLISHED:
            continue
        for fmt in served_formats(transcript.timed):
            out.append(
                TranscriptLink(
                    url=f"{episode_url}{file_name(transcript.language, fmt)}",
                    mime_type=fmt.mime_type,
                    language=transcript.language,
                    captions=fmt.timed,
                )
            )
    return out


def write_tags(handler: SimplerXMLGenerator, transcript_links: Iterable[TranscriptLink]) -> None:
    """Write the item's ``<podcast:transcript>`` elements."""
    for link in transcript_links:
        handler.addQuickElement("podcast:transcript", None, link.attributes())


def published_file(episode: Episode, language: str, ext: str) -> tuple[bytes, str] | None:
    """(bytes, content type) of one served transcript file; ``None`` if there is no such file.

    ``episode`` must already be known to be published (``feeds.site.public_episode``).
    """
    fmt = BY_EXTENSION.get(ext)
    transcript = episode.transcripts.published().filter(language=language).first()
    if fmt is None or transcript is None or fmt not in served_formats(transcript.timed):
        return None
    return write(transcript.cue_list(), fmt), fmt.content_type


def player_transcript(episode: Episode) -> Transcript | None:
    """The timed published transcript the episode page shows: the show's language first."""
    timed = list(episode.transcripts.published().filter(timed=True).only("pk", "language", "cues"))
    if not timed:
        return None
    language = episode.podcast.language.lower()

    def rank(t: Transcript) -> tuple:
        tag = t.language.lower()
        return (tag != language, tag.split("-")[0] != language.split("-")[0], tag)

    return min(timed, key=rank)
