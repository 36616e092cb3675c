"""Reading Podcasting 2.0 JSON chapters files and the rules chapters follow, with clear errors."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from episodes.chapters.entries import (
    ChapterEntry,
    format_timestamp,
    parse_timestamp,
    problems_of,
)
from episodes.chapters.json_format import (
    ChaptersFormatError,
    chapters_document,
    dumps,
    parse_chapters_json,
)
from tests.chapters.conftest import chapters_file

# The spec's own "more complex example", trimmed:
# https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/examples/chapters/jsonChapters.md
SPEC_EXAMPLE = b"""{
  "version": "1.2.0",
  "author": "John Doe",
  "title": "Episode 7 - Making Progress",
  "podcastName": "John's Awesome Podcast",
  "chapters": [
    {"startTime": 0, "title": "Intro"},
    {"startTime": 168, "title": "Hearing Aids"},
    {"startTime": 410, "title": "Namespace",
     "img": "https://example.com/images/namepsace_example.jpg",
     "url": "https://github.com/Podcastindex-org/podcast-namespace"},
    {"startTime": 4826, "title": "Paris", "img": "https://example.com/images/parisfrance.jpg",
     "toc": false,
     "location": {"name": "Eiffel Tower, Paris", "geo": "geo:42.3417649,-70.9661596"}},
    {"startTime": 6089.5, "title": "Outro", "endTime": 6200}
  ]
}"""


def problems(data: bytes) -> list[str]:
    with pytest.raises(ChaptersFormatError) as caught:
        parse_chapters_json(data)
    return caught.value.problems


def test_the_specs_example_reads():
    chapters = parse_chapters_json(SPEC_EXAMPLE)
    assert [(c.start_seconds, c.title, c.toc) for c in chapters] == [
        (0, "Intro", True),
        (168, "Hearing Aids", True),
        (410, "Namespace", True),
        (4826, "Paris", False),
        (6089.5, "Outro", True),
    ]
    assert chapters[2].url == "https://github.com/Podcastindex-org/podcast-namespace"
    assert chapters[2].image_url == "https://example.com/images/namepsace_example.jpg"
    assert problems_of(chapters, duration_seconds=6300) == []


def test_a_utf8_bom_and_crlf_are_fine():
    data = b"\xef\xbb\xbf" + chapters_file({"startTime": 1, "title": "Caf\u00e9"}).replace(
        b",", b",\r\n"
    )
    assert parse_chapters_json(data) == [ChapterEntry(1, "Café")]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"{not json", "Not JSON: Expecting property name enclosed in double quotes at line 1"),
        (b"\xff\xfe{}", "The file is not UTF-8 text (byte 0)."),
        (b"[1, 2]", 'Not a chapters file: expected an object with "chapters".'),
        (b'{"version": "1.2.0"}', "chapters: missing, or not an array of chapters."),
        (chapters_file({"title": "No start"}), "chapters[0].startTime: missing"),
        (chapters_file({"startTime": "0:10", "title": "x"}), "chapters[0].startTime: missing"),
        (chapters_file({"startTime": True, "title": "x"}), "chapters[0].startTime: missing"),
        (chapters_file({"startTime": 0, "title": 7}), "chapters[0].title: must be a string."),
        (chapters_file({"startTime": 0, "title": "x", "toc": "no"}), "chapters[0].toc: must be"),
        (chapters_file({"startTime": 0, "title": "x", "url": ["a"]}), "chapters[0].url: must be"),
        (chapters_file(5), "chapters[0]: not an object."),
        (
            chapters_file({"startTime": 9, "title": "x", "endTime": 3}),
            "chapters[0].endTime: before its startTime.",
        ),
        (
            chapters_file({"startTime": 9, "title": "x", "location": {"name": "Paris"}}),
            "chapters[0].location: needs a string name and geo.",
        ),
    ],
)
def test_malformed_files_are_refused_saying_where(data, expected):
    assert any(p.startswith(expected) for p in problems(data)), problems(data)


def test_every_problem_is_reported_at_once():
    data = chapters_file(
        {"startTime": 0, "title": "ok"},
        {"title": "no start"},
        {"startTime": 5, "img": 12},
    )
    assert problems(data) == [
        "chapters[1].startTime: missing, or not a number of seconds.",
        "chapters[2].img: must be a string.",
    ]


def test_over_a_megabyte_is_refused_before_parsing():
    huge = chapters_file(*({"startTime": i, "title": "x" * 200} for i in range(6000)))
    assert len(huge) > 1024 * 1024
    (message,) = problems(huge)
    assert message.startswith(f"The file has {len(huge):,} bytes")


def test_json_numbers_beyond_floats_are_refused():
    # Python reads 1e999 as infinity: no chapter starts there.
    assert problems(b'{"chapters": [{"startTime": 1e999, "title": "x"}]}') == [
        "chapters[0].startTime: missing, or not a number of seconds."
    ]


def test_rules_name_the_chapter_and_its_time():
    entries = [
        ChapterEntry(-1, "Before the start"),
        ChapterEntry(10, "Ten"),
        ChapterEntry(10, "Also ten"),
        ChapterEntry(5, "Back in time"),
        ChapterEntry(20, "   "),
        ChapterEntry(30, "Link", url="javascript:alert(1)"),
        ChapterEntry(31, "Image", image_url="ftp://example.com/x.jpg"),
        ChapterEntry(75, "Past the end"),
    ]
    assert problems_of(entries, duration_seconds=60) == [
        "Chapter 1: the start time is negative.",
        "Chapter 3 (0:10): starts at the same time as the chapter before it.",
        "Chapter 4 (0:05): starts before the chapter before it; chapters must be in time order.",
        "Chapter 5 (0:20): the title is empty.",
        "Chapter 6 (0:30): the link is not an http(s) URL.",
        "Chapter 7 (0:31): the image is not an http(s) URL.",
        "Chapter 8 (1:15): starts after the end of the audio (1:00).",
    ]


def test_without_audio_any_start_an_episode_could_have_is_allowed():
    assert problems_of([ChapterEntry(99_999, "Late")], duration_seconds=None) == []
    assert problems_of(
        [ChapterEntry(0, "Intro"), ChapterEntry(1e308, "Absurd")], duration_seconds=None
    ) == ["Chapter 2: starts more than 100 hours in."]
    # As a file says it, before any audio exists.
    entries = parse_chapters_json(chapters_file({"startTime": 1.7e308, "title": "x"}))
    assert problems_of(entries, duration_seconds=None) == [
        "Chapter 1: starts more than 100 hours in."
    ]


def test_too_many_chapters_are_refused():
    many = [ChapterEntry(i, f"c{i}") for i in range(501)]
    assert problems_of(many, duration_seconds=None) == ["501 chapters: at most 500 are allowed."]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("0", 0), ("95.5", 95.5), ("1:15", 75), ("12:30", 750), ("1:02:03.5", 3723.5)],
)
def test_timestamps_read_and_write_back(text, seconds):
    assert parse_timestamp(text) == seconds
    assert parse_timestamp(format_timestamp(seconds)) == seconds


@pytest.mark.parametrize("text", ["", "abc", "1:60", "1:02:75", "-5", "1::2"])
def test_timestamps_that_are_not_times_are_refused(text):
    with pytest.raises(ValueError):
        parse_timestamp(text)


def test_the_served_document_round_trips():
    entries = parse_chapters_json(SPEC_EXAMPLE)
    document = chapters_document(entries, title="Episode 7", podcast_name="John's")
    body = dumps(document)
    assert json.loads(body)["version"] == "1.2.0"
    assert json.loads(body)["chapters"][3] == {
        "startTime": 4826,
        "title": "Paris",
        "img": "https://example.com/images/parisfrance.jpg",
        "toc": False,
    }
    assert parse_chapters_json(body) == entries


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["startTime", "title", "url", "img", "toc", "endTime", "location", "x"]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(chapters=st.lists(json_values, max_size=5), version=json_values)
def test_any_json_is_read_or_refused_with_reasons(chapters, version):
    data = json.dumps({"version": version, "chapters": chapters}).encode()
    try:
        entries = parse_chapters_json(data)
    except ChaptersFormatError as exc:
        assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)
    else:
        assert all(isinstance(e.start_seconds, float) for e in entries)
        problems_of(entries, duration_seconds=100.0)  # the rules never crash on what was read


@given(st.integers(min_value=0, max_value=48 * 3600 * 1000))
def test_every_millisecond_time_reads_back(ms):
    seconds = ms / 1000
    assert parse_timestamp(format_timestamp(seconds)) == pytest.approx(seconds, abs=1e-9)
