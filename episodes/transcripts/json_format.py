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
    # error in segment 812 names its line; the C scanner hides positions.
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


def _number(segment: dict, key: str, where: str, line: int) -> float | None:
    value = segment.get(key)
    if value is None:
        return None
    try:
        seconds = float(value) if isinstance(value, int | float) else math.nan
    except OverflowError:  # an integer too large for a float
        seconds = math.nan
    if isinstance(value, bool) or not math.isfinite(seconds):
        raise TranscriptError(f"{where}: “{key}” must be a number of seconds.", line=line)
    if seconds < 0:
        raise TranscriptError(f"{where}: “{key}” must not be negative.", line=line)
    return seconds


def parse_json(text: str) -> list[Cue]:
    """The cues of a Podcasting 2.0 JSON transcript; :class:`TranscriptError` with the line."""
    try:
        data = _locating_decoder().decode(text)
    except json.JSONDecodeError as exc:
        raise TranscriptError(f"not valid JSON: {exc.msg}.", line=exc.lineno) from None
    except RecursionError:
        raise TranscriptError("the JSON is nested too deeply.") from None
    except ValueError:  # an integer longer than Python converts (4,300 digits)
        raise TranscriptError("not valid JSON: a number has too many digits.") from None
    if not isinstance(data, dict) or not isinstance(data.get("segments"), list):
        raise TranscriptError(
            'a Podcasting 2.0 JSON transcript is an object with a "segments" list.', line=1
        )

    def line_of(obj: Any) -> int:
        return text.count("\n", 0, getattr(obj, "offset", 0)) + 1

    rows: list[tuple[float, float | None, str, str, int]] = []
    for index, segment in enumerate(data["segments"]):
        where = f"segment {index + 1}"
        line = line_of(segment)
        if not isinstance(segment, dict):
            raise TranscriptError(f"{where} is not an object.", line=line)
        start = _number(segment, "startTime", where, line)
        if start is None:
            raise TranscriptError(f"{where} has no “startTime”.", line=line)
        end = _number(segment, "endTime", where, line)
        if end is not None and end < start:
            raise TranscriptError(
                f"{where} ends (endTime {end:g}) before it starts (startTime {start:g}).",
                line=line,
            )
        body, speaker = segment.get("body"), segment.get("speaker", "")
        if not isinstance(body, str):
            raise TranscriptError(f"{where}: “body” must be text.", line=line)
        if not isinstance(speaker, str):
            raise TranscriptError(f"{where}: “speaker” must be text.", line=line)
        rows.append((start, end, body.strip(), speaker.strip(), line))
    cues = []
    for i, (start, end, body, speaker, _line) in enumerate(rows):
        if end is None:
            following = rows[i + 1][0] if i + 1 < len(rows) else start
            end = max(start, following)
        if body:
            cues.append(Cue(start=start, end=end, text=body, speaker=speaker))
    return cues


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
