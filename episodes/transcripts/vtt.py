"""WebVTT (``.vtt``), https://www.w3.org/TR/webvtt1/: what Apple Podcasts ingests.

Read: the ``WEBVTT`` header, NOTE/STYLE/REGION blocks (skipped), cue
identifiers, cue settings (ignored), voice spans ``<v Speaker>`` (the cue's
speaker; a cue with several voices becomes one cue per voice), other tags
(``<i>``, ``<c.x>``, ``<00:00:01.000>`` …) dropped, character references
decoded. Written: ``<v Speaker>`` and ``&amp; &lt; &gt;`` escapes, which also
keep ``-->`` out of cue text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from episodes.transcripts.cues import Cue
from episodes.transcripts.errors import TranscriptError
from episodes.transcripts.text import one_paragraph, unescape
from episodes.transcripts.timecodes import parse_timing, vtt_time

_HEADER = re.compile(r"^WEBVTT(?:[ \t].*)?$")
_SKIPPED_BLOCK = re.compile(r"^(?:NOTE|STYLE|REGION)(?:[ \t].*)?$")
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?(?:[ \t]+([^>]*))?>", re.IGNORECASE)
_VOICE_END = re.compile(r"</v\s*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")


def _segments(payload: str) -> list[tuple[str, str]]:
    """(speaker, text) runs of a cue's payload, split at each voice span."""
    runs: list[tuple[str, str]] = []
    speaker, pos = "", 0
    for match in _VOICE.finditer(payload):
        runs.append((speaker, payload[pos : match.start()]))
        speaker, pos = unescape((match.group(1) or "").strip()), match.end()
    runs.append((speaker, payload[pos:]))
    out: list[tuple[str, str]] = []
    for who, raw in runs:
        raw = _VOICE_END.sub("", raw)
        text = one_paragraph(unescape(_TAG.sub("", raw)).split("\n"))
        if not text:
            continue
        if out and out[-1][0] == who:
            out[-1] = (who, f"{out[-1][1]}\n{text}")
        else:
            out.append((who, text))
    return out


def parse_vtt(text: str) -> list[Cue]:
    """The cues of WebVTT ``text`` (already decoded); :class:`TranscriptError` with the line."""
    lines = text.split("\n")
    if not _HEADER.match(lines[0]):
        raise TranscriptError(
            "a WebVTT file starts with “WEBVTT”; this one starts with "
            f"“{lines[0].strip()[:40]}”. Is it an SRT file?",
            line=1,
        )
    i, n = 1, len(lines)
    # Header lines (Kind:, Language:) up to the first blank line, or a cue
    # that follows the header without one.
    while i < n and lines[i].strip() and "-->" not in lines[i]:
        i += 1
    cues: list[Cue] = []
    while i < n:
        if not lines[i].strip():
            i += 1
            continue
        if _SKIPPED_BLOCK.match(lines[i]) and "-->" not in lines[i]:
            while i < n and lines[i].strip():
                i += 1
            continue
        if "-->" not in lines[i]:
            if i + 1 >= n or "-->" not in lines[i + 1]:
                raise TranscriptError(
                    "expected a cue: an optional identifier line, then a time line such as "
                    f"“00:00:01.000 --> 00:00:04.000”; found “{lines[i].strip()[:60]}”.",
                    line=i + 1,
                )
            i += 1  # the cue identifier
        timing = parse_timing(lines[i], line=i + 1)
        if timing is None:
            raise TranscriptError(
                f"“{lines[i].strip()[:60]}” is not a time line such as "
                "“00:00:01.000 --> 00:00:04.000”.",
                line=i + 1,
            )
        i += 1
        body: list[str] = []
        # A line with "-->" starts the next cue even without a blank line before it.
        while i < n and lines[i].strip() and "-->" not in lines[i]:
            body.append(lines[i])
            i += 1
        for speaker, content in _segments("\n".join(body)):
            cues.append(Cue(start=timing[0], end=timing[1], text=content, speaker=speaker))
    return cues


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write_vtt(cues: Sequence[Cue]) -> str:
    """WebVTT text of timed ``cues``, speakers as voice spans."""
    blocks = ["WEBVTT\n"]
    for cue in cues:
        text = _escape(cue.text)
        if cue.speaker:
            # A voice annotation ends at ">"; "&" would start a reference.
            name = _escape(" ".join(cue.speaker.split()))
            text = f"<v {name}>{text}"
        blocks.append(f"{vtt_time(cue.start)} --> {vtt_time(cue.end)}\n{text}\n")
    return "\n".join(blocks)
