"""What the episode page shows live: status, progress, source audio and renditions.

One dictionary serves the status JSON the page polls (episodes/views.py), the
server-rendered first paint of the page and the admin's read-only fields, so
the values a creator sees never differ between a reload and a poll.
"""

from __future__ import annotations

from typing import Any

from episodes.models import Episode
from episodes.units import (
    EMPTY,
    format_bitrate,
    format_duration,
    format_sample_rate,
    format_size,
)

#: The admin's read-only "Source audio" fields, in order; the keys of ``source_display``.
SOURCE_FIELDS = (
    "source_file",
    "source_size",
    "source_duration",
    "source_format",
    "source_sample_rate",
    "source_channels",
    "source_loudness",
)


def source_display(episode: Episode) -> dict[str, str]:
    """The probed source audio as display strings, keyed by :data:`SOURCE_FIELDS`."""
    fmt = " / ".join(v for v in (episode.container, episode.codec) if v)
    loudness = episode.loudness_lufs
    return {
        "source_file": episode.source_filename or EMPTY,
        "source_size": format_size(episode.source_bytes),
        "source_duration": format_duration(episode.duration_seconds),
        "source_format": fmt or EMPTY,
        "source_sample_rate": format_sample_rate(episode.sample_rate),
        "source_channels": str(episode.channels) if episode.channels else EMPTY,
        "source_loudness": EMPTY if loudness is None else f"{loudness:.1f} LUFS",
    }


def renditions_display(episode: Episode) -> list[dict[str, str]]:
    """One row per produced file, in preset order; one query."""
    return [
        {
            "preset": r.preset,
            "mime_type": r.mime_type,
            "size": format_size(r.size_bytes),
            "bitrate": format_bitrate(r.bitrate),
            "duration": format_duration(r.duration_seconds),
            "url": r.url,
            "key": r.key,
        }
        for r in episode.renditions.order_by("preset")
    ]


def episode_status(episode: Episode) -> dict[str, Any]:
    """The JSON the episode page polls; raw fields kept for API callers."""
    return {
        "id": episode.pk,
        "status": episode.status,
        "status_display": episode.get_status_display(),
        "progress_percent": episode.progress_percent,
        "error_message": episode.error_message,
        "source_filename": episode.source_filename,
        "source_bytes": episode.source_bytes,
        "duration_seconds": episode.duration_seconds,
        "attempt": episode.attempt,
        "updated_at": episode.updated_at.isoformat(),
        "source": source_display(episode),
        "renditions": renditions_display(episode),
    }
