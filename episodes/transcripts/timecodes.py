"""Cue times as SRT (``01:02:03,456``) and WebVTT (``01:02:03.456`` or ``02:03.456``) write them."""

from __future__ import annotations

import re

from episodes.transcripts.errors import TranscriptError

# Hours optional (WebVTT allows mm:ss.ttt); "," or "." before the fraction, as
# real files mix them; 1-3 fraction digits are read as a decimal fraction.
_TIME = re.compile(r"(?:(\d{1,3}):)?(\d{1,2}):(\d{1,2})(?:[.,](\d{1,3}))?")
TIMING = re.compile(rf"^\s*({_TIME.pattern})\s*-->\s*({_TIME.pattern})(?:\s+(.*))?$")


def parse_time(text: str, *, line: int) -> float:
    """``"00:01:02,500"`` → ``62.5``; :class:`TranscriptError` naming ``line`` if malformed."""
    match = _TIME.fullmatch(text.strip())
    if match is None:
        raise TranscriptError(f"“{text}” is not a time such as 00:01:02.500.", line=line)
    hours, minutes, seconds, fraction = match.groups()
    if int(minutes) > 59 or int(seconds) > 59:
        raise TranscriptError(
            f"“{text}”: minutes and seconds must be below 60.",
            line=line,
        )
    value = int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)
    return value + (int(fraction.ljust(3, "0")) / 1000 if fraction else 0.0)


def parse_timing(text: str, *, line: int) -> tuple[float, float] | None:
    """``(start, end)`` of a ``start --> end [settings]`` line; ``None`` if it is not one.

    Raises :class:`TranscriptError` when the line is a timing line with bad
    times, or one that ends before it starts.
    """
    match = TIMING.match(text)
    if match is None:
        return None
    start = parse_time(match.group(1), line=line)
    end = parse_time(match.group(6), line=line)
    if end < start:
        raise TranscriptError(
            f"the cue ends ({match.group(6)}) before it starts ({match.group(1)}).", line=line
        )
    return start, end


def _parts(seconds: float) -> tuple[int, int, int, int]:
    millis = round(max(0.0, seconds) * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return hours, minutes, secs, millis


def srt_time(seconds: float) -> str:
    """``62.5`` → ``"00:01:02,500"``."""
    h, m, s, ms = _parts(seconds)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def vtt_time(seconds: float) -> str:
    """``62.5`` → ``"00:01:02.500"`` (hours always written: every player reads them)."""
    h, m, s, ms = _parts(seconds)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"
