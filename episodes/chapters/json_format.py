"""Podcasting 2.0 JSON chapters: read an uploaded file, write the one we serve.

Format (version 1.2): https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/examples/chapters/jsonChapters.md
— ``{"version": "1.2.0", "chapters": [{"startTime": 0, "title": "Intro",
"img": …, "url": …, "toc": false, "endTime": …, "location": {…}}]}``.
Served as ``application/json+chapters`` (the same document says so).

Reading keeps ``startTime``, ``title``, ``url``, ``img`` and ``toc``;
``endTime`` (each chapter ends where the next starts, the last with the
audio) and ``location`` are checked for shape and not stored.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

from episodes.chapters.entries import ChapterEntry

CONTENT_TYPE = "application/json+chapters"
VERSION = "1.2.0"
#: Largest chapters file read: a few hundred chapters fit in a tenth of this.
MAX_FILE_BYTES = 1024 * 1024


class ChaptersFormatError(ValueError):
    """A chapters file that cannot be read; ``problems`` says what and where, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(" ".join(problems))
        self.problems = problems


def _number(value: Any) -> float | None:
    # bool is an int in Python; JSON true is not a time.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def parse_chapters_json(data: bytes) -> list[ChapterEntry]:
    """The chapters of a JSON chapters file, in file order.

    Raises :class:`ChaptersFormatError` naming every problem by its JSON path
    (``chapters[2].startTime``): not UTF-8, not JSON, over
    :data:`MAX_FILE_BYTES`, no ``chapters`` array, a chapter without a numeric
    ``startTime``, a non-string ``title``/``url``/``img``, a non-boolean ``toc``.
    The rules of the chapters themselves (order, duration, titles, URLs) are
    :func:`episodes.chapters.entries.problems_of`'s.
    """
    if len(data) > MAX_FILE_BYTES:
        raise ChaptersFormatError(
            [
                f"The file has {len(data):,} bytes; a chapters file may have at most "
                f"{MAX_FILE_BYTES:,}."
            ]
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ChaptersFormatError([f"The file is not UTF-8 text (byte {exc.start})."]) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ChaptersFormatError(
            [f"Not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."]
        ) from None
    if not isinstance(document, dict):
        raise ChaptersFormatError(['Not a chapters file: expected an object with "chapters".'])
    problems: list[str] = []
    version = document.get("version")
    if version is not None and not isinstance(version, str):
        problems.append("version: must be a string such as “1.2.0”.")
    raw = document.get("chapters")
    if not isinstance(raw, list):
        raise ChaptersFormatError([*problems, "chapters: missing, or not an array of chapters."])
    entries: list[ChapterEntry] = []
    for i, item in enumerate(raw):
        path = f"chapters[{i}]"
        if not isinstance(item, dict):
            problems.append(f"{path}: not an object.")
            continue
        start = _number(item.get("startTime"))
        if start is None:
            problems.append(f"{path}.startTime: missing, or not a number of seconds.")
        fields: dict[str, str] = {}
        for key, name in (("title", "title"), ("url", "url"), ("img", "image_url")):
            value = item.get(key, "")
            if value is None:
                value = ""
            if not isinstance(value, str):
                problems.append(f"{path}.{key}: must be a string.")
                value = ""
            fields[name] = value.strip()
        toc = item.get("toc", True)
        if not isinstance(toc, bool):
            problems.append(f"{path}.toc: must be true or false.")
            toc = True
        if "endTime" in item:
            end = _number(item["endTime"])
            if end is None:
                problems.append(f"{path}.endTime: not a number of seconds.")
            elif start is not None and end < start:
                problems.append(f"{path}.endTime: before its startTime.")
        location = item.get("location")
        if location is not None and not (
            isinstance(location, dict)
            and isinstance(location.get("name"), str)
            and isinstance(location.get("geo"), str)
        ):
            problems.append(f"{path}.location: needs a string name and geo.")
        if start is not None:
            entries.append(ChapterEntry(start_seconds=start, toc=toc, **fields))
    if problems:
        raise ChaptersFormatError(problems)
    return entries


def chapters_document(
    chapters: Iterable[ChapterEntry], *, title: str = "", podcast_name: str = ""
) -> dict[str, Any]:
    """The JSON chapters document of ``chapters`` (already in order), as we serve it."""
    items = []
    for chapter in chapters:
        item: dict[str, Any] = {"startTime": _compact(chapter.start_seconds)}
        item["title"] = chapter.title
        if chapter.image_url:
            item["img"] = chapter.image_url
        if chapter.url:
            item["url"] = chapter.url
        if not chapter.toc:
            item["toc"] = False
        items.append(item)
    document: dict[str, Any] = {"version": VERSION}
    if title:
        document["title"] = title
    if podcast_name:
        document["podcastName"] = podcast_name
    document["chapters"] = items
    return document


def dumps(document: dict[str, Any]) -> bytes:
    """``document`` as the UTF-8 bytes served (stable: same chapters, same bytes, same ETag)."""
    return json.dumps(document, ensure_ascii=False, indent=2).encode() + b"\n"


def _compact(seconds: float) -> int | float:
    # 94 rather than 94.0, as the spec's examples write whole seconds.
    rounded = round(seconds, 3)
    return int(rounded) if rounded == int(rounded) else rounded
