"""SubRip (``.srt``): numbered cues, ``00:00:01,000 --> 00:00:04,000``, text, blank line.

There is no formal standard; we read what tools write (index lines optional,
"." or "," before the milliseconds, styling tags, a missing blank line before
the next index) and write the common form. Speakers are written as a
``Name:`` prefix, as the Podcasting 2.0 transcript notes suggest
(https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/examples/transcripts/transcripts.md),
and read back as part of the text (a colon is no reliable speaker marker).
"""

from __future__ import annotations

from collections.abc import Sequence

from episodes.transcripts.cues import Cue
from episodes.transcripts.errors import TranscriptError
from episodes.transcripts.text import one_paragraph, strip_srt_styling
from episodes.transcripts.timecodes import TIMING, parse_timing, srt_time


def parse_srt(text: str) -> list[Cue]:
    """The cues of SubRip ``text`` (already decoded); :class:`TranscriptError` with the line."""
    lines = text.split("\n")
    cues: list[Cue] = []
    i, n = 0, len(lines)
    while i < n:
        if not lines[i].strip():
            i += 1
            continue
        if lines[i].strip().isdigit() and i + 1 < n and "-->" in lines[i + 1]:
            i += 1  # the cue's number: we renumber when writing
        timing = parse_timing(lines[i], line=i + 1)
        if timing is None:
            raise TranscriptError(
                f"expected a cue number or a time line such as “00:00:01,000 --> "
                f"00:00:04,000”, found “{lines[i].strip()[:60]}”.",
                line=i + 1,
            )
        i += 1
        body: list[str] = []
        while i < n and lines[i].strip():
            # A cue that runs into the next one without a blank line.
            if TIMING.match(lines[i]) or (
                lines[i].strip().isdigit() and i + 1 < n and TIMING.match(lines[i + 1])
            ):
                break
            body.append(strip_srt_styling(lines[i]))
            i += 1
        content = one_paragraph(body)
        if content:
            cues.append(Cue(start=timing[0], end=timing[1], text=content))
    return cues


def write_srt(cues: Sequence[Cue]) -> str:
    """SubRip text of timed ``cues``: numbered from 1, a blank line after each."""
    blocks = []
    for number, cue in enumerate(cues, 1):
        text = f"{cue.speaker}: {cue.text}" if cue.speaker else cue.text
        blocks.append(f"{number}\n{srt_time(cue.start)} --> {srt_time(cue.end)}\n{text}\n")
    return "\n".join(blocks)
