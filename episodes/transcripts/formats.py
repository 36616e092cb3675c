"""Every transcript format we read and serve, and the one entry point that reads a file.

A transcript is stored once, as cues; each format here writes it. Timed
formats (WebVTT, SRT, JSON) need timed cues; plain text is derived from any.
The order of :data:`FORMATS` is the order of the feed's ``<podcast:transcript>``
tags: WebVTT first, which Apple Podcasts ingests
(https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/examples/transcripts/transcripts.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from django.conf import settings

from episodes.transcripts.cues import Cue
from episodes.transcripts.errors import TranscriptError
from episodes.transcripts.json_format import parse_json, write_json
from episodes.transcripts.plain import parse_text, write_text
from episodes.transcripts.srt import parse_srt, write_srt
from episodes.transcripts.text import decode, one_paragraph
from episodes.transcripts.timecodes import TIMING
from episodes.transcripts.vtt import parse_vtt, write_vtt


@dataclass(frozen=True)
class TranscriptFormat:
    """One file format: how it is named, typed, read and written."""

    name: str
    label: str
    extension: str
    #: The type in ``<podcast:transcript type>`` (the namespace's list).
    mime_type: str
    #: Needs timed cues; also what ``rel="captions"`` says in the feed.
    timed: bool
    parse: Callable[[str], list[Cue]]
    write: Callable[[Sequence[Cue]], str]

    @property
    def content_type(self) -> str:
        """The HTTP ``Content-Type`` we serve it with (JSON is UTF-8 by definition)."""
        if self.mime_type == "application/json":
            return self.mime_type
        return f"{self.mime_type}; charset=utf-8"


FORMATS: tuple[TranscriptFormat, ...] = (
    TranscriptFormat("vtt", "WebVTT", "vtt", "text/vtt", True, parse_vtt, write_vtt),
    TranscriptFormat("srt", "SubRip", "srt", "application/x-subrip", True, parse_srt, write_srt),
    TranscriptFormat(
        "json", "Podcasting 2.0 JSON", "json", "application/json", True, parse_json, write_json
    ),
    TranscriptFormat("txt", "plain text", "txt", "text/plain", False, parse_text, write_text),
)
BY_EXTENSION = {f.extension: f for f in FORMATS}
ACCEPTED_EXTENSIONS = (".srt", ".vtt", ".json", ".txt")


def served_formats(timed: bool) -> list[TranscriptFormat]:
    """The formats a transcript can be served in: all when timed, plain text otherwise."""
    return [f for f in FORMATS if timed or not f.timed]


@dataclass(frozen=True)
class ParsedTranscript:
    """What a file held: its cues, whether they are timed, and the format it was in."""

    cues: list[Cue]
    format: TranscriptFormat

    @property
    def timed(self) -> bool:
        return self.format.timed


def detect_format(filename: str, text: str) -> TranscriptFormat:
    """The format of a file: by its extension, else by its content (WebVTT, JSON, SRT, text)."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext in ("srt", "vtt", "json"):
        return BY_EXTENSION[ext]
    head = text.lstrip()
    if head.startswith("WEBVTT"):
        return BY_EXTENSION["vtt"]
    if head.startswith("{"):
        return BY_EXTENSION["json"]
    first = head.split("\n", 2)
    if len(first) >= 2 and first[0].strip().isdigit() and TIMING.match(first[1]):
        return BY_EXTENSION["srt"]
    if ext in ("", "txt", "text"):
        return BY_EXTENSION["txt"]
    raise TranscriptError(
        f"“.{ext}” files are not transcripts we read; upload SubRip (.srt), WebVTT (.vtt), "
        "Podcasting 2.0 JSON (.json) or plain text (.txt)."
    )


def max_bytes() -> int:
    """``TRANSCRIPT_MAX_BYTES``, read at call time."""
    return settings.TRANSCRIPT_MAX_BYTES


def too_large(size: int) -> TranscriptError:
    limit = max_bytes()
    return TranscriptError(
        f"the file has {size:,} bytes; transcripts may have at most {limit:,} bytes "
        f"({limit / 1024**2:.0f} MiB)."
    )


def read_limited(stream: BinaryIO, *, size: int | None = None) -> bytes:
    """The bytes of ``stream``, refusing more than ``TRANSCRIPT_MAX_BYTES`` without reading them.

    ``size`` (when the caller knows it: an upload, a file on disk) is checked
    first; a stream of unknown size is read at most one byte past the limit.
    """
    limit = max_bytes()
    if size is not None and size > limit:
        raise too_large(size)
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise too_large(size or len(data))
    return data


def parse_transcript(data: bytes, filename: str = "") -> ParsedTranscript:
    """Read a transcript file's bytes; :class:`TranscriptError` (with the line) if unusable.

    The cues come out sorted by start time (a stable sort: overlapping cues
    keep their order), as WebVTT requires of the files we write.
    """
    if len(data) > max_bytes():
        raise too_large(len(data))
    text = decode(data)
    if not text.strip():
        raise TranscriptError("the file is empty.")
    fmt = detect_format(filename, text)
    cues = fmt.parse(text)
    if not cues:
        raise TranscriptError(f"no cue with text found in this {fmt.label} file.")
    if fmt.timed:
        cues.sort(key=lambda cue: cue.start)
    return ParsedTranscript(cues=cues, format=fmt)


def write(cues: Sequence[Cue], fmt: TranscriptFormat) -> bytes:
    """``cues`` as a ``fmt`` file (UTF-8); :class:`TranscriptError` if ``fmt`` needs times."""
    if fmt.timed and not all(cue.timed for cue in cues):
        raise TranscriptError(f"an untimed transcript cannot be written as {fmt.label}.")
    # No blank line inside a cue: in SRT and WebVTT it would end the cue.
    clean = [
        Cue(cue.start, cue.end, text, " ".join(cue.speaker.split()))
        for cue in cues
        if (text := one_paragraph(cue.text.split("\n")))
    ]
    return fmt.write(clean).encode()
