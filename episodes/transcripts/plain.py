"""Plain text: paragraphs, as a creator pastes or exports them; untimed.

Read: one untimed cue per paragraph (blank lines separate them). Written from
any transcript: a paragraph per speaker turn, and for timed cues also at
pauses of ``PAUSE_SECONDS`` or more, ``Speaker: `` before each new speaker.
"""

from __future__ import annotations

from collections.abc import Sequence

from episodes.transcripts.cues import Cue

PAUSE_SECONDS = 2.0


def parse_text(text: str) -> list[Cue]:
    """One untimed cue per paragraph of ``text`` (already decoded)."""
    paragraphs = []
    for block in text.split("\n\n"):
        words = " ".join(block.split())
        if words:
            paragraphs.append(Cue(start=None, end=None, text=words))
    return paragraphs


def write_text(cues: Sequence[Cue]) -> str:
    """Readable paragraphs of ``cues``, timed or not."""
    paragraphs: list[tuple[str, list[str]]] = []
    previous: Cue | None = None
    for cue in cues:
        new = (
            previous is None
            or not cue.timed
            or not previous.timed
            or cue.speaker != previous.speaker
            or cue.start - previous.end >= PAUSE_SECONDS
        )
        if new:
            paragraphs.append((cue.speaker, []))
        paragraphs[-1][1].append(" ".join(cue.text.split()))
        previous = cue
    out = []
    for speaker, parts in paragraphs:
        body = " ".join(parts)
        # A speaker is named when the turn changes, not on every pause.
        named = speaker and (not out or out[-1][0] != speaker)
        out.append((speaker, f"{speaker}: {body}" if named else body))
    return "".join(f"{text}\n\n" for _speaker, text in out).rstrip("\n") + "\n"
