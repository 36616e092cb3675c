"""Transcripts as listeners' apps get them: public files, the feed's tags, the player's cues.

Each published transcript of a published episode is served in every format
derivable from it at ``/<show>/<episode>/transcript.<language>.<ext>``
(:func:`file_name`; served by :mod:`feeds.transcript_files`), and listed in
the item as one ``<podcast:transcript>`` per file
(https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/tags/transcript.md).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Prefetch
from django.utils.xmlutils import SimplerXMLGenerator

from episodes.models import Episode, Transcript
from episodes.transcripts.cues import cues_from_json
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


@dataclass(frozen=True)
class TranscriptFile:
    """One served file: its bytes, ``Content-Type`` and strong ETag."""

    body: bytes
    content_type: str
    etag: str


class FileCache:
    """Written transcript files by (transcript, ``updated_at``, format), least recently used out.

    Writing an hour of speech takes milliseconds, the largest transcript
    about a second; a hot file is written once per change and process.
    Every write of a transcript moves its ``updated_at``, so a key never
    names stale bytes. Bounded by ``max_bytes``; safe to share between threads.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._files: OrderedDict[tuple, TranscriptFile] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple) -> TranscriptFile | None:
        with self._lock:
            found = self._files.get(key)
            if found is not None:
                self._files.move_to_end(key)
            return found

    def put(self, key: tuple, file: TranscriptFile) -> None:
        with self._lock:
            if key in self._files or len(file.body) > self.max_bytes:
                return
            self._files[key] = file
            self._bytes += len(file.body)
            while self._bytes > self.max_bytes:
                _key, dropped = self._files.popitem(last=False)
                self._bytes -= len(dropped.body)

    def clear(self) -> None:
        with self._lock:
            self._files.clear()
            self._bytes = 0


#: This process's written transcript files.
FILE_CACHE = FileCache(32 * 1024**2)


def published_file(episode: Episode, language: str, ext: str) -> TranscriptFile | None:
    """One served transcript file; ``None`` if there is no such file.

    ``episode`` must already be known to be published (``feeds.site.public_episode``).
    One small query when the file is cached; the cues are loaded only to write it.
    """
    fmt = BY_EXTENSION.get(ext)
    row = (
        episode.transcripts.published()
        .filter(language=language)
        .values_list("pk", "updated_at", "timed")
        .first()
    )
    if fmt is None or row is None or fmt not in served_formats(row[2]):
        return None
    key = (*row, fmt.name)
    found = FILE_CACHE.get(key)
    if found is None:
        cues = Transcript.objects.filter(pk=row[0]).values_list("cues", flat=True).first()
        body = write(cues_from_json(cues or []), fmt)
        found = TranscriptFile(body, fmt.content_type, f'"{hashlib.sha256(body).hexdigest()[:32]}"')
        FILE_CACHE.put(key, found)
    return found


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
