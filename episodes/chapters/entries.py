"""One chapter as the formats, the rules and the file tags see it, before it is a database row."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

#: Most chapters one episode may have: a long show has a few dozen.
MAX_CHAPTERS = 500
#: Longest chapter title kept (ID3 and the admin show far less).
MAX_TITLE_CHARS = 255
MAX_URL_CHARS = 2000
#: Latest start accepted: no episode is longer (the probe refuses sources over 12 hours).
MAX_START_SECONDS = 100 * 3600

_TIMESTAMP = re.compile(r"^(?:(?:(\d+):)?([0-5]?\d):)?(\d+(?:\.\d+)?)$")


@dataclass(frozen=True, slots=True)
class ChapterEntry:
    """A chapter: where it starts (seconds), its title, optional links, and whether it is listed.

    ``toc=False`` is the Podcasting 2.0 "silent" chapter: kept for its
    artwork or link, not shown in the table of contents.
    """

    start_seconds: float
    title: str
    url: str = ""
    image_url: str = ""
    toc: bool = True


def parse_timestamp(value: str) -> float:
    """``"1:02:03.5"``, ``"2:03"`` or ``"123.5"`` as seconds; ``ValueError`` otherwise."""
    match = _TIMESTAMP.match(value.strip())
    if not match:
        raise ValueError(f"“{value}” is not a time such as 1:02:03, 12:30 or 95.5.")
    hours, minutes, seconds = match.groups()
    if minutes is not None and hours is None and float(seconds) >= 60:
        raise ValueError(f"“{value}”: seconds must be below 60 in minutes:seconds.")
    if hours is not None and float(seconds) >= 60:
        raise ValueError(f"“{value}”: seconds must be below 60 in hours:minutes:seconds.")
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds)


def format_timestamp(seconds: float) -> str:
    """``3723.5`` → ``"1:02:03.5"``, ``75`` → ``"1:15"`` (:func:`parse_timestamp` reads it)."""
    whole_ms = round(seconds * 1000)
    hours, rest = divmod(whole_ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    text = f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
    return f"{text}.{ms:03d}".rstrip("0") if ms else text


def is_web_url(value: str) -> bool:
    """An absolute http(s) URL with a host: what chapter links and artwork may be."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and " " not in value


def problems_of(
    chapters: Iterable[ChapterEntry], *, duration_seconds: float | None, where: str = "Chapter"
) -> list[str]:
    """Every rule ``chapters`` (in the order given) break; ``[]`` when none.

    Rules: at most :data:`MAX_CHAPTERS`; starts from 0 to :data:`MAX_START_SECONDS`,
    increasing and unique;
    each start before the end of the audio when ``duration_seconds`` is known;
    a title; http(s) links only. Each message names the chapter (1-based, as
    ``where`` N) and its start.
    """
    chapters = list(chapters)
    problems: list[str] = []
    if len(chapters) > MAX_CHAPTERS:
        problems.append(f"{len(chapters)} chapters: at most {MAX_CHAPTERS} are allowed.")
        return problems
    previous: float | None = None
    for n, chapter in enumerate(chapters, 1):
        start = chapter.start_seconds
        in_range = 0 <= start <= MAX_START_SECONDS
        # The time is part of each message, once it is one a clock can show.
        at = f"{where} {n} ({format_timestamp(start)})" if in_range else f"{where} {n}"
        if start < 0:
            problems.append(f"{at}: the start time is negative.")
        elif not in_range:
            problems.append(f"{at}: starts more than {MAX_START_SECONDS // 3600} hours in.")
        elif previous is not None and start == previous:
            problems.append(f"{at}: starts at the same time as the chapter before it.")
        elif previous is not None and start < previous:
            problems.append(
                f"{at}: starts before the chapter before it; chapters must be in time order."
            )
        if in_range and duration_seconds is not None and start >= duration_seconds:
            problems.append(
                f"{at}: starts after the end of the audio ({format_timestamp(duration_seconds)})."
            )
        if not chapter.title.strip():
            problems.append(f"{at}: the title is empty.")
        elif len(chapter.title) > MAX_TITLE_CHARS:
            problems.append(f"{at}: the title is longer than {MAX_TITLE_CHARS} characters.")
        for label, value in (("link", chapter.url), ("image", chapter.image_url)):
            if value and (len(value) > MAX_URL_CHARS or not is_web_url(value)):
                problems.append(f"{at}: the {label} is not an http(s) URL.")
        previous = chapter.start_seconds
    return problems


def within(chapters: Iterable[ChapterEntry], duration_seconds: float | None) -> list[ChapterEntry]:
    """The chapters that start before ``duration_seconds`` (all when it is unknown)."""
    if duration_seconds is None:
        return list(chapters)
    return [c for c in chapters if c.start_seconds < duration_seconds]
