"""Property-based: any file is read or refused with a TranscriptError; writing then reading
any transcript gives it back."""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from episodes.transcripts.cues import Cue
from episodes.transcripts.errors import TranscriptError
from episodes.transcripts.formats import BY_EXTENSION, parse_transcript, write
from episodes.transcripts.text import one_paragraph, strip_srt_styling
from episodes.transcripts.timecodes import TIMING

nasty = st.sampled_from(
    ["-->", "<v Bob>", "</v>", "<i>", "&amp;", "&", "<", ">", "WEBVTT", "NOTE", "1", "\n", "  "]
)
# Text as creators and transcribers write it: no control characters (the
# reader drops them), no NBSP (WebVTT's &nbsp; reads as a space).
words = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\xa0"),
    max_size=40,
)
text = st.lists(st.one_of(words, nasty), max_size=6).map("".join)
millis = st.integers(min_value=0, max_value=40 * 3600 * 1000)


@st.composite
def cues(draw) -> list[Cue]:
    out = []
    for _ in range(draw(st.integers(min_value=1, max_value=8))):
        start = draw(millis)
        end = start + draw(st.integers(min_value=0, max_value=600_000))
        speaker = draw(st.one_of(st.just(""), words))
        out.append(Cue(start / 1000, end / 1000, draw(text), speaker))
    return out


def normal(cues: list[Cue]) -> list[tuple]:
    """What survives any timed format: millisecond times, stripped lines, speakers on one line."""
    kept = [
        (
            round(c.start * 1000),
            round(c.end * 1000),
            one_paragraph(c.text.split("\n")),
            " ".join(c.speaker.split()),
        )
        for c in cues
    ]
    return sorted((k for k in kept if k[2]), key=lambda k: k[0])


def read_back(data: bytes, ext: str) -> list[tuple]:
    parsed = parse_transcript(data, f"t.{ext}").cues
    return [(round(c.start * 1000), round(c.end * 1000), c.text, c.speaker) for c in parsed]


@settings(max_examples=150, deadline=None)
@given(cues())
def test_webvtt_and_json_give_back_what_was_written(transcript):
    expected = normal(transcript)
    for ext in ("vtt", "json"):
        data = write(transcript, BY_EXTENSION[ext])
        if not expected:
            continue
        assert read_back(data, ext) == expected


@settings(max_examples=150, deadline=None)
@given(cues())
def test_srt_gives_back_times_and_text_with_the_speaker_as_a_prefix(transcript):
    expected = [
        (start, end, f"{speaker}: {body}" if speaker else body, "")
        for start, end, body, speaker in normal(transcript)
    ]
    # SRT has no escapes: text that looks like its styling tags reads as
    # styling, and a line like a time line as one. Such text is not SRT's.
    lines = [line for _s, _e, body, _sp in expected for line in body.split("\n")]
    assume(all(strip_srt_styling(line) == line and not TIMING.match(line) for line in lines))
    if expected:
        assert read_back(write(transcript, BY_EXTENSION["srt"]), "srt") == expected


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(st.binary(max_size=400), text.map(str.encode)),
    st.sampled_from(["a.srt", "a.vtt", "a.json", "a.txt", "a", "a.SRT"]),
)
def test_any_file_is_read_or_refused_with_a_transcript_error(data, filename):
    try:
        parsed = parse_transcript(data, filename)
    except TranscriptError as exc:
        if exc.line is not None:
            assert 1 <= exc.line <= data.count(b"\n") + data.count(b"\r") + 1
    else:
        assert parsed.cues
        assert all(c.text for c in parsed.cues)
        if parsed.timed:
            assert all(c.start <= c.end for c in parsed.cues)
