"""From a file's bytes to clean lines: encoding, BOM, line endings, styling tags."""

from __future__ import annotations

import codecs
import html
import re

from episodes.transcripts.errors import TranscriptError

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Control characters no text format carries (tab and newlines stay).
_CONTROL = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]")
# SRT styling: <i>, <b>, <u>, <font …> and their ends, and SSA overrides such as {\an8}.
_SRT_TAGS = re.compile(r"</?(?:i|b|u|s|font)(?:\s[^>]*)?>|\{\\[^}]*\}", re.IGNORECASE)


def decode(data: bytes) -> str:
    """The text of a transcript file: BOM removed, UTF-8 (or UTF-16 with a BOM), ``\\n`` endings.

    Raises :class:`TranscriptError` naming the line of the first byte that is
    not UTF-8, or of a NUL character (a binary file).
    """
    encoding = "utf-8"
    for bom, name in _BOMS:
        if data.startswith(bom):
            data, encoding = data[len(bom) :], name
            break
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise TranscriptError(
            f"byte 0x{data[exc.start]:02X} is not {encoding.upper()} text; "
            "save the file as UTF-8 and upload it again.",
            line=line,
        ) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    nul = text.find("\x00")
    if nul >= 0:
        raise TranscriptError(
            "the file contains a NUL character: it is not a text file.",
            line=text.count("\n", 0, nul) + 1,
        )
    return _CONTROL.sub("", text)


def strip_srt_styling(text: str) -> str:
    """``<i>Hello</i> {\\an8}there`` → ``Hello there``."""
    return _SRT_TAGS.sub("", text)


def one_paragraph(lines: list[str]) -> str:
    """Cue lines as stored: stripped, empty ones dropped, joined by newlines."""
    return "\n".join(s for s in (line.strip() for line in lines) if s)


def unescape(text: str) -> str:
    """WebVTT character references (``&amp;`` ``&lt;`` ``&nbsp;`` …) as characters."""
    return html.unescape(text).replace("\xa0", " ")
