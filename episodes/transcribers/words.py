"""Recognised words → cues: the grouping both backends share.

A cue is what a player shows at once: a few seconds of speech, cut at a
pause, at the end of a sentence, or before it grows too long to read (about
two subtitle lines; the BBC's subtitle guidelines suggest at most 37
characters a line: https://www.bbc.co.uk/accessibility/forproducts/guides/subtitles/).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from episodes.transcripts.cues import Cue

MAX_CUE_SECONDS = 6.0
PAUSE_SECONDS = 0.6
MAX_CUE_CHARS = 84


@dataclass(frozen=True, slots=True)
class Word:
    """One recognised word (with any punctuation attached) and its times in seconds."""

    start: float
    end: float
    text: str

    @property
    def ends_sentence(self) -> bool:
        return self.text.endswith((".", "?", "!"))


def group_words(
    words: Iterable[Word],
    *,
    max_seconds: float = MAX_CUE_SECONDS,
    pause_seconds: float = PAUSE_SECONDS,
    max_chars: int = MAX_CUE_CHARS,
) -> list[Cue]:
    """Cues of consecutive words, in time order; a cue never spans a pause of ``pause_seconds``."""
    cues: list[Cue] = []
    current: list[Word] = []

    def flush() -> None:
        if current:
            text = " ".join(w.text for w in current)
            cues.append(Cue(start=current[0].start, end=current[-1].end, text=_capitalised(text)))
            current.clear()

    for word in words:
        if current:
            gap = word.start - current[-1].end
            chars = sum(len(w.text) + 1 for w in current) + len(word.text)
            if (
                gap >= pause_seconds
                or word.end - current[0].start > max_seconds
                or chars > max_chars
                or current[-1].ends_sentence
            ):
                flush()
        current.append(word)
    flush()
    return cues


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]
