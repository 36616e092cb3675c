"""The one stored form of a transcript: a list of cues.

Every format we accept (SRT, WebVTT, Podcasting 2.0 JSON, plain text) parses
into cues and every format we serve is written from them, so a transcript is
stored once. A plain-text transcript is one untimed cue per paragraph
(``start`` and ``end`` are ``None``); the timed formats cannot be derived
from it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Cue:
    """One span of speech: seconds from the start of the audio, its text, its speaker."""

    start: float | None
    end: float | None
    text: str
    speaker: str = ""

    @property
    def timed(self) -> bool:
        return self.start is not None and self.end is not None

    def as_json(self) -> dict[str, Any]:
        """The form kept in ``Transcript.cues`` (a JSON column)."""
        data: dict[str, Any] = {"start": self.start, "end": self.end, "text": self.text}
        if self.speaker:
            data["speaker"] = self.speaker
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Cue:
        start, end = data.get("start"), data.get("end")
        return cls(
            start=None if start is None else float(start),
            end=None if end is None else float(end),
            text=str(data.get("text", "")),
            speaker=str(data.get("speaker", "")),
        )


def cues_to_json(cues: Iterable[Cue]) -> list[dict[str, Any]]:
    return [cue.as_json() for cue in cues]


def cues_from_json(data: Iterable[Mapping[str, Any]]) -> list[Cue]:
    return [Cue.from_json(item) for item in data]
