"""Podcasting 2.0 JSON transcripts: ``{"version": "1.0.0", "segments": [...]}``.

Each segment has ``startTime`` and ``endTime`` (seconds), ``body`` and an
optional ``speaker``:
https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/examples/transcripts/transcripts.md
A segment without ``endTime`` ends where the next one starts (the last: where it starts).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from json import scanner
from typing import Any

from episodes.transcripts.cues import Cue
from episodes.transcripts.errors import TranscriptError

VERSION = "1.0.0"


class _Located(dict):
    """A JSON object that remembers where in the text it started."""

    offset = 0


def _locating_decoder() -> json.JSONDecoder:
    # The pure-Python scanner lets us see where each object starts, so an
    # error in segment 812 names its line; the C scanner (the first, fast
    # read) hides positions.
    decoder = json.JSONDecoder()
    plain = decoder.parse_object

    def parse_object(s_and_end, *args, **kwargs):
        obj, end = plain(s_and_end, *args, **kwargs)
        located = _Located(obj)
        located.offset = s_and_end[1] - 1
        return located, end

    decoder.parse_object = parse_object
    decoder.scan_once = scanner.py_make_scanner(decoder)
    return decoder


class _Invalid(Exception):
    """A segment that breaks the format: its index and what is wrong."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index, self.message = index, message


def _number(segment: dict, key: str, index: int) -> float | None:
    value = segment.get(key)
    if value is None:
        return None
    try:
        seconds = float(value) if isinstance(value, int | float) else math.nan
    except OverflowError:  # an integer too large for a float
        seconds = math.nan
    where = f"segment {index + 1}"
    if isinstance(value, bool) or not math.isfinite(seconds):
        raise _Invalid(index, f"{where}: “{key}” must be a number of seconds.")
    if seconds < 0:
        raise _Invalid(index, f"{where}: “{key}” must not be negative.")
    return seconds


def _decode(text: str, decode) -> Any:
    try:
        return decode(text)
    except json.JSONDecodeError as exc:
        raise TranscriptError(f"not valid JSON: {exc.msg}.", line=exc.lineno) from None
    except RecursionError:
        raise TranscriptError("the JSON is nested too deeply.") from None
    except ValueError:  # an integer longer than Python converts (4,300 digits)
        raise TranscriptError("not valid JSON: a number has too many digits.") from None


def _cues(segments: list) -> list[Cue]:
    rows: list[tuple[float, float | None, str, str]] = []
    for index, segment in enumerate(segments):
        where = f"segment {index + 1}"
        if not isinstance(segment, dict):
            raise _Invalid(index, f"{where} is not an object.")
        start = _number(segment, "startTime", index)
        if start is None:
            raise _Invalid(index, f"{where} has no “startTime”.")
        end = _number(segment, "endTime", index)
        if end is not None and end < start:
            raise _Invalid(
                index, f"{where} ends (endTime {end:g}) before it starts (startTime {start:g})."
            )
        body, speaker = segment.get("body"), segment.get("speaker", "")
        if not isinstance(body, str):
            raise _Invalid(index, f"{where}: “body” must be text.")
        if not isinstance(speaker, str):
            raise _Invalid(index, f"{where}: “speaker” must be text.")
        rows.append((start, end, body.strip(), speaker.strip()))
    cues = []
    for i, (start, end, body, speaker) in enumerate(rows):
        if end is None:
            following = rows[i + 1][0] if i + 1 < len(rows) else start
            end = max(start, following)
        if body:
            cues.append(Cue(start=start, end=end, text=body, speaker=speaker))
    return cues


def parse_json(text: str) -> list[Cue]:
    """The cues of a Podcasting 2.0 JSON transcript; :class:`TranscriptError` with the line."""
    data = _decode(text, json.loads)
    if not isinstance(data, dict) or not isinstance(data.get("segments"), list):
        raise TranscriptError(
            'a Podcasting 2.0 JSON transcript is an object with a "segments" list.', line=1
        )
    try:
        return _cues(data["segments"])
    except _Invalid as invalid:
        # Only now, to name the line, read it again noting where each object starts.
        segment = _decode(text, _locating_decoder().decode)["segments"][invalid.index]
        line = text.count("\n", 0, getattr(segment, "offset", 0)) + 1
        raise TranscriptError(invalid.message, line=line) from None


def write_json(cues: Sequence[Cue]) -> str:
    """The Podcasting 2.0 JSON transcript of timed ``cues`` (times to the millisecond)."""
    segments = []
    for cue in cues:
        segment: dict[str, Any] = {}
        if cue.speaker:
            segment["speaker"] = cue.speaker
        segment["startTime"] = round(cue.start, 3)
        segment["endTime"] = round(cue.end, 3)
        segment["body"] = cue.text
        segments.append(segment)
    return json.dumps({"version": VERSION, "segments": segments}, ensure_ascii=False)
