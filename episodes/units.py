"""Numbers as creators read them: durations as H:MM:SS, sizes in MB, "1 episode"."""

from __future__ import annotations

from django.utils.translation import ngettext

EMPTY = "-"  # what the admin shows for a missing value (its empty_value_display)


def format_duration(seconds: float | None) -> str:
    """``194.841`` → ``"0:03:15"`` (rounded to the second); ``None`` → ``"-"``."""
    if seconds is None:
        return EMPTY
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def format_size(size_bytes: int | None) -> str:
    """``3118495`` → ``"3.1 MB"`` (decimal units, as storage consoles show them)."""
    if size_bytes is None:
        return EMPTY
    if size_bytes < 1000:
        return f"{size_bytes} bytes"
    if size_bytes < 1000 * 1000:
        return f"{size_bytes / 1000:.0f} KB"
    return f"{size_bytes / 1000 / 1000:,.1f} MB"


def format_bitrate(bits_per_second: int | None) -> str:
    """``192000`` → ``"192 kb/s"``."""
    return EMPTY if bits_per_second is None else f"{bits_per_second / 1000:.0f} kb/s"


def format_sample_rate(hertz: int | None) -> str:
    """``44100`` → ``"44.1 kHz"``."""
    return EMPTY if not hertz else f"{hertz / 1000:g} kHz"


def episode_count(n: int) -> str:
    """``"1 episode"``, ``"3 episodes"``."""
    return ngettext("%(n)d episode", "%(n)d episodes", n) % {"n": n}
