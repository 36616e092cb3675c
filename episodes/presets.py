"""Rendition presets: data, defined once, used by every transcoder backend and the feed.

Loudness targets are settings (``LOUDNESS_TARGET_LUFS``, ``TRUE_PEAK_DBTP``), read at call time.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    name: str
    extension: str
    mime_type: str
    codec: str  # ffmpeg's codec name of the output stream
    container: str  # ffmpeg's muxer name
    bitrate: int  # bits per second
    sample_rate: int | None  # None: keep the source's rate (within the codec's rates)
    primary: bool = False

    def key_for(self, podcast_slug: str, episode_guid: str, attempt: int = 1) -> str:
        """Storage key of this rendition in the ``media`` storage.

        A later processing run (``attempt`` > 1) writes under a new name, so a
        published URL never changes content: clients resume downloads with byte
        ranges, and Apple's player loops on 416 when a file changes under its URL
        (feed-standards.md §7).
        """
        version = f"-{attempt}" if attempt > 1 else ""
        return f"{podcast_slug}/{episode_guid}/{self.name}{version}.{self.extension}"


PRESETS: tuple[Preset, ...] = (
    # The primary enclosure: MP3 is what every podcast app plays.
    Preset("mp3", "mp3", "audio/mpeg", "mp3", "mp3", 192_000, 44_100, primary=True),
    # Apple lists audio/x-m4a for .m4a enclosures:
    # https://podcasters.apple.com/support/823-podcast-requirements
    Preset("aac", "m4a", "audio/x-m4a", "aac", "ipod", 160_000, 44_100),
    # Opus always runs at 48 kHz inside Ogg (RFC 7845).
    Preset("opus", "ogg", "audio/ogg", "opus", "ogg", 64_000, 48_000),
)


def primary_preset() -> Preset:
    return next(p for p in PRESETS if p.primary)


def get_preset(name: str) -> Preset:
    """The preset called ``name``; ``KeyError`` if there is none."""
    for preset in PRESETS:
        if preset.name == name:
            return preset
    raise KeyError(name)
