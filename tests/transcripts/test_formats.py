"""Reading and writing transcript files: the usual mess in, the standard forms out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from episodes.transcripts.cues import Cue
from episodes.transcripts.errors import TranscriptError
from episodes.transcripts.formats import BY_EXTENSION, parse_transcript, read_limited, write

FILES = Path(__file__).parent / "files"


def cues_of(name: str) -> list[Cue]:
    path = FILES / name
    return parse_transcript(path.read_bytes(), path.name).cues


def error_of(data: bytes | str, filename: str) -> TranscriptError:
    raw = data.encode() if isinstance(data, str) else data
    with pytest.raises(TranscriptError) as caught:
        parse_transcript(raw, filename)
    return caught.value


def test_a_windows_srt_with_bom_crlf_styling_overlaps_and_no_final_newline():
    raw = (FILES / "lighthouse-windows.srt").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw and not raw.endswith(b"\n")

    cues = cues_of("lighthouse-windows.srt")

    assert cues == [
        Cue(0.5, 3.2, "Welcome to the Lighthouse hour."),
        # Overlaps the first cue (3.0 < 3.2): accepted, order kept.
        Cue(3.0, 6.0, "Tonight: the keepers\nof the northern coast."),
        Cue(6.0, 9.75, "Fresnel lenses & fog horns."),
        Cue(10.0, 62.5, "A long one, with a short fraction."),
    ]


def test_a_webvtt_file_with_header_style_notes_settings_and_voices():
    cues = cues_of("lighthouse.vtt")

    assert cues == [
        Cue(0.5, 3.2, "Welcome to the Lighthouse hour.", "Ana"),
        Cue(3.0, 6.0, "Tonight & every night: the keepers <and> their lamps.", "Ben Okafor"),
        # Two voices in one cue: one cue each, same times.
        Cue(6.0, 9.75, "Fresnel lenses.", "Ana"),
        Cue(6.0, 9.75, "Fog horns too.", "Ben Okafor"),
        Cue(10.0, 12.0, "No voice here."),
    ]


def test_cues_out_of_order_are_sorted_by_start_keeping_ties_in_file_order():
    srt = (
        "1\n00:00:05,000 --> 00:00:06,000\nlater\n\n"
        "2\n00:00:01,000 --> 00:00:02,000\nfirst\n\n"
        "3\n00:00:05,000 --> 00:00:05,500\nlater, second\n"
    )
    assert [c.text for c in parse_transcript(srt.encode(), "x.srt").cues] == [
        "first",
        "later",
        "later, second",
    ]


def test_srt_cues_run_together_without_blank_lines_and_without_numbers():
    srt = "00:00:01,000 --> 00:00:02,000\none\n2\n00:00:02,000 --> 00:00:03,000\ntwo\n"
    assert [c.text for c in parse_transcript(srt.encode(), "x.srt").cues] == ["one", "two"]


def test_utf16_with_bom_is_read():
    text = "WEBVTT\n\n00:01.000 --> 00:02.000\nĈu vi parolas Esperanton?\n"
    cues = parse_transcript(b"\xff\xfe" + text.encode("utf-16-le"), "x.vtt").cues
    assert cues == [Cue(1.0, 2.0, "Ĉu vi parolas Esperanton?")]


@pytest.mark.parametrize(
    ("data", "filename", "line", "words"),
    [
        ("1\n00:00:04,000 --> 00:00:01,000\nbackwards\n", "a.srt", 2, "before it starts"),
        ("1\n00:00:01,000 --> 00:00:02,000\nok\n\nhello\n", "a.srt", 5, "expected a cue number"),
        (
            "1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:61:00,000 --> 01:00:00,000\nx",
            "a.srt",
            6,
            "below 60",
        ),
        (
            "1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:0x,000 --> 00:00:03,000\nx",
            "a.srt",
            6,
            "found “00:00:0x,000 --> 00:00:03,000”",
        ),
        ("00:00:01.000 --> 00:00:02.000\nno header\n", "a.vtt", 1, "starts with “WEBVTT”"),
        (
            "WEBVTT\n\n00:01.000 --> 00:02.000\nok\n\njust words\nmore words\n",
            "a.vtt",
            6,
            "expected a cue",
        ),
        ("WEBVTT\n\n\n00:03.000 --> 00:02.000\nbackwards\n", "a.vtt", 4, "before it starts"),
        (
            '{"segments": [\n  {"startTime": 1, "body": "a"},\n'
            '  {"startTime": "2", "body": "b"}\n]}',
            "a.json",
            3,
            "segment 2",
        ),
        (
            '{"segments": [\n  {"startTime": 3, "endTime": 1, "body": "a"}\n]}',
            "a.json",
            2,
            "before it starts",
        ),
        (
            '{"segments": [\n  {"startTime": 1, "body": "a"},\n  {"startTime": 2}\n]}',
            "a.json",
            3,
            "“body” must be text",
        ),
        (
            '{"segments": [\n  {"startTime": 1, "body": "a"}\n  {"startTime": 2}\n]}',
            "a.json",
            3,
            "not valid JSON",
        ),
        ('{"version": "1.0.0"}', "a.json", 1, '"segments" list'),
        (b"1\n00:00:01,000 --> 00:00:02,000\ncaf\xe9\n", "a.srt", 3, "not UTF-8"),
        (b"WEBVTT\n\n\x00\x01binary", "a.vtt", 3, "NUL"),
    ],
)
def test_errors_name_the_line_and_what_is_wrong(data, filename, line, words):
    error = error_of(data, filename)
    assert error.line == line
    assert words in str(error)
    assert str(error).startswith(f"line {line}: ")


@pytest.mark.parametrize(
    ("data", "filename", "words"),
    [
        ("", "a.srt", "empty"),
        ("  \r\n\r\n", "a.txt", "empty"),
        ("WEBVTT\n\nNOTE only a note\n", "a.vtt", "no cue"),
        ("hello", "a.docx", "“.docx” files are not transcripts"),
    ],
)
def test_files_without_cues_or_of_other_kinds_are_refused(data, filename, words):
    assert words in str(error_of(data, filename))


def test_the_format_is_sniffed_when_the_extension_says_nothing():
    vtt = "WEBVTT\n\n00:01.000 --> 00:02.000\nhi\n"
    srt = "1\n00:00:01,000 --> 00:00:02,000\nhi\n"
    assert parse_transcript(vtt.encode(), "transcript.txt").format.name == "vtt"
    assert parse_transcript(srt.encode(), "").format.name == "srt"
    plain = parse_transcript(b"First paragraph\nwraps here.\n\n\nSecond one.", "notes.txt")
    assert plain.format.name == "txt" and not plain.timed
    assert plain.cues == [
        Cue(None, None, "First paragraph wraps here."),
        Cue(None, None, "Second one."),
    ]


def test_round_trips_between_the_timed_formats_keep_times_text_and_speakers():
    original = cues_of("lighthouse.vtt")
    for fmt in ("vtt", "json"):
        data = write(original, BY_EXTENSION[fmt])
        assert parse_transcript(data, f"t.{fmt}").cues == original
    # SRT has no speaker field: the name travels as a "Name: " prefix of the text.
    srt = parse_transcript(write(original, BY_EXTENSION["srt"]), "t.srt").cues
    assert [(c.start, c.end) for c in srt] == [(c.start, c.end) for c in original]
    assert srt[0].text == "Ana: Welcome to the Lighthouse hour."
    assert srt[-1].text == "No voice here."
    # SRT → VTT → SRT is lossless.
    windows = cues_of("lighthouse-windows.srt")
    vtt = write(windows, BY_EXTENSION["vtt"])
    again = parse_transcript(
        write(parse_transcript(vtt, "t.vtt").cues, BY_EXTENSION["srt"]), "t.srt"
    )
    assert again.cues == windows


def test_written_files_follow_each_format():
    cues = [
        Cue(0.5, 3.2, "Tom & Jerry --> <here>", "Ana"),
        Cue(3661.25, 3662.0, "line one\n\nline two"),
    ]
    vtt = write(cues, BY_EXTENSION["vtt"]).decode()
    assert vtt == (
        "WEBVTT\n\n"
        "00:00:00.500 --> 00:00:03.200\n<v Ana>Tom &amp; Jerry --&gt; &lt;here&gt;\n\n"
        "01:01:01.250 --> 01:01:02.000\nline one\nline two\n"
    )
    srt = write(cues, BY_EXTENSION["srt"]).decode()
    assert srt.splitlines()[:3] == [
        "1",
        "00:00:00,500 --> 00:00:03,200",
        "Ana: Tom & Jerry --> <here>",
    ]
    assert "2\n01:01:01,250 --> 01:01:02,000\nline one\nline two\n" in srt
    data = json.loads(write(cues, BY_EXTENSION["json"]))
    assert data == {
        "version": "1.0.0",
        "segments": [
            {"speaker": "Ana", "startTime": 0.5, "endTime": 3.2, "body": "Tom & Jerry --> <here>"},
            {"startTime": 3661.25, "endTime": 3662.0, "body": "line one\nline two"},
        ],
    }


def test_plain_text_is_written_from_any_transcript_in_paragraphs_per_speaker():
    text = write(cues_of("lighthouse.vtt"), BY_EXTENSION["txt"]).decode()
    assert text == (
        "Ana: Welcome to the Lighthouse hour.\n\n"
        "Ben Okafor: Tonight & every night: the keepers <and> their lamps.\n\n"
        "Ana: Fresnel lenses.\n\n"
        "Ben Okafor: Fog horns too.\n\n"
        "No voice here.\n"
    )


def test_an_untimed_transcript_cannot_be_written_in_a_timed_format():
    with pytest.raises(TranscriptError, match="untimed"):
        write([Cue(None, None, "words")], BY_EXTENSION["vtt"])


def test_json_segments_without_end_time_end_where_the_next_starts():
    data = (
        b'{"version": "1.0.0", "segments": '
        b'[{"startTime": 1, "body": "I"}, {"startTime": 1.5, "body": "am\\n"}]}'
    )
    assert parse_transcript(data, "t.json").cues == [Cue(1.0, 1.5, "I"), Cue(1.5, 1.5, "am")]


def test_a_100_mb_file_is_refused_without_being_read(tmp_path, settings):
    big = tmp_path / "huge.srt"
    with big.open("wb") as f:
        f.truncate(100 * 1024**2)  # a sparse 100 MB file
    with big.open("rb") as f:
        with pytest.raises(
            TranscriptError, match="104,857,600 bytes; transcripts may have at most"
        ):
            read_limited(f, size=big.stat().st_size)
        assert f.tell() == 0  # refused from its size: not a byte read


def test_a_stream_of_unknown_size_is_read_one_byte_past_the_limit_only(settings):
    settings.TRANSCRIPT_MAX_BYTES = 2048

    class Endless:
        def __init__(self) -> None:
            self.read_sizes: list[int] = []

        def read(self, n: int) -> bytes:
            self.read_sizes.append(n)
            return b"x" * n

    stream = Endless()
    with pytest.raises(TranscriptError, match="at most 2,048 bytes"):
        read_limited(stream)
    assert stream.read_sizes == [2049]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b'{"segments": [{"startTime": 1' + b"0" * 400 + b', "body": "x"}]}', "number of seconds"),
        (b'{"segments": [{"startTime": 1' + b"0" * 5000 + b', "body": "x"}]}', "too many digits"),
        (b'{"segments": [{"startTime": NaN, "body": "x"}]}', "number of seconds"),
        (b'{"segments": [{"startTime": true, "body": "x"}]}', "number of seconds"),
        (b'{"segments": [{"startTime": -1, "body": "x"}]}', "must not be negative"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_hostile_json_is_refused_with_a_reason(data, words):
    assert words in str(error_of(data, "t.json"))
